/* src/gpu's bookkeeping without CUDA: per-site and per-device counters, frees that memshim did not
 * see allocated, stream-ordered pools (reuse before growth, trimming), VMM physical memory that
 * outlives its release while mapped, the maps under many inserts and deletes in random order,
 * device growth after the warm-up, the fork reset, the threshold crossing rule, and the pressure
 * rules around it (the usage estimate, when NVML is read again, out-of-memory reports per second). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/options.h"
#include "gpu/gpu_internal.h"
#include "gpu/pressure.h"
#include "profile/stack_table.h"
#include "util/guard.h"

#define MIB (1ull << 20)

static uint64_t fake_now;
uint64_t ms_profile_now_ms(void) { return fake_now; } /* track.c's clock */
MS_TLS int ms_tls_guard;                               /* normally in backend/accounting.c */

static int setup(void **state) {
  (void)state;
  ms_options_reset();
  fake_now = 0;
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_track_reset_locked();
  pthread_mutex_unlock(&ms_gpu_mu);
  return 0;
}

static uint32_t site(uintptr_t tag) {
  uintptr_t frames[2] = {0x1000 + tag, 0x2000};
  return ms_stacks_intern(frames, 2);
}

static const ms_gpu_ctr *dev_ctr(uint32_t id) { return &ms_gpu_site_rec_get(id)->device; }

static void test_sites_and_devices(void **state) {
  (void)state;
  uint32_t a = site(1), b = site(2);
  ms_gpu_alloc(MS_GPU_DEVICE, 0, 0x7000, 64 * MIB, a, MS_API_CUDA_MALLOC, 0);
  ms_gpu_alloc(MS_GPU_DEVICE, 0, 0x8000, 32 * MIB, a, MS_API_CUDA_MALLOC, 0);
  ms_gpu_alloc(MS_GPU_MANAGED, 1, 0x9000, 16 * MIB, b, MS_API_CU_MEM_ALLOC_MANAGED, 0);
  ms_gpu_alloc(MS_GPU_PINNED, 0, 0xa000, 4 * MIB, b, MS_API_CUDA_MALLOC_HOST, 0);
  ms_gpu_free(0x8000, false);
  ms_gpu_free(0x8000, false); /* twice: ignored */
  ms_gpu_free(0xdead, false); /* never seen: ignored */
  assert_int_equal(dev_ctr(a)->live, 64 * MIB);
  assert_int_equal(dev_ctr(a)->live_count, 1);
  assert_int_equal(dev_ctr(a)->alloc, 96 * MIB);
  assert_int_equal(dev_ctr(a)->alloc_count, 2);
  assert_int_equal(dev_ctr(a)->peak, 96 * MIB);
  assert_int_equal(dev_ctr(b)->live, 16 * MIB);
  assert_int_equal(ms_gpu_site_rec_get(b)->pinned.live, 4 * MIB);
  assert_int_equal(ms_gpu_devs[0].live, 64 * MIB);
  assert_int_equal(ms_gpu_devs[0].pinned, 4 * MIB);
  assert_int_equal(ms_gpu_devs[1].live, 16 * MIB);
  assert_int_equal(ms_gpu_total_device.live, 80 * MIB);
  assert_true(ms_gpu_known(0x7000));
  assert_false(ms_gpu_known(0x8000));
  /* the same address again without a free in between: the old block is forgotten first */
  ms_gpu_alloc(MS_GPU_DEVICE, 0, 0x7000, 8 * MIB, b, MS_API_CUDA_MALLOC, 0);
  assert_int_equal(dev_ctr(a)->live, 0);
  assert_int_equal(ms_gpu_devs[0].live, 8 * MIB);
}

static void test_pools(void **state) {
  (void)state;
  uint32_t s = site(3);
  for (uint64_t i = 0; i < 3; i++) ms_gpu_alloc(MS_GPU_POOLED, 0, 0x10000 + i, 16 * MIB, s, MS_API_CUDA_MALLOC_ASYNC, 0);
  for (uint64_t i = 0; i < 3; i++) ms_gpu_free(0x10000 + i, true);
  assert_int_equal(ms_gpu_devs[0].live, 0);
  assert_int_equal(ms_gpu_devs[0].pool, 48 * MIB);
  ms_gpu_alloc(MS_GPU_POOLED, 0, 0x20000, 8 * MIB, s, MS_API_CUDA_MALLOC_ASYNC, 0); /* served by the pool */
  assert_int_equal(ms_gpu_devs[0].pool, 40 * MIB);
  assert_int_equal(ms_gpu_devs[0].live, 8 * MIB);
  /* a named pool is its own reserve */
  ms_gpu_alloc(MS_GPU_POOLED, 0, 0x30000, 10 * MIB, s, MS_API_CUDA_MALLOC_FROM_POOL_ASYNC, 0x77);
  ms_gpu_free(0x30000, true);
  assert_int_equal(ms_gpu_devs[0].pool, 50 * MIB);
  ms_gpu_pool_trim(0x77, 4 * MIB);
  assert_int_equal(ms_gpu_devs[0].pool, 44 * MIB);
  ms_gpu_pool_trim(0x1234, 0); /* a handle never seen: the devices' current pools */
  assert_int_equal(ms_gpu_devs[0].pool, 4 * MIB);
  /* cuMemFreeAsync of memory that did not come from a pool frees it outright */
  ms_gpu_alloc(MS_GPU_DEVICE, 0, 0x40000, 2 * MIB, s, MS_API_CUDA_MALLOC, 0);
  ms_gpu_free(0x40000, true);
  assert_int_equal(ms_gpu_devs[0].pool, 4 * MIB);
}

