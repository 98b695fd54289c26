/* The stress tier's program (tests/integration/stress.sh): for SECONDS, THREADS workers at a time
 * allocate and free mixed sizes through every entry point (malloc, calloc, realloc,
 * posix_memalign, aligned_alloc, operator new/new[] and their deletes, found with dlsym so the
 * program stays C) and map, touch, mprotect and unmap files in DIR, while workers end and new ones
 * start, a thread purges (memshim_trim, malloc_trim) and the main thread forks in bursts:
 * children exec /bin/true, allocate and _exit, allocate and exit(), or start a thread and exit(),
 * and posix_spawn (clone with CLONE_VM|CLONE_VFORK: no fork handlers) runs /bin/true.
 *
 * Checks: every block keeps its contents (calloc's zeroed); every child ends with status 0 within
 * CHILD_DEADLINE_MS (one that does not has its tasks' state printed, then is killed: a hang);
 * once every worker has freed everything, memshim's heap.live is back within LIVE_SLACK of where
 * it started and the process has the descriptors it started with. With argument "leak" the
 * program keeps one block of 3 * LIVE_SLACK at the end, which the live check must catch (the
 * test proves the check can fail). The whole run has no deadline of its own: the test's watchdog
 * gives it SECONDS + 120 s.
 * Prints "ok: ..." lines and a "stress:" summary line; exit 0, or "FAIL: ..." and exit 1. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "trust_util.h"

#define CHILD_DEADLINE_MS 60000u
#define MAX_CHILDREN 4
#define SLOTS 512
#define LIVE_SLACK (1u << 20) /* libc's and memshim's lazily made state; measured under 20 KiB */
#define MAP_FILE_BYTES (8u << 20) /* over MEMSHIM_MMAP_MIN (1M): the registry tracks it */

static uint64_t (*ms_trim)(void);
static void *(*op_new)(size_t);
static void *(*op_new_arr)(size_t);
static void (*op_delete)(void *);
static void (*op_delete_arr)(void *);

static const char *dir;
static volatile int stop;
static uint64_t deadline_ms;
static int nworkers;
static uint64_t n_ops, n_maps, n_workers_done, n_trims;

enum kind { K_MALLOC, K_CALLOC, K_REALLOC, K_MEMALIGN, K_ALIGNED, K_NEW, K_NEW_ARR, K_KINDS };

struct slot {
  unsigned char *p;
  size_t size;
  unsigned char tag;
  enum kind kind;
};

