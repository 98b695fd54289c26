/* Scenario of LLVM lsan TestCases/high_allocator_contention.cpp: THREADS threads released at
 * once run malloc(10)/free pairs, TOTAL pairs in all. Arguments: THREADS TOTAL. Clean. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int nthreads, total;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;

static void *thread_fun(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!go) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < total / nthreads; i++) {
    void *p = malloc(10);
    __asm__ volatile("" : : "r"(p) : "memory");
    free(p);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  nthreads = atoi(argv[1]);
  total = atoi(argv[2]);
  if (nthreads < 1 || nthreads > 5000 || total < 1) return 2;
  printf("%d threads, %d allocations in each\n", nthreads, total / nthreads);
  pthread_t *t = malloc(sizeof *t * (size_t)nthreads);
  for (int i = 0; i < nthreads; i++) pthread_create(&t[i], 0, thread_fun, 0);
  pthread_mutex_lock(&mu);
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], 0);
  free(t);
  return 0;
}
