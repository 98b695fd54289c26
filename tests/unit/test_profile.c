/* The profiler's parts that need no process around them: the sampler's distribution and
 * weights, stack dedup, the sampled-pointer map and its filter, the leak analysis; fork while
 * other threads change the stack table and the pointer map (no fork handler takes their locks). */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/options.h"
#include "profile/leak.h"
#include "profile/ptr_map.h"
#include "profile/sampler.h"
#include "profile/stack_table.h"

/* Intervals are exponential with mean R: mean within 1%, P(X > R) = 1/e within 0.01. */
static void test_sampler_interval_distribution(void **state) {
  (void)state;
  uint64_t prng = 12345;
  const uint64_t R = 512 * 1024;
  const int n = 400000;
  double sum = 0;
  int above = 0;
  for (int i = 0; i < n; i++) {
    int64_t d = ms_sample_next_countdown(&prng, R);
    assert_true(d >= 0);
    sum += (double)d;
    above += (uint64_t)d > R;
  }
  double mean = sum / n;
  printf("mean interval %.0f (R %llu), P(>R) %.4f (1/e = 0.3679)\n", mean, (unsigned long long)R, (double)above / n);
  assert_true(fabs(mean / (double)R - 1.0) < 0.01);
  assert_true(fabs((double)above / n - exp(-1.0)) < 0.01);
  assert_int_equal(ms_sample_next_countdown(&prng, 1), -1); /* exact mode */
}

/* Run the hot path's countdown over a known stream of sizes and check that the weighted
 * samples estimate the true bytes and count without bias. */
static void test_sampler_unbiased(void **state) {
  (void)state;
  const uint64_t R = 64 * 1024;
  uint64_t prng = 777, sizes = 99;
  int64_t countdown = ms_sample_next_countdown(&prng, R);
  double true_bytes = 0, est_bytes = 0, true_n = 0, est_n = 0, small_true = 0, small_est = 0;
  for (int i = 0; i < 2000000; i++) {
    uint64_t r = ms_prng_next(&sizes);
    uint64_t size = r % 10 == 0 ? 8192 + r % 200000 : 8 + r % 256;
    true_bytes += (double)size;
    true_n += 1;
    if (size < 512) small_true += (double)size;
    if ((countdown -= (int64_t)size) < 0) {
      ms_sample_weight w = ms_sample_weigh(size, R);
      est_bytes += (double)w.bytes;
      est_n += w.count;
      if (size < 512) small_est += (double)w.bytes;
      countdown = ms_sample_next_countdown(&prng, R);
    }
  }
  printf("bytes: true %.0f est %.0f; count: true %.0f est %.0f; small: %.0f vs %.0f\n", true_bytes, est_bytes,
         true_n, est_n, small_true, small_est);
  assert_true(fabs(est_bytes / true_bytes - 1) < 0.02);
  assert_true(fabs(est_n / true_n - 1) < 0.05);
  assert_true(fabs(small_est / small_true - 1) < 0.05); /* small sizes are not under-counted */
  ms_sample_weight w = ms_sample_weigh(100, 1);
  assert_true(w.bytes == 100 && w.count == 1);
}

/* The sampler's edges: exact mode for any mean of 1 or less, a zero state reseeded, weights of
 * empty, small and huge allocations. */
static void test_sampler_edges(void **state) {
  (void)state;
  uint64_t prng = 0;
  assert_int_equal(ms_sample_next_countdown(&prng, 0), -1);
  assert_int_equal(ms_sample_next_countdown(&prng, 1), -1);
  assert_true(prng == 0); /* exact mode draws nothing */
  assert_true(ms_prng_next(&prng) != 0);
  assert_true(prng != 0); /* a zero state is reseeded, never stuck at 0 */
  for (int i = 0; i < 1000; i++) assert_true(ms_sample_next_countdown(&prng, 2) >= 0);
  assert_true(ms_prng_seed(&prng) != 0);
  ms_sample_weight w = ms_sample_weigh(0, 512 * 1024); /* malloc(0): one allocation of 0 bytes */
  assert_true(w.bytes == 0 && w.count == 1);
  w = ms_sample_weigh(64, 512 * 1024); /* p = 1 - exp(-64/R): stands for R/64 allocations, R bytes */
  assert_true(w.count >= 8191 && w.count <= 8193);
  assert_true(w.bytes >= 512 * 1024 - 64 && w.bytes <= 512 * 1024 + 64);
  w = ms_sample_weigh(64ull << 20, 512 * 1024); /* far above R: certain, weight 1 */
  assert_true(w.count == 1 && w.bytes == 64ull << 20);
  w = ms_sample_weigh(1, UINT64_MAX / 4); /* a tiny p: the weights saturate, never wrap */
  assert_true(w.count == UINT32_MAX);
  assert_true(w.bytes > 0);
}

