/* Scenario of LLVM lsan TestCases/many_tls_keys_pthread.cpp: ten threads fill every pthread key
 * they can with a malloc'd block and stay alive (blocked) until exit. Clean (reachable from the
 * threads' TSD). */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

enum { NTHREADS = 10 };
static pthread_key_t keys[PTHREAD_KEYS_MAX];
static int nkeys;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int finished;

static void never_called(void *arg) { (void)arg; abort(); }

static void *thread_start(void *arg) {
  (void)arg;
  for (int i = 0; i < nkeys; i++) {
    void *p = malloc(123);
    if (pthread_setspecific(keys[i], p)) { free(p); break; }
  }
  pthread_mutex_lock(&mu);
  finished++;
  pthread_mutex_unlock(&mu);
  for (;;) sleep(100);
}

int main(void) {
  while (nkeys < PTHREAD_KEYS_MAX && pthread_key_create(&keys[nkeys], never_called) == 0) nkeys++;
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    if (pthread_create(&t[i], 0, thread_start, 0)) return 2;
  for (;;) {
    pthread_mutex_lock(&mu);
    int done = finished;
    pthread_mutex_unlock(&mu);
    if (done == NTHREADS) break;
    usleep(10000);
  }
  exit(0);
}
