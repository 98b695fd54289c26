/* The file-mapping cap's look (policy/mmap_cap.c): when a look drops every droppable page at once,
 * measures and drops, or does nothing, and when the next look comes (fast while pages come in,
 * before the room left could be used up at the fastest growth seen, backing off to 100 ms while
 * nothing grows). Figures in, decisions out: no pages, no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy_internal.h"
#include "util/guard.h"

MS_TLS int ms_tls_guard; /* normally in backend/accounting.c */

#define KB (1ull << 10)
#define MB (1ull << 20)
#define GB (1ull << 30)

static void test_decide(void **state) {
  (void)state;
  uint64_t cap = 64 * MB;
  /* slow growth: measure at the cap, or when the periodic full measure is due */
  assert_int_equal(ms_mmap_cap_decide(0, 63 * MB, cap, false), MS_MMAP_NONE);
  assert_int_equal(ms_mmap_cap_decide(0, 64 * MB, cap, false), MS_MMAP_MEASURE);
  assert_int_equal(ms_mmap_cap_decide(0, 900 * MB, cap, false), MS_MMAP_MEASURE);
  assert_int_equal(ms_mmap_cap_decide(0, 0, cap, true), MS_MMAP_MEASURE);
  /* just below the fast rate: no early drop, even next to the cap */
  assert_int_equal(ms_mmap_cap_decide(256 * KB - 1, 64 * MB - 1, cap, false), MS_MMAP_NONE);
  assert_int_equal(ms_mmap_cap_decide(256 * KB - 1, 64 * MB, cap, false), MS_MMAP_MEASURE);
  /* a fast scan (256 KiB/ms): everything goes 6 ms of its growth (1.5 MiB) before the cap */
  assert_int_equal(ms_mmap_cap_decide(256 * KB, 62 * MB, cap, false), MS_MMAP_NONE);
  assert_int_equal(ms_mmap_cap_decide(256 * KB, 62 * MB + 512 * KB, cap, false), MS_MMAP_DROP_ALL);
  assert_int_equal(ms_mmap_cap_decide(256 * KB, 80 * MB, cap, true), MS_MMAP_DROP_ALL); /* before a measure */
  /* the lead is half the cap at most: a very fast scan still gets half the cap */
  assert_int_equal(ms_mmap_cap_decide(100 * MB, 32 * MB - 1, cap, false), MS_MMAP_NONE);
  assert_int_equal(ms_mmap_cap_decide(100 * MB, 32 * MB, cap, false), MS_MMAP_DROP_ALL);
}

static void test_next_look(void **state) {
  (void)state;
  uint64_t cap = 64 * MB, rate = 0, idle = 0;
  /* pages came in: look again at once, whatever the estimate */
  assert_int_equal(ms_mmap_next_look(&rate, &idle, true, 0, cap), 1);
  assert_int_equal(idle, 0);
  /* quiet: before the room (cap + 48 MiB slack - estimate) is used at 8 MiB/ms at least: 112/8 */
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 14);
  /* still quiet: the delay doubles, up to 100 ms */
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 28);
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 56);
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 100);
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 100);
  /* growth again: back to 1 ms, and the back-off starts over from the room left */
  assert_int_equal(ms_mmap_next_look(&rate, &idle, true, 100 * MB, cap), 1);
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 100 * MB, cap), 1); /* 12 MiB of room */
  /* much room: 20 ms at most; past cap + slack: 1 ms */
  idle = 0;
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, 4 * GB), 20);
  idle = 0;
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 200 * MB, cap), 1);
}

static void test_rate_fades(void **state) {
  (void)state;
  uint64_t cap = 64 * MB, rate = 100 * MB, idle = 0;
  /* the fastest growth seen plans the next look, and fades by a quarter per quiet look */
  assert_int_equal(ms_mmap_next_look(&rate, &idle, true, 0, cap), 1);
  assert_true(rate == 100 * MB); /* not while growing */
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 1); /* 112 MiB / 75 MiB per ms */
  assert_true(rate == 75 * MB);
  rate = 16 * MB;
  idle = 0;
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 9); /* 112 / 12 */
  assert_true(rate == 12 * MB);
  /* below the floor the floor counts */
  rate = 4 * MB;
  idle = 0;
  assert_int_equal(ms_mmap_next_look(&rate, &idle, false, 0, cap), 14);
  assert_true(rate == 3 * MB);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_decide),
    cmocka_unit_test(test_next_look),
    cmocka_unit_test(test_rate_fades),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