static void test_stack_dedup(void **state) {
  (void)state;
  uintptr_t a[3] = {0x1000, 0x2000, 0x3000}, b[3] = {0x1000, 0x2000, 0x3001};
  uint32_t ia = ms_stacks_intern(a, 3), ib = ms_stacks_intern(b, 3);
  assert_true(ia != 0 && ib != 0 && ia != ib);
  assert_int_equal(ms_stacks_intern(a, 3), ia);
  assert_int_equal(ms_stacks_intern(a, 2), ms_stacks_intern(a, 2)); /* a prefix is its own stack */
  assert_true(ms_stacks_intern(a, 2) != ia);
  uint32_t before = ms_stacks_count();
  /* many distinct stacks: the index grows, every id stays findable and stable */
  uintptr_t f[4];
  for (uint32_t i = 0; i < 20000; i++) {
    f[0] = 0x400000 + i;
    f[1] = f[2] = f[3] = i * 7;
    assert_int_equal(ms_stacks_intern(f, 4), before + i + 1);
  }
  for (uint32_t i = 0; i < 20000; i += 997) {
    f[0] = 0x400000 + i;
    f[1] = f[2] = f[3] = i * 7;
    assert_int_equal(ms_stacks_intern(f, 4), before + i + 1);
    const ms_site *s = ms_stacks_site(before + i + 1);
    assert_int_equal(s->depth, 4);
    assert_true(s->frames[0] == 0x400000 + i);
  }
  assert_int_equal(ms_stacks_count(), before + 20000);
  assert_null(ms_stacks_site(0));
  assert_null(ms_stacks_site(before + 20001));
  ms_site *s = ms_stacks_site(ia);
  ms_site_alloc(s, 1000, 2);
  ms_site_alloc(s, 500, 1);
  ms_site_free(s, 1000, 2);
  assert_true(s->live_bytes == 500 && s->live_count == 1 && s->alloc_bytes == 1500 && s->alloc_count == 3);
  assert_true(s->peak_bytes == 1500);
}

static void test_ptr_map(void **state) {
  (void)state;
  enum { N = 50000 };
  static char blocks[N * 16];
  for (int i = 0; i < N; i++) {
    ms_ptr_entry e = {.ptr = (uintptr_t)&blocks[i * 16], .bytes = (uint64_t)i, .site = 1, .count = 1}, old;
    assert_int_equal(ms_ptrs_insert(&e, &old), 0);
  }
  assert_true(ms_ptrs_count() == N);
  for (int i = 0; i < N; i++) assert_true(ms_ptr_maybe_sampled(&blocks[i * 16]));
  ms_ptr_entry e;
  for (int i = 0; i < N; i += 2) {
    assert_true(ms_ptrs_remove(&blocks[i * 16], &e));
    assert_true(e.bytes == (uint64_t)i);
  }
  assert_false(ms_ptrs_remove(&blocks[0], &e)); /* already gone */
  for (int i = 1; i < N; i += 2) { /* backward-shift deletion kept the others findable */
    assert_true(ms_ptrs_remove(&blocks[i * 16], &e));
    assert_true(e.bytes == (uint64_t)i);
  }
  assert_true(ms_ptrs_count() == 0);
  /* the counting filter is back to all-zero: free of an unsampled pointer costs one load */
  for (unsigned i = 0; i < (1u << MS_FILTER_BITS); i++) assert_int_equal(ms_ptr_filter[i], 0);
  /* replacing: the same address twice returns the old entry */
  ms_ptr_entry a = {.ptr = 0x1230, .bytes = 5, .site = 2, .count = 1}, b = a, old;
  b.bytes = 7;
  assert_int_equal(ms_ptrs_insert(&a, &old), 0);
  assert_int_equal(ms_ptrs_insert(&b, &old), 1);
  assert_true(old.bytes == 5);
  assert_true(ms_ptrs_remove((void *)0x1230, &e) && e.bytes == 7);
}

