/* A forked worker pool: the parent forks W workers (default 3), each runs for S seconds
 * (default 1.5) handling "requests"; with leak=1 each request leaks in worker_leak().
 * Args: leak (0/1), workers, seconds. Workers end with exit(), the parent waits for them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void worker_leak(void) {
  void *p = malloc(32768);
  memset(p, 9, 64);
  sink = p; /* never freed */
}

static __attribute__((noinline)) void handle_request(int leak, unsigned i) {
  void *tmp = malloc(100 + i % 5000);
  sink = tmp;
  free(tmp);
  if (leak && i % 4 == 0) worker_leak();
}

int main(int argc, char **argv) {
  int leak = argc > 1 ? atoi(argv[1]) : 1;
  int workers = argc > 2 ? atoi(argv[2]) : 3;
  double secs = argc > 3 ? atof(argv[3]) : 1.5;
  void *parent_state = malloc(1 << 20); /* inherited by workers */
  sink = parent_state;
  for (int w = 0; w < workers; w++) {
    pid_t pid = fork();
    if (pid == 0) {
      double t0 = now_s();
      unsigned i = 0;
      while (now_s() - t0 < secs) {
        handle_request(leak, i++);
        usleep(1000);
      }
      exit(0);
    }
  }
  int failed = 0, st;
  while (wait(&st) > 0)
    if (!WIFEXITED(st) || WEXITSTATUS(st)) failed++;
  free(parent_state);
  printf("workers done, %d failed\n", failed);
  return failed ? 1 : 0;
}
