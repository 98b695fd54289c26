/* The heap-return decision (policy/heap_decide.c) and the option rows it reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "config/options.h"
#include "policy/policy_internal.h"

#define MB (1ull << 20)

static ms_heap_decision look(const ms_heap_cfg *cfg, ms_heap_state *st, uint64_t now, uint64_t live,
                             uint64_t retained, uint64_t rss) {
  ms_heap_obs obs = {.now_ms = now, .live = live, .retained = retained, .rss = rss};
  return ms_heap_decide(cfg, st, &obs);
}

static void test_retained(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.retained_max = 64 * MB, .free_stays_counted = true}; /* glibc */
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 100 * MB);
  assert_int_equal(look(&cfg, &st, 200, 100 * MB, 63 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 400, 100 * MB, 64 * MB, 0).trigger, MS_TRIGGER_RETAINED);
  /* glibc: free chunks stay counted after malloc_trim. What a purge could not return is not
   * asked for again; only new growth past the floor is. */
  ms_heap_after_purge(&cfg, &st, 64 * MB, 60 * MB);
  assert_int_equal(look(&cfg, &st, 600, 100 * MB, 100 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 800, 100 * MB, 124 * MB, 0).trigger, MS_TRIGGER_RETAINED);
  ms_heap_after_purge(&cfg, &st, 124 * MB, 60 * MB);
  /* Reuse lowers the floor. */
  assert_int_equal(look(&cfg, &st, 1000, 100 * MB, 10 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 1200, 100 * MB, 74 * MB, 0).trigger, MS_TRIGGER_RETAINED);
  /* Off means off. */
  ms_heap_cfg off = {0};
  ms_heap_state_init(&st, 0, 100 * MB);
  assert_int_equal(look(&off, &st, 200, 100 * MB, 10000 * MB, 0).trigger, MS_TRIGGER_NONE);
}

static void test_unload(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.retained_max = 64 * MB};
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 700 * MB);
  /* A model unload over two looks (600 MB), then quiet: purge once, below retained_max. */
  assert_int_equal(look(&cfg, &st, 200, 400 * MB, 10 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 400, 100 * MB, 30 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 600, 100 * MB, 30 * MB, 0).trigger, MS_TRIGGER_UNLOAD);
  ms_heap_after_purge(&cfg, &st, 30 * MB, 0);
  assert_int_equal(look(&cfg, &st, 800, 100 * MB, 1 * MB, 0).trigger, MS_TRIGGER_NONE);
  /* Small frees never add up to an unload. */
  ms_heap_state_init(&st, 0, 100 * MB);
  for (uint64_t t = 200, live = 100 * MB; t < 2000; t += 200, live -= MB / 2)
    assert_int_equal(look(&cfg, &st, t, live, 30 * MB, 0).trigger, MS_TRIGGER_NONE);
}

/* Issue 22: looks come from the freeing threads (no thread of ours), and a program that goes
 * quiet after its unload gives no look after the last free: purge while live is still falling,
 * once the fall reaches retained_max, and again when it has stopped. */
static void test_unload_while_falling(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.retained_max = 64 * MB, .purge_while_falling = true};
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 700 * MB);
  /* 40 MB fell: not an unload yet. */
  assert_int_equal(look(&cfg, &st, 10, 660 * MB, 8 * MB, 0).trigger, MS_TRIGGER_NONE);
  /* 80 MB: an unload under way; purge now, on the freeing thread. */
  assert_int_equal(look(&cfg, &st, 20, 620 * MB, 8 * MB, 0).trigger, MS_TRIGGER_UNLOAD);
  ms_heap_after_purge(&cfg, &st, 8 * MB, 0);
  /* Still falling: each look with something to return purges again; nothing returnable, none. */
  assert_int_equal(look(&cfg, &st, 30, 600 * MB, 8 * MB, 0).trigger, MS_TRIGGER_UNLOAD);
  ms_heap_after_purge(&cfg, &st, 8 * MB, 0);
  assert_int_equal(look(&cfg, &st, 40, 590 * MB, 0, 0).trigger, MS_TRIGGER_NONE);
  /* Without the flag (a look on a clock), only once the fall stopped. */
  ms_heap_cfg clock = {.retained_max = 64 * MB};
  ms_heap_state_init(&st, 0, 700 * MB);
  assert_int_equal(look(&clock, &st, 10, 620 * MB, 8 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&clock, &st, 20, 620 * MB, 8 * MB, 0).trigger, MS_TRIGGER_UNLOAD);
}