/* snapshots: site 1 grows linearly, site 2 fills in the first tenth then stays flat, site 3 is
 * noise around a level, site 4 grows only during the warm-up. */
static void test_leak_shapes(void **state) {
  (void)state;
  enum { N = 40 };
  static int64_t live[N][4], alloc[N][4];
  ms_leak_snap snaps[N];
  for (int i = 0; i < N; i++) {
    live[i][0] = (int64_t)i * 100000;
    live[i][1] = i < 4 ? (int64_t)i * 2000000 : 8000000;
    live[i][2] = 5000000 + ((i * 7919) % 11 - 5) * 100000;
    live[i][3] = i < 10 ? (int64_t)i * 1000000 : 10000000;
    for (int j = 0; j < 4; j++) alloc[i][j] = live[i][j]; /* nothing freed ... */
    alloc[i][2] = (int64_t)i * 1000000;                   /* ... but at the noisy site, which churns */
    snaps[i] = (ms_leak_snap){.t_ms = (uint64_t)i * 100, .n = 4, .live = live[i], .alloc = alloc[i]};
  }
  ms_leak_site sites[8];
  ms_leak_result r;
  ms_leak_analyze(snaps, N, 1000, 1, sites, 8, &r);
  assert_true(r.checked);
  assert_int_equal(r.snapshots, 30);
  assert_int_equal(r.nsteady, 1);
  assert_int_equal(sites[0].id, 1);
  assert_true(sites[0].steady);
  /* growth of the medians of the first and last quarters: (33.5 - 11.5) * 100000 */
  assert_true(sites[0].growth == r.growth && r.growth > 2000000 && r.growth < 2500000);
  for (unsigned i = 1; i < r.nsites; i++) assert_false(sites[i].steady); /* noise only, never counted */
  /* sampled at 64 KiB, site 3's noise (+-500 KB around 5 MB) is below its floor 2*sqrt(5M*64K) */
  ms_leak_analyze(snaps, N, 1000, 65536, sites, 8, &r);
  assert_int_equal(r.nsteady, 1);
  /* a plateau reached after the warm-up still is a plateau: move site 2's fill into the window */
  for (int i = 0; i < N; i++) live[i][1] = i < 14 ? (int64_t)i * 600000 : 8400000;
  ms_leak_analyze(snaps, N, 1000, 1, sites, 8, &r);
  assert_int_equal(r.nsteady, 1);
  assert_int_equal(sites[0].id, 1);
  bool seen_plateau = false;
  for (unsigned i = 0; i < r.nsites; i++)
    if (sites[i].id == 2) { seen_plateau = true; assert_false(sites[i].steady); }
  assert_true(seen_plateau);
  /* too few snapshots after the warm-up: not checked */
  ms_leak_analyze(snaps, N, 3950, 1, sites, 8, &r);
  assert_false(r.checked);
  /* a tiny buffer keeps the biggest steady one */
  ms_leak_analyze(snaps, N, 1000, 1, sites, 1, &r);
  assert_int_equal(r.nsites, 1);
  assert_int_equal(sites[0].id, 1);
}

/* One site over 80 snapshots (100 ms apart, warm-up 0.25: 60 in the window), sampled at 64 KiB.
 * live/alloc are filled by the caller; returns the site's verdict. */
enum { SWEEP_N = 80 };
static bool sweep_steady(int64_t live[SWEEP_N], int64_t alloc[SWEEP_N], ms_leak_site *site) {
  ms_leak_snap snaps[SWEEP_N];
  for (int i = 0; i < SWEEP_N; i++)
    snaps[i] = (ms_leak_snap){.t_ms = (uint64_t)i * 100, .n = 1, .live = &live[i], .alloc = alloc ? &alloc[i] : NULL};
  ms_leak_result r;
  ms_leak_analyze(snaps, SWEEP_N, SWEEP_N * 100 / 4, 65536, site, 1, &r);
  assert_true(r.checked);
  assert_int_equal(r.snapshots, 60);
  if (!r.nsites) return false;
  assert_int_equal(r.nsteady, site->steady ? 1 : 0);
  return site->steady;
}