static uint64_t rnd(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

/* Mostly small, some medium, a few large (the large ones make retained pages for the purges). */
static size_t pick_size(uint64_t *s) {
  unsigned r = (unsigned)(rnd(s) % 100);
  if (r < 70) return 1 + rnd(s) % 256;
  if (r < 90) return 257 + rnd(s) % (16u << 10);
  if (r < 98) return (16u << 10) + rnd(s) % (240u << 10);
  return (256u << 10) + rnd(s) % (4u << 20);
}

static void mark(struct slot *sl) {
  sl->p[0] = sl->tag;
  sl->p[sl->size - 1] = sl->tag;
  sl->p[sl->size / 2] = sl->tag;
}

static void check(const struct slot *sl, const char *what) {
  if (sl->p[0] != sl->tag || sl->p[sl->size - 1] != sl->tag || sl->p[sl->size / 2] != sl->tag)
    trust_fail("%s: block %p of %zu bytes (kind %d) lost its contents", what, (void *)sl->p, sl->size, sl->kind);
}

static void slot_alloc(struct slot *sl, uint64_t *s) {
  enum kind k = (enum kind)(rnd(s) % K_KINDS);
  if ((k == K_NEW || k == K_NEW_ARR) && !op_new) k = K_MALLOC;
  size_t size = pick_size(s);
  void *p = NULL;
  switch (k) {
  case K_MALLOC: p = malloc(size); break;
  case K_CALLOC: p = calloc(1, size); break;
  case K_REALLOC: p = realloc(NULL, size); break;
  case K_MEMALIGN:
    if (posix_memalign(&p, (size_t)16 << (rnd(s) % 9), size) != 0) p = NULL;
    break;
  case K_ALIGNED: {
    size_t align = (size_t)64 << (rnd(s) % 6);
    size = (size + align - 1) / align * align; /* C11: a multiple of the alignment */
    p = aligned_alloc(align, size);
    break;
  }
  case K_NEW: p = op_new(size); break;
  case K_NEW_ARR: p = op_new_arr(size); break;
  default: break;
  }
  if (!p) trust_fail("allocation of %zu bytes (kind %d) failed", size, k);
  sl->p = p;
  sl->size = size;
  sl->kind = k;
  sl->tag = (unsigned char)(1 + rnd(s) % 255);
  if (k != K_NEW && k != K_NEW_ARR && malloc_usable_size(p) < size)
    trust_fail("malloc_usable_size %zu under the %zu bytes asked (kind %d)", malloc_usable_size(p), size, k);
  if (k == K_CALLOC && (sl->p[0] || sl->p[size / 2] || sl->p[size - 1]))
    trust_fail("calloc(1, %zu) returned memory that is not zero", size);
  if (size >= (256u << 10) || rnd(s) % 8 == 0) memset(sl->p, sl->tag, size); /* resident pages */
  mark(sl);
}

static void slot_free(struct slot *sl) {
  check(sl, "free");
  switch (sl->kind) {
  case K_NEW: op_delete(sl->p); break;
  case K_NEW_ARR: op_delete_arr(sl->p); break;
  default: free(sl->p); break;
  }
  sl->p = NULL;
}

/* realloc keeps the smaller of the two sizes' contents: check the first byte and re-mark. */
static void slot_realloc(struct slot *sl, uint64_t *s) {
  check(sl, "realloc");
  size_t size = pick_size(s);
  unsigned char *p = realloc(sl->p, size);
  if (!p) trust_fail("realloc to %zu bytes failed", size);
  if (p[0] != sl->tag) trust_fail("realloc from %zu to %zu bytes lost the contents", sl->size, size);
  sl->p = p;
  sl->size = size;
  sl->kind = K_REALLOC;
  mark(sl);
}

/* One round on the worker's file: a read-only private mapping read through, a shared one written,
 * one mprotected back and forth, a private writable one; then unmapped in pieces (the registry
 * splits and drops ranges). */
static void map_round(int fd, uint64_t *s) {
  size_t len = MAP_FILE_BYTES, page = (size_t)sysconf(_SC_PAGESIZE);
  int mode = (int)(rnd(s) % 4);
  int prot = mode == 0 ? PROT_READ : PROT_READ | PROT_WRITE;
  int flags = mode == 0 || mode == 3 ? MAP_PRIVATE : MAP_SHARED;
  if (mode == 2) prot = PROT_READ;
  volatile unsigned char *m = mmap(NULL, len, prot, flags, fd, 0);
  if (m == MAP_FAILED) trust_fail("mmap of %zu bytes: %s", len, strerror(errno));
  unsigned sum = 0;
  if (mode == 2 && mprotect((void *)m, len, PROT_READ | PROT_WRITE) != 0)
    trust_fail("mprotect RW: %s", strerror(errno));
  for (size_t off = 0; off < len; off += page) {
    if (mode == 0) sum += m[off];
    else m[off] = (unsigned char)off;
  }
  if (mode == 2 && mprotect((void *)m, len, PROT_READ) != 0) trust_fail("mprotect R: %s", strerror(errno));
  if (mode != 0 && m[page] != (unsigned char)page) trust_fail("mapping lost a written byte");
  (void)sum;
  /* A hole in the middle, then the two ends. */
  size_t mid = len / 2 / page * page;
  if (munmap((void *)(m + mid), page) != 0 || munmap((void *)m, mid) != 0 ||
      munmap((void *)(m + mid + page), len - mid - page) != 0)
    trust_fail("munmap: %s", strerror(errno));
  __atomic_add_fetch(&n_maps, 1, __ATOMIC_RELAXED);
}

/* A worker lives 0.2 to 2 s (or to the end), then frees everything and leaves. */
static void *worker(void *arg) {
  uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + trust_now_ms();
  if (!s) s = 1;
  struct slot *slots = calloc(SLOTS, sizeof *slots);
  if (!slots) trust_fail("calloc slots");
  char path[4096];
  snprintf(path, sizeof path, "%s/map.%lu", dir, (unsigned long)(uintptr_t)arg);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) trust_fail("open %s: %s", path, strerror(errno));
  if (ftruncate(fd, MAP_FILE_BYTES) != 0) trust_fail("ftruncate %s: %s", path, strerror(errno));
  uint64_t end = trust_now_ms() + 200 + rnd(&s) % 1800;
  uint64_t ops = 0;
  while (!stop && trust_now_ms() < end) {
    for (int i = 0; i < 1000; i++, ops++) {
      struct slot *sl = &slots[rnd(&s) % SLOTS];
      if (!sl->p) slot_alloc(sl, &s);
      else if (rnd(&s) % 4 == 0 && sl->kind != K_NEW && sl->kind != K_NEW_ARR) slot_realloc(sl, &s);
      else slot_free(sl);
    }
    if (rnd(&s) % 4 == 0) map_round(fd, &s);
  }
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].p) slot_free(&slots[i]);
  free(slots);
  close(fd);
  unlink(path);
  __atomic_add_fetch(&n_ops, ops, __ATOMIC_RELAXED);
  __atomic_add_fetch(&n_workers_done, 1, __ATOMIC_RELAXED);
  return NULL;
}

