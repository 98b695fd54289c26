/* fork while another thread is inside memshim_trim. jemalloc marks an arena "purging" and drops
 * its locks while it returns pages; a fork in that window copies the mark into the child, where
 * nothing clears it, and no purge of that arena ever works there again. memshim holds fork back
 * until its purge is done. Each child frees what it churned, purges twice (memshim_trim) and
 * exits 1 when any arena still counts dirty or muzzy pages. jemalloc's own decay is switched
 * off by the test (MALLOC_CONF), so every purge is one of memshim's.
 * Prints forks=N stuck=K trims=T; exit 0 when no child was stuck. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap_churn.h"

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
static mallctl_fn mallctl_p;
static uint64_t (*trim)(void);
static volatile int stop;
static uint64_t trims;

/* 32 MB of dirty pages per purge: a purge long enough for forks to land inside it. */
static void *purger(void *arg) {
  (void)arg;
  while (!stop) {
    heap_churn(32 << 20);
    trim();
    __atomic_add_fetch(&trims, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

/* Unused pages of every arena (what a purge returns), in pages. */
static size_t unused_pages(void) {
  uint64_t epoch = 1;
  size_t len = sizeof epoch;
  mallctl_p("epoch", &epoch, &len, &epoch, len);
  size_t dirty = 0, muzzy = 0;
  len = sizeof dirty;
  mallctl_p("stats.arenas.4096.pdirty", &dirty, &len, NULL, 0);
  len = sizeof muzzy;
  mallctl_p("stats.arenas.4096.pmuzzy", &muzzy, &len, NULL, 0);
  return dirty + muzzy;
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 1000;
  mallctl_p = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
  trim = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "memshim_trim");
  if (!mallctl_p || !trim) {
    fprintf(stderr, "libmemshim.so (jemalloc backend) is not preloaded\n");
    return 2;
  }
  alarm(200);
  pthread_t t;
  pthread_create(&t, NULL, purger, NULL);
  int stuck = 0;
  for (int i = 0; i < forks; i++) {
    usleep(500);
    pid_t pid = fork();
    if (pid == 0) {
      heap_churn(4 << 20);
      trim();
      trim(); /* the second: pages a first one raced with are gone too */
      /* A stuck arena keeps its pages through any number of purges; a few pages freed meanwhile
       * by another thread of the child (its own monitor starts after the fork) go with the next
       * one. Under load that race left 8 pages in 1 child of 1000: purge again before judging. */
      size_t left = unused_pages();
      for (int k = 0; left && k < 20; k++) {
        usleep(1000);
        trim();
        left = unused_pages();
      }
      if (left) fprintf(stderr, "child %d: %zu unused pages no purge returns\n", i, left);
      _exit(left ? 1 : 0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
      fprintf(stderr, "child %d did not exit (status %d)\n", i, status);
      return 1;
    }
    if (WEXITSTATUS(status)) stuck++;
  }
  stop = 1;
  pthread_join(t, NULL);
  printf("forks=%d stuck=%d trims=%llu\n", forks, stuck, (unsigned long long)trims);
  return stuck ? 1 : 0;
}
