/* A threaded parent forks while its other threads are inside libunwind: under exact profiling
 * every allocation takes a backtrace, and short-lived threads make libunwind set up (and free)
 * its per-thread caches, so at a fork some thread nearly always holds one of libunwind's own
 * locks. Each child allocates (a backtrace each), starts a thread that does the same, and exits.
 * A child that has not ended after 30 s is hung (a lock held for good at the fork): its tasks'
 * syscalls are printed, it is killed and counted.
 * Arguments: FORKS. Prints "forks=N hung=H" and exits 0 when H is 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trust_util.h"

#define WORKERS 3
#define CHILD_DEADLINE_MS 30000

static volatile int stop;

/* Nested calls so that each backtrace has frames to read. */
static __attribute__((noinline)) void *alloc3(size_t n) { return malloc(n); }
static __attribute__((noinline)) void *alloc2(size_t n) { return alloc3(n + 1); }
static __attribute__((noinline)) void *alloc1(size_t n) { return alloc2(n + 1); }

static void *churn_once(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) free(alloc1((size_t)(16 + i)));
  return NULL;
}

/* Threads that come and go, each allocating: libunwind makes and frees a cache per thread. */
static void *worker(void *arg) {
  (void)arg;
  while (!stop) {
    pthread_t t;
    if (pthread_create(&t, NULL, churn_once, NULL) != 0) continue;
    pthread_join(t, NULL);
  }
  return NULL;
}

static void print_syscalls(pid_t pid) {
  char path[96], buf[256];
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  fprintf(stderr, "child %d hung; syscall: %s", (int)pid, buf);
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 100;
  pthread_t w[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    if (pthread_create(&w[i], NULL, worker, NULL) != 0) trust_fail("pthread_create");
  int hung = 0;
  for (int i = 0; i < forks; i++) {
    free(alloc1(64));
    pid_t pid = fork();
    if (pid < 0) trust_fail("fork: %s", strerror(errno));
    if (pid == 0) {
      churn_once(NULL);
      pthread_t t;
      if (pthread_create(&t, NULL, churn_once, NULL) == 0) pthread_join(t, NULL);
      _exit(0);
    }
    uint64_t start = trust_now_ms();
    int status = 0, killed = 0;
    for (;;) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (trust_now_ms() - start > CHILD_DEADLINE_MS) {
        print_syscalls(pid);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        hung++;
        killed = 1;
        break;
      }
      trust_sleep_ms(2);
    }
    if (WIFSIGNALED(status) && !killed) trust_fail("child %d (fork %d) died of signal %d", (int)pid, i, WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) trust_fail("child %d exited %d", (int)pid, WEXITSTATUS(status));
  }
  stop = 1;
  for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
  printf("forks=%d hung=%d\n", forks, hung);
  return hung ? 1 : 0;
}