/* Keeps nworkers workers running until the end, joining each that leaves and starting another. */
static void *spawner(void *arg) {
  (void)arg;
  pthread_t *t = calloc((size_t)nworkers, sizeof *t);
  if (!t) trust_fail("calloc threads");
  uintptr_t id = 1;
  for (int i = 0; i < nworkers; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)id++) != 0) trust_fail("pthread_create worker");
  while (!stop) {
    for (int i = 0; i < nworkers && !stop; i++) {
      if (pthread_tryjoin_np(t[i], NULL) == 0 &&
          pthread_create(&t[i], NULL, worker, (void *)id++) != 0)
        trust_fail("pthread_create worker");
    }
    trust_sleep_ms(5);
  }
  for (int i = 0; i < nworkers; i++) pthread_join(t[i], NULL);
  free(t);
  return NULL;
}

static void *trimmer(void *arg) {
  (void)arg;
  for (unsigned i = 0; !stop; i++) {
    if (i % 2) malloc_trim(0);
    else ms_trim();
    __atomic_add_fetch(&n_trims, 1, __ATOMIC_RELAXED);
    trust_sleep_ms(20);
  }
  return NULL;
}

/* A child's own small churn: blocks of every size class, checked, freed. Returns 0 when intact. */
static int child_churn(uint64_t seed) {
  uint64_t s = seed | 1;
  struct slot sl[64];
  for (int i = 0; i < 64; i++) slot_alloc(&sl[i], &s);
  for (int i = 0; i < 64; i++) slot_free(&sl[i]);
  void *big = malloc(1u << 20);
  if (!big) return 1;
  memset(big, 1, 1u << 20);
  free(big);
  return 0;
}

static void *child_thread(void *arg) {
  *(int *)arg = child_churn(trust_now_ms());
  return NULL;
}

/* Children: exec /bin/true; churn and _exit; churn, purge and exit(); churn on a new thread and
 * exit(). No stdio: a failure is the exit status. */
static void child(int kind) {
  int rc = 0;
  switch (kind) {
  case 0:
    execl("/bin/true", "true", (char *)NULL);
    _exit(127);
  case 1:
    _exit(child_churn(trust_now_ms()) ? 3 : 0);
  case 2:
    rc = child_churn(trust_now_ms());
    ms_trim();
    exit(rc ? 3 : 0);
  default: {
    pthread_t t;
    rc = 4;
    if (pthread_create(&t, NULL, child_thread, &rc) != 0) exit(5);
    pthread_join(t, NULL);
    exit(rc ? 3 : 0);
  }
  }
}

struct kid {
  pid_t pid;
  int kind;
  uint64_t start;
};