/* Issue 13: a purge that ran while an unload was freeing (retained grew during the purge) must
 * not make the freed bytes part of the floor, or the unload's own purge is held back. */
static void test_unload_during_purge(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.retained_max = 64 * MB};
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 700 * MB);
  assert_int_equal(look(&cfg, &st, 200, 600 * MB, 70 * MB, 0).trigger, MS_TRIGGER_RETAINED);
  /* The purge returned what it saw; 300 MB freed meanwhile are counted after it. */
  ms_heap_after_purge(&cfg, &st, 70 * MB, 300 * MB);
  ms_heap_decision d = look(&cfg, &st, 250, 300 * MB, 300 * MB, 0);
  assert_int_equal(d.trigger, MS_TRIGGER_RETAINED);
  /* glibc: free chunks that stay counted after a trim are the floor, and only they are. */
  ms_heap_state_init(&st, 0, 700 * MB);
  ms_heap_after_purge(&cfg, &st, 40 * MB, 40 * MB);
  assert_int_equal(look(&cfg, &st, 200, 700 * MB, 60 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 400, 400 * MB, 340 * MB, 0).trigger, MS_TRIGGER_RETAINED);
}

/* jemalloc: a purge gives back every unused page it sees. What is counted after one that
 * returned something was freed while it ran (a thread freeing its own churn) and is purged at
 * the next look; seen in a fork child, where a 2 MB churn freed during the first purge became
 * the floor and no purge came again. A purge that returned nothing is not asked again until the
 * heap grows past it. */
static void test_jemalloc_floor(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.retained_max = MB / 4};
  ms_heap_state st;
  ms_heap_state_init(&st, 0, MB);
  assert_int_equal(look(&cfg, &st, 1, MB, 6 * MB, 0).trigger, MS_TRIGGER_RETAINED);
  ms_heap_after_purge(&cfg, &st, 6 * MB, 2 * MB);
  assert_int_equal(look(&cfg, &st, 2, MB, 2 * MB, 0).trigger, MS_TRIGGER_RETAINED);
  ms_heap_after_purge(&cfg, &st, 2 * MB, 2 * MB); /* nothing came back */
  assert_int_equal(look(&cfg, &st, 3, MB, 2 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 4, MB, 2 * MB + MB / 4, 0).trigger, MS_TRIGGER_RETAINED);
  /* The same numbers on glibc keep the floor. */
  ms_heap_cfg glibc = {.retained_max = MB / 4, .free_stays_counted = true};
  ms_heap_state_init(&st, 0, MB);
  ms_heap_after_purge(&glibc, &st, 6 * MB, 2 * MB);
  assert_int_equal(look(&glibc, &st, 2, MB, 2 * MB, 0).trigger, MS_TRIGGER_NONE);
}

/* glibc: the floor is free chunks a trim returned; the program reuses and frees them again and
 * fordblks reads as before. An unload must purge anyway (the pages are resident again). */
static void test_unload_ignores_floor(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.retained_max = 64 * MB, .free_stays_counted = true}; /* glibc */
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 400 * MB);
  ms_heap_after_purge(&cfg, &st, 30 * MB, 30 * MB); /* a trim left fordblks at 30 MB */
  assert_int_equal(look(&cfg, &st, 200, 100 * MB, 30 * MB, 0).trigger, MS_TRIGGER_NONE); /* falling 300 MB */
  assert_int_equal(look(&cfg, &st, 400, 100 * MB, 30 * MB, 0).trigger, MS_TRIGGER_UNLOAD);
}

static void test_pending(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.retained_max = 64 * MB, .idle_ms = 1000};
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 100 * MB);
  assert_true(ms_heap_pending(&cfg, &st)); /* the first idle purge is still to come */
  look(&cfg, &st, 200, 100 * MB, 0, 0);
  look(&cfg, &st, 1200, 100 * MB, 5 * MB, 0); /* idle purge fires */
  assert_false(ms_heap_pending(&cfg, &st));
  look(&cfg, &st, 1400, 50 * MB, 50 * MB, 0); /* falling */
  assert_true(ms_heap_pending(&cfg, &st));
}

