/* interpose/track.h on its own: the hot path's two decisions. The allocation countdown (an
 * inline-assembly read-modify-write on x86-64) sends a call to the slow path exactly when the
 * countdown minus the size is at or below zero, as the C expression it replaces did, across the
 * signed boundaries; the free path leaves the fast path for the freed-bytes mark, and under
 * profiling (free_mark 0, the policy's mark in heap_mark) only for a pointer the counting
 * filter may hold or the heap mark reached. The symbols track.h reads are
 * defined here, so no other source is linked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "interpose/track.h"

MS_TLS ms_thread ms_tls_thread;
bool ms_profile_active;
uint16_t ms_ptr_filter[1u << MS_FILTER_BITS];
ms_backend ms_be;
void *ms_alloc_slow(void *p, uint64_t size) { (void)size; return p; }
void ms_free_slow(void) {}
static int free_maybe_calls;
void ms_profile_free_maybe(void *p) { (void)p; free_maybe_calls++; }

/* The decision as the portable C expression computes it. */
static int reference_due(int64_t countdown, size_t size, int64_t *after) {
  *after = (int64_t)((uint64_t)countdown - (uint64_t)(int64_t)size);
  return *after <= 0;
}

static void test_alloc_countdown(void **state) {
  (void)state;
  static const int64_t counts[] = {0, 1, 2, 100, 4096, (int64_t)1 << 20, INT64_MAX / 2, -1, -100};
  static const size_t sizes[] = {0, 1, 2, 99, 100, 101, 4096, (size_t)1 << 20, ((size_t)1 << 20) + 1,
                                 (size_t)1 << 40};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
      int64_t want_after;
      int want = reference_due(counts[i], sizes[j], &want_after);
      ms_tls_thread.sample_countdown = counts[i];
      int got = ms_track_alloc_begin(sizes[j]);
      assert_int_equal(!!got, want);
      assert_true(ms_tls_thread.sample_countdown == want_after);
      assert_true(ms_tls_thread.alloc_calls == 0); /* calls are the backend's to count */
    }
  }
  /* a new thread's countdown is 0: even malloc(0) goes to the slow path (exact mode) */
  ms_tls_thread.sample_countdown = 0;
  assert_true(ms_track_alloc_begin(0));
}

static void test_free_decision(void **state) {
  (void)state;
  static uint64_t freed;
  char block[256];
  void *p = block + 128;
  ms_tls_thread.freed_p = &freed;
  ms_tls_thread.free_mark = 1000;
  ms_tls_thread.heap_mark = 0;
  freed = 10;
  ms_profile_active = false;
  assert_false(ms_track_free_begin(p));
  assert_true(ms_tls_thread.free_calls == 0);
  freed = 999;
  assert_false(ms_track_free_begin(p));
  freed = 1000; /* the mark reached: the heap policy's look */
  assert_true(ms_track_free_begin(p));
  assert_true(ms_track_free_mark_passed(&ms_tls_thread));
  freed = 10;
  /* a filter slot set without profiling: never read */
  ms_ptr_filter[ms_ptr_filter_slot((uintptr_t)p)] = 1;
  assert_false(ms_track_free_begin(p));
  /* a thread not bound yet (freed 0, mark 0) looks once, to get its mark */
  freed = 0;
  ms_tls_thread.free_mark = 0;
  assert_true(ms_track_free_begin(p));
  /* profiling: free_mark stays 0, the policy's mark is heap_mark; only a pointer the filter
   * may hold, or the heap mark reached, leaves the fast path */
  ms_profile_active = true;
  ms_tls_thread.heap_mark = 1000;
  freed = 10;
  assert_true(ms_track_free_begin(p));
  assert_false(ms_track_free_mark_passed(&ms_tls_thread));
  free_maybe_calls = 0;
  ms_track_free(p);
  assert_int_equal(free_maybe_calls, 1);
  ms_ptr_filter[ms_ptr_filter_slot((uintptr_t)p)] = 0;
  assert_false(ms_track_free_begin(p));
  ms_track_free(p);
  assert_int_equal(free_maybe_calls, 1);
  freed = 1000;
  assert_true(ms_track_free_begin(p));
  assert_true(ms_track_free_mark_passed(&ms_tls_thread));
  ms_profile_active = false;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alloc_countdown),
    cmocka_unit_test(test_free_decision),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