#define CHILD_KINDS 5 /* 0-3: child(); 4: posix_spawn */
static uint64_t n_forks, n_reaped, by_kind[CHILD_KINDS];

/* Reap what ended; fail on a bad status or a child past its deadline. block: wait for all. */
static void reap(struct kid *k, int *nk, int block) {
  uint64_t limit = trust_now_ms() + CHILD_DEADLINE_MS;
  while (*nk > 0) {
    for (int i = 0; i < *nk;) {
      int status;
      pid_t r = waitpid(k[i].pid, &status, WNOHANG);
      if (r < 0) trust_fail("waitpid %d: %s", (int)k[i].pid, strerror(errno));
      if (r == 0) {
        if (trust_now_ms() - k[i].start > CHILD_DEADLINE_MS) {
          fprintf(stderr, "child %d (kind %d) still running after %u ms; its tasks:\n", (int)k[i].pid,
                  k[i].kind, CHILD_DEADLINE_MS);
          trust_dump_tasks(k[i].pid);
          kill(k[i].pid, SIGKILL);
          trust_fail("child %d (kind %d) hung", (int)k[i].pid, k[i].kind);
        }
        i++;
        continue;
      }
      if (WIFSIGNALED(status))
        trust_fail("child %d (kind %d) died of signal %d", (int)r, k[i].kind, WTERMSIG(status));
      if (WEXITSTATUS(status) != 0)
        trust_fail("child %d (kind %d) exited %d", (int)r, k[i].kind, WEXITSTATUS(status));
      by_kind[k[i].kind]++;
      n_reaped++;
      k[i] = k[--*nk];
    }
    if (!block || trust_now_ms() > limit) break;
    trust_sleep_ms(2);
  }
}

extern char **environ;

static pid_t start_child(int kind) {
  pid_t pid;
  if (kind == CHILD_KINDS - 1) {
    char *args[] = {"true", NULL};
    int err = posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ);
    if (err) trust_fail("posix_spawn: %s", strerror(err));
    return pid;
  }
  pid = fork();
  if (pid < 0) trust_fail("fork: %s", strerror(errno));
  if (pid == 0) child(kind);
  return pid;
}

