/* The file-mapping registry: classification (eligibility), insert/remove/split on partial
 * munmap, MAP_FIXED, mremap and mprotect, and the residency cap on real mappings: it drops
 * eligible pages and never a written private page; fork while another thread holds the
 * registry lock (no fork handler takes it): the child gets a free lock and a registry without
 * the holder's range, the parent is untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/mmap_registry.h"

#define MB (1ull << 20)
#define BASE ((uintptr_t)0x100000000000ull) /* never touched: bookkeeping only */

typedef struct {
  unsigned n;
  uintptr_t start[8], end[8];
  ms_map_class cls[8];
} seen;

static void collect(uintptr_t s, uintptr_t e, ms_map_class c, void *arg) {
  seen *v = arg;
  if (v->n < 8) { v->start[v->n] = s; v->end[v->n] = e; v->cls[v->n] = c; }
  v->n++;
}

/* Entries sorted by start. */
static seen snapshot(void) {
  seen v = {0};
  ms_mmap_registry_visit(collect, &v);
  for (unsigned i = 0; i < v.n && i < 8; i++)
    for (unsigned j = i + 1; j < v.n && j < 8; j++)
      if (v.start[j] < v.start[i]) {
        uintptr_t s = v.start[i], e = v.end[i];
        ms_map_class c = v.cls[i];
        v.start[i] = v.start[j]; v.end[i] = v.end[j]; v.cls[i] = v.cls[j];
        v.start[j] = s; v.end[j] = e; v.cls[j] = c;
      }
  return v;
}

static uint64_t tracked_bytes(void) {
  ms_mmap_counters c;
  ms_mmap_counters_read(&c);
  return c.tracked_bytes;
}

static void note_map(uintptr_t addr, size_t len, int prot, int flags, int fd) {
  ms_mmap_lock();
  ms_mmap_note_map_locked(addr, len, prot, flags, fd, 0);
  ms_mmap_unlock();
}
static void note_unmap(uintptr_t addr, size_t len) {
  ms_mmap_lock();
  ms_mmap_note_unmap_locked(addr, len);
  ms_mmap_unlock();
}

static void test_classify(void **state) {
  (void)state;
  const uint64_t min = 1 * MB;
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ, MAP_SHARED, 3, min), MS_MAP_ELIGIBLE);
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, 3, min), MS_MAP_ELIGIBLE);
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ, MAP_SHARED_VALIDATE, 3, min), MS_MAP_ELIGIBLE);
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ, MAP_PRIVATE, 3, min), MS_MAP_ELIGIBLE);
  /* np.memmap(mode="c"): private and writable, copy-on-write data lives only in this process. */
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE, 3, min), MS_MAP_KEEP);
  /* Anonymous memory, in every form, is never ours. */
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, min), MS_MAP_IGNORE);
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, min), MS_MAP_IGNORE);
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, 3, min), MS_MAP_IGNORE);
  assert_int_equal(ms_mmap_classify(8 * MB, PROT_READ, MAP_SHARED, -1, min), MS_MAP_IGNORE);
  /* Below MEMSHIM_MMAP_MIN (shared libraries, small files). */
  assert_int_equal(ms_mmap_classify(MB - 4096, PROT_READ, MAP_SHARED, 3, min), MS_MAP_IGNORE);
  assert_int_equal(ms_mmap_classify(MB, PROT_READ, MAP_SHARED, 3, min), MS_MAP_ELIGIBLE);
  assert_int_equal(ms_mmap_classify(0, PROT_READ, MAP_SHARED, 3, 1), MS_MAP_IGNORE);
}

