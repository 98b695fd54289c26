/* A stand-in for HF tokenizers' parallel encode (seed 000): a pool of threads (rayon's, in
 * tokenizers) encodes each batch of long texts; every text becomes buffers of varied sizes (ids,
 * offsets, masks, word pieces), a few of which outlive the batch in a bounded cache, the rest are
 * freed when the batch ends. HF tokenizers cannot be installed where memshim is tested; this
 * reproduces the allocation pattern, not tokenizers itself.
 *
 * Build: cc -O2 -pthread -o tokenizer_pool examples/workloads/tokenizer_pool.c
 * Run:   tokenizer_pool [threads=8] [batches=100] [settle_seconds=1.5]
 * The pool threads stay for the whole run (as rayon's do) and the cache stays with them.
 * Prints RSS every 10 batches, at the end of the work, and after an idle pause. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXTS_PER_THREAD 8   /* per batch */
#define PIECES_PER_TEXT 48   /* buffers per encoded text */
#define CACHE_SLOTS 256      /* per thread, across batches */

static double rss_mb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, size;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &pages) != 2) pages = 0;
    fclose(f);
  }
  return (double)pages * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

typedef struct {
  uint64_t rng;
  void *cache[CACHE_SLOTS];
} worker;

static uint64_t next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static pthread_barrier_t batch_start, batch_done;
static int batches_total;

static void encode_batch(worker *w) {
  void *pieces[TEXTS_PER_THREAD * PIECES_PER_TEXT];
  size_t n = 0;
  for (int t = 0; t < TEXTS_PER_THREAD; t++) {
    for (int p = 0; p < PIECES_PER_TEXT; p++) {
      /* 64 B .. 96 KiB, skewed to small: token strings, offset pairs, id and mask arrays */
      size_t size = 64u << (next(&w->rng) % 11);
      size += next(&w->rng) % size;
      char *b = malloc(size);
      memset(b, (int)p, size);
      pieces[n++] = b;
    }
  }
  /* One piece in 64 outlives the batch in the bounded cache; everything else is freed. */
  for (size_t i = 0; i < n; i++) {
    if (next(&w->rng) % 64 == 0) {
      size_t slot = next(&w->rng) % CACHE_SLOTS;
      free(w->cache[slot]);
      w->cache[slot] = pieces[i];
    } else {
      free(pieces[i]);
    }
  }
}

/* A pool thread lives for the whole run, as rayon's do: it encodes its share of every batch. */
static void *pool_thread(void *arg) {
  for (int b = 0; b < batches_total; b++) {
    pthread_barrier_wait(&batch_start);
    encode_batch(arg);
    pthread_barrier_wait(&batch_done);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 8;
  int batches = argc > 2 ? atoi(argv[2]) : 100;
  double settle = argc > 3 ? atof(argv[3]) : 1.5;
  if (threads < 1 || threads > 64) threads = 8;
  worker *w = calloc((size_t)threads, sizeof *w);
  for (int i = 0; i < threads; i++) w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
  batches_total = batches;
  pthread_barrier_init(&batch_start, NULL, (unsigned)threads + 1);
  pthread_barrier_init(&batch_done, NULL, (unsigned)threads + 1);
  pthread_t tid[64];
  for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, pool_thread, &w[i]);
  double peak = 0;
  printf("rss every 10 batches (MB):");
  for (int b = 0; b < batches; b++) {
    pthread_barrier_wait(&batch_start);
    pthread_barrier_wait(&batch_done);
    double r = rss_mb();
    if (r > peak) peak = r;
    if ((b + 1) % 10 == 0) printf(" %.1f", r);
  }
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  double busy = rss_mb();
  usleep((useconds_t)(settle * 1e6));
  printf("\npeak %.1f MB, end of work %.1f MB, after %.1f s idle %.1f MB\n", peak, busy, settle, rss_mb());
  return 0;
}
