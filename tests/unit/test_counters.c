/* Per-thread counters merged on read, with the library linked into this process so that
 * malloc/free here are memshim's. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memshim.h"

static memshim_stats_t snap(void) {
  memshim_stats_t s;
  assert_int_equal(memshim_stats(&s, sizeof s), 0);
  return s;
}

static void test_single_thread(void **state) {
  (void)state;
  memshim_stats_t a = snap();
  void *volatile p = malloc(100000);
  assert_non_null(p);
  memshim_stats_t b = snap();
  assert_true(b.alloc_calls >= a.alloc_calls + 1);
  assert_true(b.heap_live >= a.heap_live + 100000);
  free(p);
  memshim_stats_t c = snap();
  assert_true(c.free_calls >= b.free_calls + 1);
  assert_true(c.heap_live + 100000 <= b.heap_live);
  assert_true(c.heap_peak >= b.heap_live);
}

#define THREADS 4
#define OPS 200000
static void *churn(void *arg) {
  void *slots[64] = {0};
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (int i = 0; i < OPS; i++) {
    unsigned r = rand_r(&seed);
    unsigned k = r % 64;
    if (slots[k]) { free(slots[k]); slots[k] = NULL; }
    else slots[k] = malloc(1 + (r >> 8) % 4096);
  }
  for (int k = 0; k < 64; k++) free(slots[k]);
  return NULL;
}

/* Threads that allocate and end: their counters are folded, totals balance. */
static void test_threads_balance(void **state) {
  (void)state;
  memshim_stats_t a = snap();
  pthread_t th[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, churn, (void *)(i + 1));
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  memshim_stats_t b = snap();
  uint64_t allocs = b.alloc_calls - a.alloc_calls, frees = b.free_calls - a.free_calls;
  assert_true(allocs >= (uint64_t)THREADS * OPS / 2);
  /* every thread freed what it allocated: within the few allocations pthread itself makes */
  assert_true(allocs - frees < 64);
  int64_t drift = (int64_t)b.heap_live - (int64_t)a.heap_live;
  assert_true(drift < 64 * 1024 && drift > -64 * 1024);
  assert_true(b.threads == a.threads);
}

static void test_stat_by_name(void **state) {
  (void)state;
  uint64_t v = 0;
  assert_int_equal(memshim_stat("heap.live", &v), 0);
  assert_true(v > 0);
  assert_int_equal(memshim_stat("no.such.stat", &v), -1);
  assert_int_equal(memshim_stat(NULL, &v), -1);
  assert_int_equal(memshim_stats(NULL, 8), -1);
  assert_string_equal(memshim_version(), MEMSHIM_VERSION_STRING);
  assert_string_equal(memshim_backend(), "jemalloc");
  /* a caller with an older, shorter struct gets only what it knows */
  uint64_t small[2] = {0, 0xdeadbeef};
  assert_int_equal(memshim_stats((memshim_stats_t *)small, sizeof small[0]), 0);
  assert_true(small[1] == 0xdeadbeef);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_single_thread),
    cmocka_unit_test(test_threads_balance),
    cmocka_unit_test(test_stat_by_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