static void test_insert_remove_split(void **state) {
  (void)state;
  ms_mmap_registry_clear();
  note_map(BASE, 16 * MB, PROT_READ, MAP_SHARED, 3);
  note_map(BASE + 64 * MB, 512 * 1024, PROT_READ, MAP_SHARED, 3); /* under the floor */
  note_map(BASE + 128 * MB, 8 * MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  seen v = snapshot();
  assert_int_equal(v.n, 1);
  assert_true(v.start[0] == BASE && v.end[0] == BASE + 16 * MB);
  assert_true(ms_mmap_registry_busy());
  assert_true(tracked_bytes() == 16 * MB);

  /* A hole in the middle splits the entry in two. */
  note_unmap(BASE + 4 * MB, 2 * MB);
  v = snapshot();
  assert_int_equal(v.n, 2);
  assert_true(v.start[0] == BASE && v.end[0] == BASE + 4 * MB);
  assert_true(v.start[1] == BASE + 6 * MB && v.end[1] == BASE + 16 * MB);
  assert_int_equal(v.cls[1], MS_MAP_ELIGIBLE);
  assert_true(tracked_bytes() == 14 * MB);

  /* Cutting the head and the tail; an unaligned length rounds up to whole pages. */
  note_unmap(BASE + 6 * MB, 1 * MB);
  note_unmap(BASE + 15 * MB, 1 * MB - 100);
  v = snapshot();
  assert_int_equal(v.n, 2);
  assert_true(v.start[1] == BASE + 7 * MB && v.end[1] == BASE + 15 * MB);
  assert_true(tracked_bytes() == 12 * MB);

  /* One munmap across both pieces and the gap between them. */
  note_unmap(BASE + 2 * MB, 8 * MB);
  v = snapshot();
  assert_int_equal(v.n, 2);
  assert_true(v.end[0] == BASE + 2 * MB && v.start[1] == BASE + 10 * MB);
  assert_true(tracked_bytes() == 7 * MB);

  /* Unmapping outside every entry changes nothing. */
  note_unmap(BASE + 200 * MB, 4 * MB);
  assert_true(tracked_bytes() == 7 * MB);

  /* MAP_FIXED over a tracked range replaces it (here with anonymous memory: not tracked). */
  note_map(BASE + 10 * MB, 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1);
  v = snapshot();
  assert_int_equal(v.n, 2);
  assert_true(v.start[1] == BASE + 12 * MB);

  /* Whole entries go. */
  note_unmap(BASE, 64 * MB);
  assert_int_equal(snapshot().n, 0);
  assert_false(ms_mmap_registry_busy());
  assert_true(tracked_bytes() == 0);
}

static void test_mremap_and_mprotect(void **state) {
  (void)state;
  ms_mmap_registry_clear();
  note_map(BASE, 8 * MB, PROT_READ, MAP_PRIVATE, 3);
  /* Grow in place. */
  ms_mmap_lock();
  ms_mmap_note_remap_locked(BASE, 8 * MB, BASE, 12 * MB);
  ms_mmap_unlock();
  seen v = snapshot();
  assert_int_equal(v.n, 1);
  assert_true(v.end[0] == BASE + 12 * MB && v.cls[0] == MS_MAP_ELIGIBLE);
  /* Move: the old range leaves, the new one keeps the class. */
  ms_mmap_lock();
  ms_mmap_note_remap_locked(BASE, 12 * MB, BASE + 256 * MB, 12 * MB);
  ms_mmap_unlock();
  v = snapshot();
  assert_int_equal(v.n, 1);
  assert_true(v.start[0] == BASE + 256 * MB && v.end[0] == BASE + 268 * MB);
  assert_true(tracked_bytes() == 12 * MB);
  /* Remapping an untracked range adds nothing. */
  ms_mmap_lock();
  ms_mmap_note_remap_locked(BASE + 512 * MB, 4 * MB, BASE + 600 * MB, 8 * MB);
  ms_mmap_unlock();
  assert_int_equal(snapshot().n, 1);

  /* A private mapping made writable is never dropped again, even back to read-only. */
  ms_mmap_lock();
  ms_mmap_note_protect_locked(BASE + 260 * MB, 4096, PROT_READ);
  ms_mmap_unlock();
  assert_int_equal(snapshot().cls[0], MS_MAP_ELIGIBLE);
  ms_mmap_lock();
  ms_mmap_note_protect_locked(BASE + 260 * MB, 4096, PROT_READ | PROT_WRITE);
  ms_mmap_note_protect_locked(BASE + 260 * MB, 4096, PROT_READ);
  ms_mmap_unlock();
  assert_int_equal(snapshot().cls[0], MS_MAP_KEEP);
  /* A shared one stays eligible: the page cache keeps its writes. */
  note_map(BASE + 300 * MB, 4 * MB, PROT_READ, MAP_SHARED, 3);
  ms_mmap_lock();
  ms_mmap_note_protect_locked(BASE + 300 * MB, 4 * MB, PROT_READ | PROT_WRITE);
  ms_mmap_unlock();
  assert_int_equal(snapshot().cls[1], MS_MAP_ELIGIBLE);
  ms_mmap_registry_clear();
}

static int temp_file(size_t len) {
  char path[] = "/tmp/memshim-unit-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  unsigned char *buf = malloc(MB);
  for (size_t i = 0; i < MB; i++) buf[i] = (unsigned char)(i * 131 + 7);
  for (size_t off = 0; off < len; off += MB) assert_int_equal(write(fd, buf, MB), (ssize_t)MB);
  free(buf);
  return fd;
}

static uint64_t sum(const unsigned char *p, size_t len) {
  uint64_t s = 0;
  for (size_t i = 0; i < len; i++) s += p[i] * (i % 251 + 1);
  return s;
}

static void *map_and_note(size_t len, int prot, int flags, int fd) {
  void *p = mmap(NULL, len, prot, flags, fd, 0);
  assert_true(p != MAP_FAILED);
  note_map((uintptr_t)p, len, prot, flags, fd);
  return p;
}

/* A report's list: each tracked piece keeps the call site it was mapped from (through a split),
 * and its resident bytes are the pages this process touched, whatever the page
 * cache holds; a private writable mapping is listed as not droppable. */
static int by_start(const void *a, const void *b) {
  uintptr_t x = ((const ms_mmap_item *)a)->start, y = ((const ms_mmap_item *)b)->start;
  return x < y ? -1 : x > y;
}
static void test_list_sites_and_resident(void **state) {
  (void)state;
  ms_mmap_registry_clear();
  const size_t len = 8 * MB;
  int fd = temp_file(len);
  unsigned char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  assert_true(p != MAP_FAILED);
  ms_mmap_lock();
  ms_mmap_note_map_locked((uintptr_t)p, len, PROT_READ, MAP_SHARED, fd, 7);
  ms_mmap_unlock();
  volatile uint64_t touched = sum(p, 2 * MB); /* the whole file is in the page cache (just written); 2 MiB touched here */
  (void)touched;
  ms_mmap_item it[4];
  assert_int_equal(ms_mmap_registry_list(it, 4), 1);
  assert_true(it[0].site == 7 && it[0].droppable && it[0].measured && it[0].anon_bytes == 0);
  assert_true(it[0].start == (uintptr_t)p && it[0].end == (uintptr_t)p + len);
  if (!(it[0].resident_bytes >= 2 * MB && it[0].resident_bytes <= 2 * MB + 64 * 4096))
    fail_msg("resident %llu after touching 2 MiB", (unsigned long long)it[0].resident_bytes);
  /* a hole in the middle: both pieces keep the site; the touched part stays in the first */
  assert_int_equal(munmap(p + 4 * MB, MB), 0);
  note_unmap((uintptr_t)p + 4 * MB, MB);
  assert_int_equal(ms_mmap_registry_list(it, 4), 2);
  qsort(it, 2, sizeof it[0], by_start);
  assert_true(it[0].site == 7 && it[1].site == 7);
  assert_true(it[0].resident_bytes >= 2 * MB && it[1].resident_bytes <= 64 * 4096);
  /* max bounds what is written */
  assert_int_equal(ms_mmap_registry_list(it, 1), 1);
  assert_int_equal(munmap(p, 4 * MB), 0);
  assert_int_equal(munmap(p + 5 * MB, 3 * MB), 0);
  ms_mmap_registry_clear();
  /* private and writable: tracked, listed, never droppable */
  unsigned char *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  assert_true(q != MAP_FAILED);
  ms_mmap_lock();
  ms_mmap_note_map_locked((uintptr_t)q, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 9);
  ms_mmap_unlock();
  q[0] = 1; /* one copy-on-write page */
  assert_int_equal(ms_mmap_registry_list(it, 4), 1);
  assert_true(it[0].site == 9 && !it[0].droppable && it[0].anon_bytes == 4096);
  assert_int_equal(munmap(q, len), 0);
  ms_mmap_registry_clear();
  close(fd);
}

static void test_cap_drops_eligible_pages(void **state) {
  (void)state;
  ms_mmap_registry_clear();
  const size_t len = 16 * MB;
  int fd = temp_file(len);
  unsigned char *p = map_and_note(len, PROT_READ, MAP_SHARED, fd);
  uint64_t want = sum(p, len); /* touches every page */
  uint64_t resident = 0;
  assert_true(ms_mmap_enforce(UINT64_MAX, UINT64_MAX, &resident) == 0);
  assert_true(resident == len);
  /* Below the limit nothing is dropped. */
  assert_true(ms_mmap_enforce(32 * MB, 0, &resident) == 0);
  /* Above it: down to the target, in 2 MiB chunks. */
  uint64_t dropped = ms_mmap_enforce(8 * MB, 6 * MB, &resident);
  assert_true(dropped >= 10 * MB);
  assert_true(resident <= 6 * MB);
  ms_mmap_counters c;
  ms_mmap_counters_read(&c);
  assert_true(c.dropped_bytes >= dropped && c.resident_bytes == resident);
  /* Not a byte lost: the page cache gives it back. */
  assert_true(sum(p, len) == want);
  munmap(p, len);
  note_unmap((uintptr_t)p, len);
  close(fd);
}

static void test_cap_keeps_private_written_pages(void **state) {
  (void)state;
  ms_mmap_registry_clear();
  const size_t len = 8 * MB;
  int fd = temp_file(len);
  /* Private writable (np.memmap mode="c"): tracked, never dropped. */
  unsigned char *w = map_and_note(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
  for (size_t i = 0; i < len; i += 512) w[i] = (unsigned char)(i >> 9);
  /* Private read-only, then made writable behind the registry's back (no mprotect hook here):
   * the written page is anonymous, and its chunk must survive the cap. */
  unsigned char *r = map_and_note(len, PROT_READ, MAP_PRIVATE, fd);
  uint64_t r_before = sum(r, len);
  assert_int_equal(mprotect(r, 4096, PROT_READ | PROT_WRITE), 0);
  r[100] ^= 0xff;
  uint64_t resident = 0;
  ms_mmap_enforce(0, 0, &resident);
  for (size_t i = 0; i < len; i += 512) assert_int_equal(w[i], (unsigned char)(i >> 9));
  r[100] ^= 0xff; /* had the page been dropped, the first write would be lost and the byte stay flipped */
  assert_true(sum(r, len) == r_before);
  /* The untouched chunks of the read-only mapping were dropped. */
  assert_true(resident <= 2 * MB);
  munmap(w, len);
  munmap(r, len);
  ms_mmap_registry_clear();
  close(fd);
}

/* A holder in the middle of a munmap of [BASE + 16 MB, + 8 MB) when another thread forks. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int hold_state; /* 1: the lock is held, 2: let go */

static void *holder(void *arg) {
  (void)arg;
  ms_mmap_lock_span(BASE + 16 * MB, 8 * MB, 0, 0);
  pthread_mutex_lock(&hold_mu);
  hold_state = 1;
  pthread_cond_broadcast(&hold_cv);
  while (hold_state != 2) pthread_cond_wait(&hold_cv, &hold_mu);
  pthread_mutex_unlock(&hold_mu);
  ms_mmap_unlock();
  return NULL;
}

/* The child: its first lock (here before any fork handler of ours, as in a handler another
 * library registered earlier) must not wait for the holder, who is not in this process. */
static int fork_child_checks(bool run_handler) {
  if (run_handler) ms_mmap_atfork_child();
  seen v = snapshot(); /* takes the lock */
  if (v.n != 2) return 10 + (int)v.n;
  if (v.start[0] != BASE || v.end[0] != BASE + 16 * MB) return 20;
  if (v.start[1] != BASE + 24 * MB || v.end[1] != BASE + 32 * MB) return 21;
  if (tracked_bytes() != 24 * MB) return 30;
  note_unmap(BASE, 64 * MB); /* the registry and its lock keep working */
  if (snapshot().n != 0 || tracked_bytes() != 0) return 40;
  return 0;
}

static void test_fork_while_locked(void **state) {
  (void)state;
  ms_mmap_registry_clear();
  FILE *f = tmpfile(); /* a regular file: only those are tracked */
  assert_non_null(f);
  int fd = fileno(f);
  note_map(BASE, 16 * MB, PROT_READ, MAP_SHARED, fd);
  note_map(BASE + 16 * MB, 8 * MB, PROT_READ, MAP_SHARED, fd);
  note_map(BASE + 24 * MB, 8 * MB, PROT_READ, MAP_PRIVATE, fd);
  assert_int_equal(snapshot().n, 3);
  for (int run_handler = 0; run_handler < 2; run_handler++) {
    hold_state = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
    pthread_mutex_lock(&hold_mu);
    while (hold_state != 1) pthread_cond_wait(&hold_cv, &hold_mu);
    pthread_mutex_unlock(&hold_mu);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(fork_child_checks(run_handler));
    int st = 0;
    /* A child stuck on the inherited lock is ended after 60 s and fails. */
    for (int i = 0; i < 6000 && waitpid(pid, &st, WNOHANG) == 0; i++) usleep(10000);
    if (waitpid(pid, &st, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("fork child waited on the registry lock a parent thread held");
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    pthread_mutex_lock(&hold_mu);
    hold_state = 2;
    pthread_cond_broadcast(&hold_cv);
    pthread_mutex_unlock(&hold_mu);
    pthread_join(t, NULL);
    assert_int_equal(snapshot().n, 3); /* the parent's registry is as it was */
    assert_true(tracked_bytes() == 32 * MB);
  }
  ms_mmap_registry_clear();
  fclose(f);
}

int main(void) {
  ms_mmap_registry_configure(1 * MB);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_classify),
    cmocka_unit_test(test_insert_remove_split),
    cmocka_unit_test(test_mremap_and_mprotect),
    cmocka_unit_test(test_list_sites_and_resident),
    cmocka_unit_test(test_cap_drops_eligible_pages),
    cmocka_unit_test(test_cap_keeps_private_written_pages),
    cmocka_unit_test(test_fork_while_locked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
