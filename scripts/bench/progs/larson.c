/* Larson-like producer/consumer: each of T threads allocates blocks of 16..1024 bytes into
 * its own window and, every step, replaces one block; one in eight new blocks goes to the
 * next thread's window, so frees often hit memory another thread allocated (remote frees).
 * Usage: larson [threads] [steps per thread] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { WINDOW = 2048 };
typedef struct {
  pthread_mutex_t lock;
  void *slot[WINDOW];
} window_t;

static int nthreads = 4;
static long steps = 500000;
static window_t *win;

static void *worker(void *arg) {
  long id = (long)arg;
  uint64_t x = 0x2545F4914F6CDD1Dull * (uint64_t)(id + 1);
  window_t *mine = &win[id], *next = &win[(id + 1) % nthreads];
  for (long i = 0; i < steps; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t n = 16 + (x >> 24) % 1009;
    char *p = malloc(n);
    p[0] = 1;
    window_t *w = (x & 7) == 0 ? next : mine;
    unsigned s = (unsigned)(x % WINDOW);
    pthread_mutex_lock(&w->lock);
    void *old = w->slot[s];
    w->slot[s] = p;
    pthread_mutex_unlock(&w->lock);
    free(old);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) nthreads = atoi(argv[1]);
  if (argc > 2) steps = atol(argv[2]);
  win = calloc((size_t)nthreads, sizeof *win);
  for (int i = 0; i < nthreads; i++) pthread_mutex_init(&win[i].lock, NULL);
  pthread_t *t = malloc(sizeof *t * (size_t)nthreads);
  for (long i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < nthreads; i++)
    for (int s = 0; s < WINDOW; s++) free(win[i].slot[s]);
  printf("larson %d x %ld\n", nthreads, steps);
  free(t);
  free(win);
  return 0;
}