/* The growth rule of docs/profiling.md: a bounded cache of 12 MiB that fills until 30%, 40%, ...
 * 80% of the run and then holds passes, however late it filled, with the sampling noise of a
 * churning cache (entries replaced all the time: sd sqrt(level * R), turnover beyond the level) or
 * without; growth from the start, and growth that starts late, count. */
static void test_leak_plateau_sweep(void **state) {
  (void)state;
  static int64_t live[SWEEP_N], alloc[SWEEP_N];
  ms_leak_site site;
  const int64_t level = 12 << 20;
  const double sd = sqrt((double)level * 65536.0);
  for (int pct = 30; pct <= 80; pct += 10) {
    for (unsigned seed = 1; seed <= 5; seed++) {
      unsigned x = seed * 2654435761u;
      for (int i = 0; i < SWEEP_N; i++) {
        double f = (double)i / SWEEP_N, filled = f < pct / 100.0 ? f / (pct / 100.0) : 1.0;
        x = x * 1103515245u + 12345u;
        double u = (double)(x >> 8) / (double)(1u << 24) * 2.0 - 1.0; /* uniform -1..1: sd 1/sqrt(3) */
        live[i] = (int64_t)((double)level * filled + (filled >= 1.0 ? u * sd * 1.7320508 : 0.0));
        alloc[i] = (int64_t)((double)level * filled) + (int64_t)i * (level / 4); /* a quarter replaced per snapshot */
      }
      bool steady = sweep_steady(live, alloc, &site);
      if (steady) printf("cache filled by %d%% (seed %u): growth %lld, late %lld\n", pct, seed,
                         (long long)site.growth, (long long)site.late_growth);
      assert_false(steady);
      assert_false(sweep_steady(live, NULL, &site)); /* no allocation totals: full turnover assumed */
    }
    for (int i = 0; i < SWEEP_N; i++) { /* noiseless: the same */
      double f = (double)i / SWEEP_N;
      live[i] = alloc[i] = (int64_t)((double)level * (f < pct / 100.0 ? f / (pct / 100.0) : 1.0));
    }
    assert_false(sweep_steady(live, alloc, &site));
  }
  /* a pure leak: 64 KiB per snapshot from the start (3.75 MiB in the window) */
  for (int i = 0; i < SWEEP_N; i++) live[i] = alloc[i] = (int64_t)i * 65536;
  assert_true(sweep_steady(live, alloc, &site));
  assert_true(site.growth > 2 << 20);
  /* growth that starts at 85% of the run, after 12 MiB filled early */
  for (int i = 0; i < SWEEP_N; i++) {
    live[i] = (i < 8 ? level / 8 * i : level) + (i >= 68 ? (int64_t)(i - 67) * 262144 : 0);
    alloc[i] = live[i];
  }
  assert_true(sweep_steady(live, alloc, &site));
  /* a leak inside a churning cache: the cache holds, 1 MiB leaks per snapshot all along */
  for (int i = 0; i < SWEEP_N; i++) {
    live[i] = level + (int64_t)i * 1048576;
    alloc[i] = live[i] + (int64_t)i * (level / 4);
  }
  assert_true(sweep_steady(live, alloc, &site));
}

/* Exact mode (no sampling noise): a 12 MiB cache of 4 KiB entries that filled by 30%...80% of the
 * run and then holds, one entry more or less from one snapshot to the next as it replaces them,
 * passes; a 64 KiB-per-snapshot leak, and one that starts at 85% of the run, count. */
