/* A single-threaded host that must stay single-threaded (issue 22, items 3 and 4): holds
 * 200 MiB of heap in mixed sizes and, while it holds it, does what needs one thread or one
 * spare task: a raw unshare(CLONE_NEWUSER) (sandboxes use the system call), pthread_create,
 * posix_spawn. Then frees it all and goes idle 0.5 s (memory must be back by then). Prints one
 * line of key=value figures; the script judges them.
 * Usage: trust_single [unshare]   (without "unshare", the unshare step is skipped) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trust_util.h"

extern char **environ;

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int tasks(void) { return trust_threads(); }

static int tasks_max;
static void look(void) {
  int n = tasks();
  if (n > tasks_max) tasks_max = n;
}

static void *worker(void *arg) { return arg; }

#define HELD (200u << 20)

int main(int argc, char **argv) {
  int do_unshare = argc > 1 && strcmp(argv[1], "unshare") == 0;
  long base = rss_kb();
  look();
  /* Mixed sizes, as a real heap: small (slab) and medium blocks, which an allocator keeps
   * dirty after free, and a few large ones. */
  static const size_t sizes[] = {256, 4096, 24 << 10, 100 << 10, 1 << 20};
  size_t n = 0, cap = 1 << 20, held = 0;
  void **blocks = malloc(cap * sizeof *blocks);
  for (unsigned i = 0; held < HELD && n < cap; i++) {
    size_t sz = sizes[i % 5];
    char *p = malloc(sz);
    if (!p) return 2;
    memset(p, (int)i, sz);
    blocks[n++] = p;
    held += sz;
    if (i % 4096 == 0) look();
  }
  long peak = rss_kb();
  look();
  /* While the heap is held (where a thread of ours used to be running). */
  int unshare_rc = -1;
  if (do_unshare) unshare_rc = syscall(SYS_unshare, CLONE_NEWUSER) == 0 ? 0 : errno;
  pthread_t t;
  int thread_rc = pthread_create(&t, NULL, worker, NULL);
  if (thread_rc == 0) {
    pthread_join(t, NULL);
    /* join returns when the kernel clears the thread's tid, a moment before the task is gone
     * from /proc/self/task and from RLIMIT_NPROC's count: wait for that (10 s at most), or the
     * next look counts it and posix_spawn under --nproc=2 finds no task to spare */
    uint64_t deadline = trust_now_ms() + 10000;
    while (tasks() > 1 && trust_now_ms() < deadline) trust_sleep_ms(1);
  }
  pid_t pid;
  char *av[] = {"/bin/true", NULL};
  int spawn_rc = posix_spawn(&pid, "/bin/true", NULL, NULL, av, environ);
  if (spawn_rc == 0) waitpid(pid, NULL, 0);
  for (size_t i = 0; i < n; i++) {
    free(blocks[i]);
    if (i % 4096 == 0) look();
  }
  free(blocks);
  long at_free = rss_kb();
  look();
  struct timespec half = {0, 500 * 1000 * 1000};
  nanosleep(&half, NULL); /* idle: no allocation, no free */
  long after = rss_kb();
  look();
  printf("base_kb=%ld peak_kb=%ld at_free_kb=%ld after_kb=%ld tasks_max=%d unshare=%d thread=%d spawn=%d\n", base,
         peak, at_free, after, tasks_max, unshare_rc, thread_rc, spawn_rc);
  return 0;
}