static void test_idle(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.idle_ms = 1000};
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 100 * MB);
  assert_int_equal(look(&cfg, &st, 200, 90 * MB, 10 * MB, 0).trigger, MS_TRIGGER_NONE); /* a large free */
  assert_int_equal(look(&cfg, &st, 1000, 90 * MB, 10 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 1200, 90 * MB, 10 * MB, 0).trigger, MS_TRIGGER_IDLE);
  ms_heap_after_purge(&cfg, &st, 10 * MB, 0);
  /* Once per idle period. */
  assert_int_equal(look(&cfg, &st, 1400, 90 * MB, 5 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 5000, 90 * MB, 5 * MB, 0).trigger, MS_TRIGGER_NONE);
  /* The next large free starts a new one. */
  assert_int_equal(look(&cfg, &st, 5200, 80 * MB, 15 * MB, 0).trigger, MS_TRIGGER_NONE);
  assert_int_equal(look(&cfg, &st, 6200, 80 * MB, 15 * MB, 0).trigger, MS_TRIGGER_IDLE);
  /* Nothing worth returning: no purge. */
  ms_heap_state_init(&st, 0, 100 * MB);
  assert_int_equal(look(&cfg, &st, 5000, 100 * MB, MB / 2, 0).trigger, MS_TRIGGER_NONE);
}

static void test_rss_soft_limit(void **state) {
  (void)state;
  ms_heap_cfg cfg = {.rss_soft_limit = 500 * MB};
  ms_heap_state st;
  ms_heap_state_init(&st, 0, 100 * MB);
  ms_heap_decision d = look(&cfg, &st, 200, 100 * MB, 10 * MB, 400 * MB);
  assert_int_equal(d.crossed, 0);
  d = look(&cfg, &st, 400, 100 * MB, 10 * MB, 600 * MB);
  assert_int_equal(d.crossed, 1); /* logged once */
  assert_int_equal(d.trigger, MS_TRIGGER_RSS);
  ms_heap_after_purge(&cfg, &st, 10 * MB, 0);
  d = look(&cfg, &st, 600, 100 * MB, 0, 550 * MB);
  assert_int_equal(d.crossed, 0); /* still above: no second log, nothing to purge */
  assert_int_equal(d.trigger, MS_TRIGGER_NONE);
  d = look(&cfg, &st, 800, 100 * MB, 0, 450 * MB);
  assert_int_equal(d.crossed, -1);
  d = look(&cfg, &st, 1000, 100 * MB, 0, 650 * MB);
  assert_int_equal(d.crossed, 1); /* a new crossing */
}

static uint64_t load_one(const char *assignment, ms_option_id id) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", assignment);
  char *envp[] = {buf, NULL};
  ms_options_reset();
  ms_options_load(envp);
  return ms_opt_u64(id);
}

static void test_option_rows(void **state) {
  (void)state;
  char *none[] = {NULL};
  ms_options_reset();
  ms_options_load(none);
  assert_true(ms_opt_u64(MS_OPT_BACKEND) == MS_BACKEND_JEMALLOC);
  assert_true(ms_opt_u64(MS_OPT_RETAINED_MAX) == 64 * MB);
  assert_true(ms_opt_u64(MS_OPT_RSS_SOFT_LIMIT) == 0);
  assert_true(ms_opt_u64(MS_OPT_PURGE_INTERVAL) == 200);
  assert_true(ms_opt_u64(MS_OPT_IDLE_PURGE) == 1000);
  assert_true(ms_opt_u64(MS_OPT_MMAP_RESIDENT_MAX) == 0);
  assert_true(ms_opt_u64(MS_OPT_MMAP_MIN) == 1 * MB);
  assert_true(ms_opt_u64(MS_OPT_CONTAINER_SOFT_PCT) == 85);
  assert_true(ms_opt_u64(MS_OPT_PRESSURE_REPORT_PCT) == 92);
  assert_true(load_one("MEMSHIM_CONTAINER_SOFT_PCT=0", MS_OPT_CONTAINER_SOFT_PCT) == 0);
  assert_true(load_one("MEMSHIM_PRESSURE_REPORT_PCT=75", MS_OPT_PRESSURE_REPORT_PCT) == 75);
  assert_true(load_one("MEMSHIM_PRESSURE_REPORT_PCT=150", MS_OPT_PRESSURE_REPORT_PCT) == 92); /* bad: default */

  assert_true(load_one("MEMSHIM_BACKEND=glibc", MS_OPT_BACKEND) == MS_BACKEND_GLIBC);
  assert_true(load_one("MEMSHIM_BACKEND=tcmalloc", MS_OPT_BACKEND) == MS_BACKEND_JEMALLOC);
  assert_true(load_one("MEMSHIM_RETAINED_MAX=128M", MS_OPT_RETAINED_MAX) == 128 * MB);
  assert_true(load_one("MEMSHIM_RETAINED_MAX=off", MS_OPT_RETAINED_MAX) == 0);
  assert_true(load_one("MEMSHIM_RETAINED_MAX=lots", MS_OPT_RETAINED_MAX) == 64 * MB);
  assert_true(load_one("MEMSHIM_RSS_SOFT_LIMIT=2G", MS_OPT_RSS_SOFT_LIMIT) == 2048 * MB);
  assert_true(load_one("MEMSHIM_PURGE_INTERVAL=50ms", MS_OPT_PURGE_INTERVAL) == 50);
  assert_true(load_one("MEMSHIM_PURGE_INTERVAL=2s", MS_OPT_PURGE_INTERVAL) == 2000);
  assert_true(load_one("MEMSHIM_PURGE_INTERVAL=0", MS_OPT_PURGE_INTERVAL) == 200); /* must look at all */
  assert_true(load_one("MEMSHIM_PURGE_INTERVAL=off", MS_OPT_PURGE_INTERVAL) == 200);
  assert_true(load_one("MEMSHIM_IDLE_PURGE=off", MS_OPT_IDLE_PURGE) == 0);
  assert_true(load_one("MEMSHIM_IDLE_PURGE=5s", MS_OPT_IDLE_PURGE) == 5000);
  assert_true(load_one("MEMSHIM_MMAP_RESIDENT_MAX=64M", MS_OPT_MMAP_RESIDENT_MAX) == 64 * MB);
  assert_true(load_one("MEMSHIM_MMAP_MIN=4M", MS_OPT_MMAP_MIN) == 4 * MB);
  assert_true(load_one("MEMSHIM_MMAP_MIN=off", MS_OPT_MMAP_MIN) == 1 * MB);
  ms_options_reset();
}