static void test_leak_plateau_exact(void **state) {
  (void)state;
  static int64_t live[SWEEP_N];
  ms_leak_snap snaps[SWEEP_N];
  ms_leak_site site;
  ms_leak_result r;
  const int64_t level = 12 << 20;
  for (int pct = 30; pct <= 80; pct += 10) {
    unsigned x = (unsigned)pct * 2654435761u;
    for (int i = 0; i < SWEEP_N; i++) {
      double f = (double)i / SWEEP_N;
      x = x * 1103515245u + 12345u;
      live[i] = f < pct / 100.0 ? (int64_t)((double)level * f / (pct / 100.0)) : level + (int64_t)((x >> 8) % 3) * 4096 - 4096;
      snaps[i] = (ms_leak_snap){.t_ms = (uint64_t)i * 100, .n = 1, .live = &live[i]};
    }
    ms_leak_analyze(snaps, SWEEP_N, SWEEP_N * 100 / 4, 1, &site, 1, &r);
    assert_int_equal(r.nsteady, 0);
  }
  for (int i = 0; i < SWEEP_N; i++) live[i] = (int64_t)i * 65536;
  ms_leak_analyze(snaps, SWEEP_N, SWEEP_N * 100 / 4, 1, &site, 1, &r);
  assert_int_equal(r.nsteady, 1);
  for (int i = 0; i < SWEEP_N; i++) live[i] = (i < 8 ? level / 8 * i : level) + (i >= 68 ? (int64_t)(i - 67) * 262144 : 0);
  ms_leak_analyze(snaps, SWEEP_N, SWEEP_N * 100 / 4, 1, &site, 1, &r);
  assert_int_equal(r.nsteady, 1);
  /* the leak freed on the way out: a snapshot half-way through main's frees and the exit's, both
   * in the last quarter's second half, end the site's run but do not hide its growth */
  for (int i = 0; i < SWEEP_N; i++) live[i] = (int64_t)i * 65536;
  live[SWEEP_N - 2] = live[SWEEP_N - 3] / 3;
  live[SWEEP_N - 1] = 0;
  ms_leak_analyze(snaps, SWEEP_N, SWEEP_N * 100 / 4, 1, &site, 1, &r);
  assert_int_equal(r.nsteady, 1);
  /* ... and a cache freed the same way still passes */
  for (int i = 0; i < SWEEP_N; i++) live[i] = i < 30 ? level / 30 * i : level;
  live[SWEEP_N - 2] = level / 3;
  live[SWEEP_N - 1] = 0;
  ms_leak_analyze(snaps, SWEEP_N, SWEEP_N * 100 / 4, 1, &site, 1, &r);
  assert_int_equal(r.nsteady, 0);
}

/* The snapshot store stays bounded on a long run and keeps its first and latest snapshots;
 * the warm-up is a fraction of the run or a duration. */
static void test_leak_store(void **state) {
  (void)state;
  uintptr_t f[1] = {0xabc};
  ms_site *s = ms_stacks_site(ms_stacks_intern(f, 1));
  ms_leak_store_reset(0);
  for (uint64_t t = 0; t < 1000; t++) {
    ms_site_alloc(s, 100, 1);
    ms_leak_store_take(t * 10, false);
  }
  ms_leak_site sites[4];
  ms_leak_result r;
  ms_leak_store_analyze(0, 1, sites, 4, &r);
  printf("1000 ticks kept %u snapshots, window %llu..%llu ms\n", r.snapshots, (unsigned long long)r.from_ms,
         (unsigned long long)r.to_ms);
  assert_true(r.snapshots <= 64 && r.snapshots >= 32);
  assert_true(r.from_ms == 0);
  assert_true(r.to_ms >= 9990 - 10 * 32); /* the latest stride, at most */
  assert_true(r.nsteady >= 1 && sites[0].steady); /* the site grew all along */
  assert_true(ms_leak_store_live_at(s->id, 0) == 100);
  const char *why;
  assert_int_equal(ms_option_set(MS_OPT_LEAK_WARMUP, "0.25", &why), 0);
  assert_true(ms_leak_warmup_end(100000) == 25000);
  assert_int_equal(ms_option_set(MS_OPT_LEAK_WARMUP, "30s", &why), 0);
  assert_true(ms_leak_warmup_end(100000) == 30000);
}


/* Fork while two threads insert and remove sampled pointers and intern new stacks, with the
 * locks in their MADV_WIPEONFORK words and no fork handler taking them. Every child must find
 * the locks free, every entry whole (bytes and site are functions of the pointer) and present
 * once, every site findable by its frames, and both tables usable; it says whether it had to
 * repair (the parent forked mid-change), which the parent counts. A hang is a SIGALRM. */
enum { FORK_THREADS = 2, FORK_BLOCKS = 4096, FORK_STACKS_MAX = 20000 };
static char fork_blocks[FORK_THREADS][FORK_BLOCKS * 16];
static volatile int fork_stop;

static ms_ptr_entry fork_entry(uintptr_t p) {
  return (ms_ptr_entry){.ptr = p, .bytes = (uint64_t)p * 3, .site = (uint32_t)(p >> 4), .count = 1};
}

