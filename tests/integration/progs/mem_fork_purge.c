/* fork while purges run: a thread churns the heap and calls memshim_trim in a loop, the monitor
 * purges every millisecond (the test's settings), and the main thread forks again and again.
 * Each child churns too and must see the monitor purge in it (the thread restarted), then exits
 * (half through exit(), which stops and joins the child's monitor). Any deadlock trips alarm().
 * Exit 0 when every child reported success. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap_churn.h"

static int (*ms_stat)(const char *, uint64_t *);
static uint64_t (*ms_trim)(void);
static volatile int stop;

static uint64_t purges(void) {
  uint64_t v = 0;
  ms_stat("purge.count", &v);
  return v;
}

static void *purger(void *arg) {
  (void)arg;
  while (!stop) {
    heap_churn(4 << 20);
    ms_trim();
  }
  return NULL;
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 100;
  ms_stat = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "memshim_stat");
  ms_trim = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "memshim_trim");
  if (!ms_stat || !ms_trim) {
    fprintf(stderr, "libmemshim.so is not preloaded\n");
    return 2;
  }
  alarm(100);
  pthread_t t;
  pthread_create(&t, NULL, purger, NULL);
  int failed = 0;
  for (int i = 0; i < forks; i++) {
    heap_churn(1 << 20);
    pid_t pid = fork();
    if (pid == 0) {
      alarm(20);
      uint64_t before = purges();
      /* Policy purges only (no memshim_trim here): they prove the child has a monitor. */
      for (int k = 0; k < 400 && purges() < before + 2; k++) {
        heap_churn(2 << 20);
        usleep(1000);
      }
      int ok = purges() >= before + 2;
      if (i % 2) exit(ok ? 0 : 1);
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d failed (status %d)\n", i, status);
      failed++;
    }
  }
  stop = 1;
  pthread_join(t, NULL);
  printf("forks=%d failed=%d purges=%llu\n", forks, failed, (unsigned long long)purges());
  return failed ? 1 : 0;
}