static void test_vmm(void **state) {
  (void)state;
  uint32_t s = site(4);
  ms_gpu_vmm_create(0, 11, 32 * MIB, s, MS_API_CU_MEM_CREATE);
  ms_gpu_vmm_create(0, 12, 32 * MIB, s, MS_API_CU_MEM_CREATE);
  ms_gpu_vmm_create(0, 13, 16 * MIB, s, MS_API_CU_MEM_CREATE);
  ms_gpu_vmm_map(0x100000000, 32 * MIB, 11);
  ms_gpu_vmm_map(0x100000000 + 32 * MIB, 32 * MIB, 12);
  ms_gpu_vmm_release(11); /* mapped: the physical memory stays */
  ms_gpu_vmm_release(13); /* never mapped: gone */
  assert_int_equal(dev_ctr(s)->live, 64 * MIB);
  ms_gpu_vmm_unmap(0x100000000, 64 * MIB); /* one call, two mappings */
  assert_int_equal(dev_ctr(s)->live, 32 * MIB); /* 12 is unmapped but not released */
  ms_gpu_vmm_release(12);
  assert_int_equal(dev_ctr(s)->live, 0);
  assert_int_equal(dev_ctr(s)->alloc, 80 * MIB);
  assert_int_equal(ms_gpu_devs[0].live, 0);
}

/* Many blocks, freed in a scrambled order: every free must find its block (backward-shift deletion). */
static void test_many(void **state) {
  (void)state;
  uint32_t s = site(5);
  enum { N = 5000 };
  for (uint64_t i = 0; i < N; i++) ms_gpu_alloc(MS_GPU_DEVICE, 0, 0x7f0000000000ull + i * 4096, 1000 + i, s, 0, 0);
  uint64_t want = 0;
  for (uint64_t i = 0; i < N; i++) want += 1000 + i;
  assert_int_equal(dev_ctr(s)->live, want);
  for (uint64_t k = 0; k < N; k++) {
    uint64_t i = (k * 2654435761u) % N; /* a permutation of 0..N-1 (N and the multiplier are coprime) */
    assert_true(ms_gpu_known(0x7f0000000000ull + i * 4096));
    ms_gpu_free(0x7f0000000000ull + i * 4096, false);
  }
  assert_int_equal(dev_ctr(s)->live, 0);
  assert_int_equal(dev_ctr(s)->live_count, 0);
  assert_int_equal(ms_gpu_devs[0].live, 0);
}

static void test_growth(void **state) {
  (void)state;
  uint32_t cache = site(6), plateau = site(7);
  ms_gpu_alloc(MS_GPU_DEVICE, 0, 1, 100 * MIB, plateau, 0, 0); /* filled at start, then flat */
  for (uint64_t t = 0; t < 40; t++) {
    fake_now = 1000 + t * 200; /* past the snapshot interval each time */
    ms_gpu_alloc(MS_GPU_DEVICE, 0, 0x1000 + t, 1 * MIB, cache, 0, 0);
  }
  fake_now = 10000;
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_snapshot_locked(fake_now, true);
  uint32_t n;
  const uint32_t *ids = ms_gpu_site_list(&n);
  assert_int_equal(n, 2);
  int64_t g_cache = 0, g_plateau = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (ids[i] == cache) g_cache = ms_gpu_growth_locked(5000, i);
    if (ids[i] == plateau) g_plateau = ms_gpu_growth_locked(5000, i);
  }
  int64_t steady = ms_gpu_steady_growth_locked(5000);
  pthread_mutex_unlock(&ms_gpu_mu);
  /* snapshots at 5000..8800 every 200 ms: the first one at or after 5000 held 21 MiB */
  assert_int_equal(g_cache, 19 * MIB);
  assert_int_equal(g_plateau, 0);
  assert_true(steady > 0 && steady <= 19 * (int64_t)MIB);
}

