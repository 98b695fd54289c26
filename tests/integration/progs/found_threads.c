/* 8 threads x 10^6 mixed allocation operations (malloc, calloc, realloc, posix_memalign,
 * aligned_alloc, free) on private slot tables, sizes from 1 byte to 64 KiB, plus blocks
 * handed between threads (freed by a thread that did not allocate them). memshim's counters
 * (dlsym) must see every call and balance to zero: heap.live at the end equals heap.live at
 * the start, and allocation calls minus free calls moved by exactly 0. With jemalloc the calls
 * are its request statistics, which count blocks: a realloc that keeps its block and its size
 * class is neither an allocation nor a free there, and each thread's cache is one more block
 * jemalloc allocates for itself and frees when the thread ends (the glibc backend counts every
 * call, and only the program's).
 * Usage: found_threads [threads] [ops per thread]. Exit 1 on a failed check. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512

static int (*stat_fn)(const char *, uint64_t *);
static long ops_per_thread = 1000000;
static int nthreads = 8;
static pthread_barrier_t held;    /* every thread holds its blocks */
static pthread_barrier_t counted; /* the main thread has read the counters */

/* Blocks passed from thread i to thread i+1 (freed remotely). */
#define HANDOFF 64
/* The glibc backend counts every realloc; jemalloc's statistics only one that moved or
 * resized its block (see above). */
static int counts_every_realloc;

typedef struct {
  pthread_mutex_t lock;
  void *blocks[HANDOFF];
  int n;
} handoff_t;
static handoff_t *handoffs;

typedef struct {
  int id;
  uint64_t allocs, frees; /* calls this thread made, as memshim should count them */
  uint64_t held_bytes;    /* bytes held at the barrier (requested sizes) */
  int bad;
} worker_t;

static uint64_t stat_of(const char *name) {
  uint64_t v = 0;
  if (stat_fn) stat_fn(name, &v);
  return v;
}

static inline uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static size_t pick_size(uint64_t r) {
  unsigned k = (unsigned)(r >> 40) % 100;
  if (k < 70) return 1 + (r >> 8) % 128;    /* small */
  if (k < 95) return 129 + (r >> 8) % 4096; /* medium */
  return 4096 + (r >> 8) % 65536;           /* large */
}

static void *worker(void *arg) {
  worker_t *w = arg;
  uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
  void *slot[SLOTS] = {0};
  size_t size[SLOTS] = {0};
  handoff_t *out = &handoffs[(w->id + 1) % nthreads], *in = &handoffs[w->id];
  for (long i = 0; i < ops_per_thread; i++) {
    uint64_t r = next_rand(&seed);
    unsigned s = (unsigned)(r % SLOTS);
    unsigned op = (unsigned)(r >> 32) % 16;
    if (!slot[s]) {
      size_t n = pick_size(r);
      void *p = NULL;
      if (op < 9) p = malloc(n);
      else if (op < 12) p = calloc(1, n);
      else if (op < 14) { if (posix_memalign(&p, 64, n) != 0) p = NULL; }
      else p = aligned_alloc(256, n);
      if (!p) { w->bad++; continue; }
      w->allocs++;
      memset(p, w->id, n < 64 ? n : 64);
      slot[s] = p;
      size[s] = n;
    } else if (op < 6) {
      size_t n = pick_size(r);
      void *old = slot[s];
      size_t usable = malloc_usable_size(old);
      void *q = realloc(old, n);
      if (!q) { w->bad++; continue; }
      if (counts_every_realloc || q != old || malloc_usable_size(q) != usable) {
        w->allocs++;
        w->frees++;
      }
      slot[s] = q;
      size[s] = n;
    } else if (op < 8) {
      /* hand the block to the next thread, which frees it */
      pthread_mutex_lock(&out->lock);
      if (out->n < HANDOFF) { out->blocks[out->n++] = slot[s]; slot[s] = NULL; }
      pthread_mutex_unlock(&out->lock);
    } else {
      if (((unsigned char *)slot[s])[0] != (unsigned char)w->id) w->bad++;
      free(slot[s]);
      w->frees++;
      slot[s] = NULL;
    }
    if ((i & 1023) == 0) {
      pthread_mutex_lock(&in->lock);
      for (int k = 0; k < in->n; k++) { free(in->blocks[k]); w->frees++; }
      in->n = 0;
      pthread_mutex_unlock(&in->lock);
    }
  }
  for (unsigned s = 0; s < SLOTS; s++)
    if (slot[s]) w->held_bytes += size[s];
  pthread_barrier_wait(&held);
  pthread_barrier_wait(&counted);
  for (unsigned s = 0; s < SLOTS; s++)
    if (slot[s]) { free(slot[s]); w->frees++; }
  return NULL;
}

static void *idle(void *arg) { return arg; }