/* Open descriptors, with what each names, into out (one "fd -> target" line each). */
static int fd_list(char *out, size_t cap) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) trust_fail("opendir /proc/self/fd");
  int n = 0, self = dirfd(d);
  size_t used = 0;
  out[0] = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    target[len > 0 ? len : 0] = 0;
    if (used < cap) used += (size_t)snprintf(out + used, cap - used, "  %s -> %s\n", e->d_name, target);
    n++;
  }
  closedir(d);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: stress_mix SECONDS THREADS DIR [leak]\n");
    return 2;
  }
  int seconds = atoi(argv[1]);
  nworkers = atoi(argv[2]);
  dir = argv[3];
  int leak = argc > 4 && strcmp(argv[4], "leak") == 0;
  if (seconds < 1 || nworkers < 1) trust_fail("SECONDS and THREADS must be positive");
  ms_trim = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "memshim_trim");
  if (!ms_trim) trust_fail("libmemshim.so is not preloaded (memshim_trim not found)");
  op_new = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "_Znwm");
  op_new_arr = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "_Znam");
  op_delete = (void (*)(void *))dlsym(RTLD_DEFAULT, "_ZdlPv");
  op_delete_arr = (void (*)(void *))dlsym(RTLD_DEFAULT, "_ZdaPv");
  if (!op_new || !op_new_arr || !op_delete || !op_delete_arr) trust_fail("operator new/delete not found");

  /* Warm-up: one short worker and one child of each kind, so that lazily made state (thread
   * caches, stdio, the profiler's tables, memshim's monitor) exists before the baseline. */
  stop = 0;
  pthread_t t;
  pthread_create(&t, NULL, worker, (void *)0);
  pthread_join(t, NULL);
  struct kid kids[MAX_CHILDREN];
  int nk = 0;
  for (int kind = 0; kind < CHILD_KINDS; kind++) {
    kids[nk++] = (struct kid){start_child(kind), kind, trust_now_ms()};
    reap(kids, &nk, 1);
  }
  ms_trim();
  static char fds_before[8192], fds_after[8192];
  int nfd0 = fd_list(fds_before, sizeof fds_before);
  uint64_t live0 = trust_stat("heap.live");
  printf("ok: warm-up done: heap.live %llu, %d descriptors\n", (unsigned long long)live0, nfd0);
  fflush(stdout);

  uint64_t t0 = trust_now_ms();
  deadline_ms = t0 + (uint64_t)seconds * 1000u;
  pthread_t sp, tr;
  if (pthread_create(&sp, NULL, spawner, NULL) != 0 || pthread_create(&tr, NULL, trimmer, NULL) != 0)
    trust_fail("pthread_create");
  uint64_t peak = 0;
  while (trust_now_ms() < deadline_ms) {
    reap(kids, &nk, 0);
    /* Forks come in bursts of a second with 400 ms pauses: every fork stops memshim's thread and
     * keeps it away 100 ms (MS_MONITOR_RESUME_HOLD_MS), so a process that forks without pause
     * never runs its periodic jobs (soft limit, cap, reports, metrics), which the pauses let run. */
    if (nk < MAX_CHILDREN && (trust_now_ms() - t0) % 1400 < 1000) {
      int kind = (int)(n_forks % CHILD_KINDS);
      kids[nk++] = (struct kid){start_child(kind), kind, trust_now_ms()};
      n_forks++;
    }
    uint64_t live = trust_stat("heap.live");
    if (live > peak) peak = live;
    trust_sleep_ms(2);
  }
  stop = 1;
  pthread_join(sp, NULL);
  pthread_join(tr, NULL);
  reap(kids, &nk, 1);
  if (nk) trust_fail("%d children not reaped", nk);
  uint64_t t1 = trust_now_ms();

  void *kept = leak ? trust_alloc(3 * LIVE_SLACK) : NULL;
  ms_trim();
  uint64_t live1 = trust_stat("heap.live");
  int nfd1 = fd_list(fds_after, sizeof fds_after);
  printf("stress: seconds=%.1f workers=%llu ops=%llu maps=%llu trims=%llu children=%llu exec=%llu "
         "_exit=%llu exit=%llu thread_exit=%llu spawn=%llu live_start=%llu live_end=%llu live_peak=%llu fds=%d/%d "
         "purges=%llu mmap_dropped=%llu\n",
         (t1 - t0) / 1000.0, (unsigned long long)n_workers_done, (unsigned long long)n_ops,
         (unsigned long long)n_maps, (unsigned long long)n_trims, (unsigned long long)n_forks,
         (unsigned long long)by_kind[0], (unsigned long long)by_kind[1], (unsigned long long)by_kind[2],
         (unsigned long long)by_kind[3], (unsigned long long)by_kind[4], (unsigned long long)live0, (unsigned long long)live1,
         (unsigned long long)peak, nfd0, nfd1, (unsigned long long)trust_stat("purge.count"),
         (unsigned long long)trust_stat("mmap.dropped"));
  fflush(stdout);
  if (n_forks < CHILD_KINDS || n_workers_done < (uint64_t)nworkers || n_maps == 0)
    trust_fail("too little happened to judge (forks, workers or mappings)");
  /* The check must be able to fail: the program held far more than the slack at its peak. */
  if (peak < 4 * (uint64_t)LIVE_SLACK)
    trust_fail("peak heap.live %llu is under 4x the slack %u: the live check would prove nothing",
               (unsigned long long)peak, LIVE_SLACK);
  if (live1 > live0 + LIVE_SLACK)
    trust_fail("heap.live %llu after everything was freed, %llu at the start (slack %u)",
               (unsigned long long)live1, (unsigned long long)live0, LIVE_SLACK);
  if (nfd1 != nfd0) trust_fail("descriptors: %d at the start, %d at the end\nbefore:\n%safter:\n%s", nfd0, nfd1,
                               fds_before, fds_after);
  free(kept);
  printf("ok: every block intact, every child exited 0, heap.live back within %u bytes, no descriptor leaked\n",
         LIVE_SLACK);
  return 0;
}