static void test_reset(void **state) {
  (void)state;
  uint32_t s = site(8);
  ms_gpu_alloc(MS_GPU_DEVICE, 0, 0x5000, 1 * MIB, s, 0, 0);
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_track_reset_locked();
  pthread_mutex_unlock(&ms_gpu_mu);
  assert_false(ms_gpu_known(0x5000));
  assert_int_equal(dev_ctr(s)->live, 0);
  assert_int_equal(ms_gpu_devs[0].live, 0);
  assert_false(ms_gpu_allocated);
  uint32_t n;
  ms_gpu_site_list(&n);
  assert_int_equal(n, 0);
}

static void test_threshold(void **state) {
  (void)state;
  bool fired = false;
  uint64_t total = 1000;
  assert_int_equal(ms_gpu_threshold_step(&fired, 899, total, 90), 0);
  assert_int_equal(ms_gpu_threshold_step(&fired, 900, total, 90), 1);
  assert_int_equal(ms_gpu_threshold_step(&fired, 990, total, 90), 0); /* once per crossing */
  assert_int_equal(ms_gpu_threshold_step(&fired, 885, total, 90), 0); /* within the hysteresis */
  assert_true(fired);
  assert_int_equal(ms_gpu_threshold_step(&fired, 879, total, 90), 0); /* re-armed below 88% */
  assert_false(fired);
  assert_int_equal(ms_gpu_threshold_step(&fired, 901, total, 90), 1);
  fired = false;
  assert_int_equal(ms_gpu_threshold_step(&fired, 1000, total, 0), 0); /* 0 = off */
  assert_int_equal(ms_gpu_threshold_step(&fired, 1000, 0, 90), 0);    /* no total known */
}

/* The rules pressure.c applies after each device allocation and at an out-of-memory error. */
static void test_pressure_rules(void **state) {
  (void)state;
  ms_gpu_dev d;
  memset(&d, 0, sizeof d);
  /* NVML said 6000 MiB used while this process tracked 1000 MiB; now it tracks 1500 (+ 200 pooled) */
  d.mem_known = true;
  d.total = 10000 * MIB;
  d.dev_used = 6000 * MIB;
  d.tracked_at_nvml = 1000 * MIB;
  d.live = 1500 * MIB;
  d.pool = 200 * MIB;
  assert_true(ms_gpu_used_estimate(&d) == 6700 * MIB);
  d.live = 0; /* freed more than NVML ever saw: 0, never a wrapped figure */
  d.pool = 0;
  d.dev_used = 500 * MIB;
  assert_true(ms_gpu_used_estimate(&d) == 0);

  /* a fresh NVML figure is read: when none was, when it is 100 ms old, or before a crossing */
  d.dev_used = 6000 * MIB;
  d.live = 1000 * MIB;
  d.nvml_t_ms = 1000;
  assert_false(ms_gpu_needs_fresh(&d, 1099, 90, 95)); /* 60%: nothing would change */
  assert_true(ms_gpu_needs_fresh(&d, 1100, 90, 95));  /* old */
  d.mem_known = false;
  assert_true(ms_gpu_needs_fresh(&d, 1001, 90, 95));
  d.mem_known = true;
  d.live = 4000 * MIB; /* estimate 90%: the warning would fire */
  assert_true(ms_gpu_needs_fresh(&d, 1001, 90, 0));
  assert_false(ms_gpu_needs_fresh(&d, 1001, 0, 95)); /* warning off, action at 95%: no change */
  d.warn_fired = true; /* fired already, still above the re-arm level: nothing to decide */
  assert_false(ms_gpu_needs_fresh(&d, 1001, 90, 0));
  d.live = 1000 * MIB; /* fell below 88%: the re-arm is a change too */
  assert_true(ms_gpu_needs_fresh(&d, 1001, 90, 0));
  assert_false(ms_gpu_needs_fresh(&d, 1001, 0, 0)); /* both off */
  assert_true(d.warn_fired); /* the rule only looks */

  /* out of memory in a retry loop: the first error, then one per second */
  assert_true(ms_gpu_oom_report_due(false, 0, 5));
  assert_false(ms_gpu_oom_report_due(true, 5, 5));
  assert_false(ms_gpu_oom_report_due(true, 5, 1004));
  assert_true(ms_gpu_oom_report_due(true, 5, 1005));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_sites_and_devices, setup), cmocka_unit_test_setup(test_pools, setup),
    cmocka_unit_test_setup(test_vmm, setup),               cmocka_unit_test_setup(test_many, setup),
    cmocka_unit_test_setup(test_growth, setup),            cmocka_unit_test_setup(test_reset, setup),
    cmocka_unit_test_setup(test_threshold, setup),         cmocka_unit_test_setup(test_pressure_rules, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