int main(int argc, char **argv) {
  if (argc > 1) nthreads = atoi(argv[1]);
  if (argc > 2) ops_per_thread = atol(argv[2]);
  stat_fn = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "memshim_stat");
  if (!stat_fn) { fprintf(stderr, "found_threads: memshim is not loaded\n"); return 2; }
  const char *(*backend)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "memshim_backend");
  counts_every_realloc = backend && strcmp(backend(), "glibc") == 0;

  handoffs = calloc((size_t)nthreads, sizeof *handoffs);
  worker_t *w = calloc((size_t)nthreads, sizeof *w);
  pthread_t *tid = calloc((size_t)nthreads, sizeof *tid);
  for (int i = 0; i < nthreads; i++) pthread_mutex_init(&handoffs[i].lock, NULL);
  pthread_barrier_init(&held, NULL, (unsigned)nthreads + 1);
  pthread_barrier_init(&counted, NULL, (unsigned)nthreads + 1);

  /* glibc keeps a small malloc'ed block (the TLS vector) with each cached thread stack:
   * create and join the same number of threads once first, so that the measured run reuses
   * them and the window holds only the program's own calls. Small stacks, so that all of
   * them fit in glibc's 40 MiB stack cache. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1u << 20);
  for (int i = 0; i < nthreads; i++) pthread_create(&tid[i], &attr, idle, NULL);
  for (int i = 0; i < nthreads; i++) pthread_join(tid[i], NULL);
  uint64_t live0 = stat_of("heap.live"), a0 = stat_of("calls.alloc"), f0 = stat_of("calls.free");
  for (int i = 0; i < nthreads; i++) {
    w[i].id = i;
    pthread_create(&tid[i], &attr, worker, &w[i]);
  }
  pthread_barrier_wait(&held);
  uint64_t live_mid = stat_of("heap.live"), threads_mid = stat_of("threads");
  uint64_t held_bytes = 0;
  for (int i = 0; i < nthreads; i++) held_bytes += w[i].held_bytes;
  pthread_barrier_wait(&counted);
  for (int i = 0; i < nthreads; i++) pthread_join(tid[i], NULL);
  /* Blocks still in hand-off queues. */
  uint64_t extra_frees = 0;
  for (int i = 0; i < nthreads; i++)
    for (int k = 0; k < handoffs[i].n; k++) { free(handoffs[i].blocks[k]); extra_frees++; }
  uint64_t live1 = stat_of("heap.live"), a1 = stat_of("calls.alloc"), f1 = stat_of("calls.free");

  uint64_t allocs = 0, frees = extra_frees;
  int bad = 0;
  for (int i = 0; i < nthreads; i++) { allocs += w[i].allocs; frees += w[i].frees; bad += w[i].bad; }
  /* jemalloc: the measured threads' caches (one block each, freed at the thread's end). */
  uint64_t own = counts_every_realloc ? 0 : (uint64_t)nthreads;
  int fail = 0;
  printf("found_threads: %d threads x %ld ops: %llu allocs, %llu frees by the program\n", nthreads,
         ops_per_thread, (unsigned long long)allocs, (unsigned long long)frees);
  printf("found_threads: memshim: calls.alloc +%llu, calls.free +%llu, heap.live %llu -> %llu (mid %llu, "
         "program held %llu in %llu threads)\n",
         (unsigned long long)(a1 - a0), (unsigned long long)(f1 - f0), (unsigned long long)live0,
         (unsigned long long)live1, (unsigned long long)live_mid, (unsigned long long)held_bytes,
         (unsigned long long)threads_mid);
  if (bad) { fprintf(stderr, "found_threads: %d failed allocations or corrupted blocks\n", bad); fail = 1; }
  if (allocs != frees) { fprintf(stderr, "found_threads: program bookkeeping is off\n"); fail = 1; }
  if (a1 - a0 != allocs + own) { fprintf(stderr, "found_threads: calls.alloc moved by %llu, program made %llu (+%llu thread caches)\n", (unsigned long long)(a1 - a0), (unsigned long long)allocs, (unsigned long long)own); fail = 1; }
  if (f1 - f0 != frees + own) { fprintf(stderr, "found_threads: calls.free moved by %llu, program made %llu (+%llu thread caches)\n", (unsigned long long)(f1 - f0), (unsigned long long)frees, (unsigned long long)own); fail = 1; }
  if ((a1 - a0) - (f1 - f0) != 0) { fprintf(stderr, "found_threads: alloc and free calls do not balance\n"); fail = 1; }
  /* jemalloc's per-thread byte totals are exact. glibc's mallinfo2 is not (blocks parked in
   * arenas' caches count as used), so the glibc backend gets a small tolerance. */
  uint64_t slack = counts_every_realloc ? (256u << 10) : 0; /* the glibc backend */
  if (live1 > live0 + slack || live0 > live1 + slack) { fprintf(stderr, "found_threads: heap.live does not balance: %llu -> %llu\n", (unsigned long long)live0, (unsigned long long)live1); fail = 1; }
  if (live_mid < live0 + held_bytes) { fprintf(stderr, "found_threads: heap.live mid-run %llu below what the program held\n", (unsigned long long)live_mid); fail = 1; }
  if (threads_mid < (uint64_t)nthreads) { fprintf(stderr, "found_threads: only %llu threads registered\n", (unsigned long long)threads_mid); fail = 1; }
  free(handoffs);
  free(w);
  free(tid);
  return fail;
}