static void *fork_worker(void *arg) {
  int t = (int)(intptr_t)arg;
  unsigned stacks = 0;
  for (unsigned round = 0; !fork_stop; round++) {
    for (int i = 0; i < FORK_BLOCKS && !fork_stop; i++) {
      ms_ptr_entry e = fork_entry((uintptr_t)&fork_blocks[t][i * 16]), old;
      if (round & 1) ms_ptrs_remove((void *)e.ptr, &old);
      else ms_ptrs_insert(&e, &old);
      if ((i & 15) == 0 && stacks < FORK_STACKS_MAX) {
        uintptr_t f[3] = {0x7000 + (uintptr_t)t, ++stacks, 0x9000};
        ms_stacks_intern(f, 3);
      }
    }
  }
  return NULL;
}

static int fork_child_checks(void) {
  alarm(60);
  ms_ptrs_atfork_child();
  ms_stacks_atfork_child();
  ms_ptr_entry *all;
  uint64_t n;
  size_t bytes;
  if (ms_ptrs_copy_all(&all, &n, &bytes) != 0) return 2; /* a lock the child found held */
  if (n != ms_ptrs_count()) return 3;
  static unsigned char seen[FORK_THREADS][FORK_BLOCKS];
  for (uint64_t i = 0; i < n; i++) {
    ms_ptr_entry want = fork_entry(all[i].ptr);
    if (all[i].bytes != want.bytes || all[i].site != want.site || all[i].count != 1) return 4; /* torn */
    uintptr_t base = (uintptr_t)fork_blocks, off = all[i].ptr - base;
    if (all[i].ptr < base || off >= sizeof fork_blocks) continue; /* test_ptr_map's, none left */
    if (seen[off / sizeof fork_blocks[0]][off % sizeof fork_blocks[0] / 16]++) return 5; /* twice */
  }
  uint32_t sites = ms_stacks_count();
  for (uint32_t id = 1; id <= sites; id++) {
    const ms_site *s = ms_stacks_site(id);
    if (ms_stacks_intern(s->frames, s->depth) != id) return 6; /* lost from the index */
  }
  uintptr_t f[3] = {0x7777, 1, 2};
  if (ms_stacks_intern(f, 3) != sites + 1) return 7;
  ms_ptr_entry e = fork_entry((uintptr_t)&fork_blocks[0][8]), old;
  if (ms_ptrs_insert(&e, &old) != 0 || !ms_ptrs_remove((void *)e.ptr, &old) || old.bytes != e.bytes) return 8;
  return ms_ptrs_fork_repairs() || ms_stacks_fork_repairs() ? 10 + (ms_stacks_fork_repairs() ? 1 : 0) : 0;
}

static void test_fork_mid_change(void **state) {
  (void)state;
  ms_ptrs_init();
  ms_stacks_init();
  pthread_t th[FORK_THREADS];
  for (int t = 0; t < FORK_THREADS; t++) assert_int_equal(pthread_create(&th[t], NULL, fork_worker, (void *)(intptr_t)t), 0);
  int repaired = 0, stack_repaired = 0, forks = 100;
  for (int i = 0; i < forks; i++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(fork_child_checks());
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) fail_msg("fork child %d hung on a profiler lock", i);
    if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) < 10))
      fail_msg("fork child %d: status 0x%x (2 lock held, 3 count, 4 torn entry, 5 twice, 6 site lost, 7/8 unusable)", i, st);
    repaired += WEXITSTATUS(st) >= 10;
    stack_repaired += WEXITSTATUS(st) == 11;
  }
  fork_stop = 1;
  for (int t = 0; t < FORK_THREADS; t++) pthread_join(th[t], NULL);
  print_message("%d forks: %d children repaired a table (%d the stack table)\n", forks, repaired, stack_repaired);
  ms_ptr_entry e;
  for (int t = 0; t < FORK_THREADS; t++)
    for (int i = 0; i < FORK_BLOCKS; i++) ms_ptrs_remove(&fork_blocks[t][i * 16], &e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sampler_interval_distribution),
    cmocka_unit_test(test_sampler_unbiased),
    cmocka_unit_test(test_sampler_edges),
    cmocka_unit_test(test_stack_dedup),
    cmocka_unit_test(test_ptr_map),
    cmocka_unit_test(test_leak_shapes),
    cmocka_unit_test(test_leak_plateau_sweep),
    cmocka_unit_test(test_leak_plateau_exact),
    cmocka_unit_test(test_leak_store),
    cmocka_unit_test(test_fork_mid_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
