/* Issue 22, item 1: fork while a thread works inside another library's atfork-guarded lock.
 *   trust_fork_atfork DATAFILE FORKS [--threads|--alloc] [LIBRARY.so]
 * atforklock_work comes from the preloaded library (LD_PRELOAD names it) or, given a path, from
 * a dlopen of it (its handler is then registered after memshim's). A file mapping of 8 MiB is
 * held and read, so that memshim tracks it under MEMSHIM_MMAP_RESIDENT_MAX or
 * MEMSHIM_RSS_SOFT_LIMIT. A second thread calls atforklock_work in a loop while main forks
 * FORKS times; with --threads it starts thread after thread instead, each allocating once
 * under the library's lock (memshim registers a thread at its first allocation); with --alloc it
 * allocates and frees under that lock in a loop (with MEMSHIM_PROFILE and MEMSHIM_SAMPLE_BYTES=1
 * each one is sampled: the profiler's tables and their locks). Each child calls atforklock_work and atforklock_alloc once, checks that memshim still tracks what the
 * parent did, unmaps the file and checks that nothing is tracked, then leaves with _exit; each
 * must be reaped with status 0 (3: a call failed, 4: the registry differs, 5: the unmap was not
 * recorded). A deadlock shows as a hang: the caller's watchdog ends the run. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "trust_util.h"

#define MAP_BYTES (8u << 20)
static volatile int stop;
static int (*work)(void);
static volatile unsigned long rounds, bad_rounds;

static int (*alloc_fn)(void);
static int threads_mode, alloc_mode;

static void *one_alloc(void *arg) {
  (void)arg;
  return (void *)(intptr_t)alloc_fn();
}

static void *worker(void *arg) {
  (void)arg;
  while (!stop) {
    if (alloc_mode) { /* allocations and frees under the library's lock, on this thread */
      if (alloc_fn()) bad_rounds++;
    } else if (threads_mode) { /* a new thread's first allocation, under the library's lock */
      pthread_t t;
      void *r = NULL;
      if (pthread_create(&t, NULL, one_alloc, NULL) != 0 || pthread_join(t, &r) != 0 || r) bad_rounds++;
    } else if (work()) {
      bad_rounds++;
    }
    rounds++;
  }
  return NULL;
}

/* Bytes of file mappings memshim tracks (0 without it): under a cap, the registry's path (and
 * its lock) is what the worker exercises. */
static uint64_t tracked_bytes(void) {
  static int (*stat)(const char *, uint64_t *);
  if (!stat) stat = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "memshim_stat");
  uint64_t v = 0;
  if (stat) stat("mmap.tracked", &v);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 3) trust_fail("usage: trust_fork_atfork DATAFILE FORKS [LIBRARY.so]");
  long forks = atol(argv[2]);
  int arg = 3;
  if (argc > arg && strcmp(argv[arg], "--threads") == 0) {
    threads_mode = 1;
    arg++;
  } else if (argc > arg && strcmp(argv[arg], "--alloc") == 0) {
    alloc_mode = 1;
    arg++;
  }
  void *h = RTLD_DEFAULT;
  if (argc > arg && !(h = dlopen(argv[arg], RTLD_NOW))) trust_fail("dlopen %s: %s", argv[arg], dlerror());
  work = (int (*)(void))dlsym(h, "atforklock_work");
  alloc_fn = (int (*)(void))dlsym(h, "atforklock_alloc");
  if (!work || !alloc_fn) trust_fail("atforklock_work not found (preload the library or pass its path)");

  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) trust_fail("open %s: %s", argv[1], strerror(errno));
  const unsigned char *m = mmap(NULL, MAP_BYTES, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) trust_fail("mmap %s: %s", argv[1], strerror(errno));
  close(fd);
  unsigned long sum = 0;
  for (size_t i = 0; i < MAP_BYTES; i += 4096) sum += m[i];

  uint64_t tracked = tracked_bytes();
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) trust_fail("pthread_create");
  while (rounds == 0) sched_yield(); /* the worker is inside its loop before the first fork */
  for (long i = 0; i < forks; i++) {
    pid_t pid = fork();
    if (pid < 0) trust_fail("fork %ld: %s", i, strerror(errno));
    if (pid == 0) {
      /* The child's first calls take the registry lock (some children were copied while the
       * worker held it), and its registry still lists the file mapping, which it then unmaps. */
      uint64_t before = tracked_bytes();
      if (work() || alloc_fn()) _exit(3);
      if (before != tracked) _exit(4);
      if (munmap((void *)m, MAP_BYTES) != 0 || tracked_bytes() != 0) _exit(5);
      _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) trust_fail("waitpid: %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) trust_fail("child %ld: status 0x%x", i, st);
  }
  stop = 1;
  pthread_join(t, NULL);
  if (bad_rounds) trust_fail("%lu of %lu rounds had a failed mmap/mprotect/munmap", bad_rounds, rounds);
  printf("ok: %ld forks while the worker ran %lu rounds under its lock; memshim tracks %llu bytes of file mappings (sum %lu)\n", forks,
         rounds, (unsigned long long)tracked, sum & 1);
  munmap((void *)m, MAP_BYTES);
  return 0;
}
