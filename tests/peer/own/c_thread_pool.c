/* Own clean program: a pthread pool of 4 workers taking malloc'd jobs from a bounded queue; each
 * worker allocates a scratch buffer per job and frees it and the job. Argument: seconds to run
 * (default 2.5). Clean. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { WORKERS = 4, QCAP = 64 };

struct job { long id; char data[200]; };

static struct job *queue[QCAP];
static int qhead, qlen, stopping;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (!qlen && !stopping) pthread_cond_wait(&not_empty, &mu);
    if (!qlen && stopping) { pthread_mutex_unlock(&mu); return NULL; }
    struct job *j = queue[qhead];
    qhead = (qhead + 1) % QCAP;
    qlen--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&mu);
    char *scratch = malloc(4096 + (size_t)(j->id % 5) * 1024);
    memcpy(scratch, j->data, sizeof j->data);
    free(scratch);
    free(j);
  }
}

int main(int argc, char **argv) {
  double end = now() + (argc > 1 ? atof(argv[1]) : 2.5);
  pthread_t t[WORKERS];
  for (int i = 0; i < WORKERS; i++) pthread_create(&t[i], NULL, worker, NULL);
  long n = 0;
  while (now() < end) {
    for (int k = 0; k < 16; k++, n++) {
      struct job *j = malloc(sizeof *j);
      j->id = n;
      memset(j->data, (int)(n & 0xff), sizeof j->data);
      pthread_mutex_lock(&mu);
      while (qlen == QCAP) pthread_cond_wait(&not_full, &mu);
      queue[(qhead + qlen) % QCAP] = j;
      qlen++;
      pthread_cond_signal(&not_empty);
      pthread_mutex_unlock(&mu);
    }
    usleep(1000);
  }
  pthread_mutex_lock(&mu);
  stopping = 1;
  pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
  printf("jobs %ld\n", n);
  return 0;
}
