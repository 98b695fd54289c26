/* main calls pthread_exit while a worker runs, with memshim's thread present (proven first).
 *   trust_exit_main WORKER_MS   the worker sleeps WORKER_MS and returns: the process must end
 *                               with status 0 (glibc's exit(0) after the last thread)
 *   trust_exit_main 0           the worker sleeps until a signal ends the process
 * Prints its pid, then "worker-end-ms N" (CLOCK_REALTIME) as the worker leaves, so the caller
 * can measure how long the process outlives its last thread. */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include "trust_util.h"

static unsigned worker_ms;

static void *worker(void *arg) {
  (void)arg;
  if (!worker_ms) {
    for (;;) pause(); /* ended only by a signal to the process */
  }
  trust_sleep_ms(worker_ms);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  printf("worker-end-ms %llu\n", (unsigned long long)tv.tv_sec * 1000ull + (unsigned long long)tv.tv_usec / 1000);
  fflush(stdout);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) trust_fail("usage: trust_exit_main WORKER_MS");
  worker_ms = (unsigned)atoi(argv[1]);
  printf("pid %d\n", (int)getpid());
  trust_monitor_up(1, "monitor thread before pthread_exit");
  printf("threads before pthread_exit: %d (main + memshim's)\n", trust_threads());
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) trust_fail("pthread_create");
  printf("main: pthread_exit\n");
  fflush(stdout);
  pthread_exit(NULL);
}
