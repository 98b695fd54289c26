/* A host with its own allocator and its own fork lock (issue 22, item 2; Chromium's
 * PartitionAlloc, tcmalloc): malloc/free/calloc/realloc are defined here, so they win over
 * the preload's, and glibc's pthread_create allocates the new thread's TLS through them. main()
 * registers atfork handlers that take the allocator's lock in prepare and release it in parent
 * and child: until the program's child handler has run, no thread may be created in the child.
 * A preload whose own child handler (registered first, run first) starts a thread hangs the
 * child for good.
 * The parent makes no allocation through the preload: no thread of its was ever created, so
 * glibc has no cached stack (with TLS) to reuse, and a thread created in the child must
 * allocate. Forks N times (argv[1]); each child makes one allocation through the preload
 * (aligned_alloc is not defined here), waits up to 5 s for a second task to appear (the preload's thread,
 * started by that allocation, not by the fork), and exits. A child that does not end within
 * 60 s is killed and counted. Prints "forks=N hung=H with_thread=T". */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trust_util.h"

/* ---- the host's allocator: a bump allocator under one lock (free keeps nothing) ---- */
static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static char *arena, *arena_end;
#define ARENA (256u << 20)

void *malloc(size_t n) {
  pthread_mutex_lock(&alloc_lock);
  if (!arena) {
    arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    arena_end = arena == MAP_FAILED ? NULL : arena + ARENA;
    if (arena == MAP_FAILED) arena = NULL;
  }
  size_t need = (n + 16 + 15) & ~(size_t)15;
  void *p = NULL;
  if (arena && (size_t)(arena_end - arena) >= need) {
    *(size_t *)arena = n;
    p = arena + 16;
    arena += need;
  }
  pthread_mutex_unlock(&alloc_lock);
  return p;
}
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b) {
  size_t n = a * b;
  void *p = malloc(n);
  if (p) memset(p, 0, n);
  return p;
}
void *realloc(void *p, size_t n) {
  void *q = malloc(n);
  if (q && p) {
    size_t old = *(size_t *)((char *)p - 16);
    memcpy(q, p, old < n ? old : n);
  }
  return q;
}

static void prepare(void) { pthread_mutex_lock(&alloc_lock); }
static void parent(void) { pthread_mutex_unlock(&alloc_lock); }
static void child(void) { pthread_mutex_unlock(&alloc_lock); }

static int tasks(void) { return trust_threads(); }

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 50;
  pthread_atfork(prepare, parent, child);
  int hung = 0, with_thread = 0;
  for (int i = 0; i < forks; i++) {
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      /* The child's first allocation through the preload, past its 1 MiB tick. */
      void *p = aligned_alloc(64, 2u << 20);
      int saw = 0;
      for (int k = 0; k < 500 && !saw; k++) {
        saw = tasks() > 1;
        if (!saw) nap_ms(10);
      }
      (void)p;
      exit(saw ? 10 : 11);
    }
    int status = 0, done = 0;
    for (int k = 0; k < 6000 && !done; k++) { /* 60 s */
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) done = 1;
      else nap_ms(10);
    }
    if (!done) {
      hung++;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      continue;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 10) with_thread++;
  }
  printf("forks=%d hung=%d with_thread=%d\n", forks, hung, with_thread);
  return 0;
}