/* The pressure report's crossing (container.c's job): once per crossing, by usage or PSI, ends
 * only 5 points below the mark and with PSI calm again. */
static void test_pressure_crossing(void **state) {
  (void)state;
  bool over = false;
  uint64_t limit = 100 * MB;
  ms_cgroup_state st = {.has_usage = true, .usage = 91 * MB};
  assert_int_equal(ms_pressure_decide(&over, limit, 92, &st), 0);
  st.usage = 93 * MB;
  assert_int_equal(ms_pressure_decide(&over, limit, 92, &st), MS_PRESSURE_BY_USAGE);
  assert_true(over);
  assert_int_equal(ms_pressure_decide(&over, limit, 92, &st), 0); /* once per crossing */
  st.usage = 88 * MB;                                              /* below the mark, not 5 points */
  assert_int_equal(ms_pressure_decide(&over, limit, 92, &st), 0);
  st.usage = 95 * MB;
  assert_int_equal(ms_pressure_decide(&over, limit, 92, &st), 0); /* still the same crossing */
  st.usage = 86 * MB;
  assert_int_equal(ms_pressure_decide(&over, limit, 92, &st), -1);
  assert_false(over);
  st.usage = 92 * MB; /* a second crossing: a second report */
  assert_int_equal(ms_pressure_decide(&over, limit, 92, &st), MS_PRESSURE_BY_USAGE);
  /* PSI alone, usage low or unknown, or no limit at all (v2 "max") */
  over = false;
  st = (ms_cgroup_state){.has_usage = true, .usage = 10 * MB, .has_psi = true, .psi_some_avg10 = 999};
  assert_int_equal(ms_pressure_decide(&over, 0, 92, &st), 0);
  st.psi_some_avg10 = 1000;
  assert_int_equal(ms_pressure_decide(&over, 0, 92, &st), MS_PRESSURE_BY_PSI);
  assert_int_equal(ms_pressure_decide(&over, 0, 92, &st), 0);
  st.psi_some_avg10 = 20;
  assert_int_equal(ms_pressure_decide(&over, 0, 92, &st), -1);
  /* pct 0: usage never crosses */
  over = false;
  st = (ms_cgroup_state){.has_usage = true, .usage = 100 * MB};
  assert_int_equal(ms_pressure_decide(&over, limit, 0, &st), 0);
  assert_false(over);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_retained),
    cmocka_unit_test(test_unload),
    cmocka_unit_test(test_unload_during_purge),
    cmocka_unit_test(test_unload_while_falling),
    cmocka_unit_test(test_unload_ignores_floor),
    cmocka_unit_test(test_jemalloc_floor),
    cmocka_unit_test(test_pending),
    cmocka_unit_test(test_idle),
    cmocka_unit_test(test_rss_soft_limit),
    cmocka_unit_test(test_option_rows),
    cmocka_unit_test(test_pressure_crossing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
