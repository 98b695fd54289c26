/* The profiler: sampling on the allocation slow path, forgetting sampled pointers on free, and
 * the snapshots that feed the leak gate. Reports are taken by the core (core/reporting.c), which
 * asks collect.c for the profiler's part. */
#include "profile.h"

#include <string.h>

#include "../config/options.h"
#include "../util/job.h"
#include "../util/log.h"
#include "leak.h"
#include "profile_internal.h"
#include "ptr_map.h"
#include "pyframes.h"
#include "reach.h"
#include "sampler.h"
#include "stack_table.h"
#include "unwind.h"

bool ms_profile_active;

static uint64_t ms_sample_mean;
static unsigned ms_depth;
static uint64_t ms_t0_ms;
static uint64_t ms_snapshot_ms;
static uint64_t ms_leak_limit;
static uint64_t ms_last_live_snapshot_ms; /* the last snapshot taken before Python finalized */

/* ---- clocks and settings ---- */

uint64_t ms_profile_now_ms(void) { return ms_monitor_now_ms() - ms_t0_ms; }
uint64_t ms_profile_sample_bytes(void) { return ms_sample_mean; }
unsigned ms_profile_stack_depth(void) { return ms_depth; }
bool ms_profile_leak_limit(uint64_t *limit) {
  *limit = ms_leak_limit;
  return ms_leak_limit != 0;
}

/* ---- call sites for other entry points ---- */

uint32_t ms_profile_capture_site(void) {
  if (!ms_profile_active || ms_guard_held()) return 0;
  ms_guard_enter();
  uint32_t id = 0;
  if (ms_unwind_init() == 0) {
    uintptr_t frames[MS_MAX_DEPTH];
    unsigned depth = ms_depth < MS_MAX_DEPTH ? ms_depth : MS_MAX_DEPTH;
    id = ms_stacks_intern(frames, ms_py_stack(frames, depth, ms_unwind));
  }
  ms_guard_leave();
  return id;
}

/* ---- hot-path hooks ---- */

static void ms_record(void *p, uint64_t size) {
  uintptr_t frames[MS_MAX_DEPTH];
  unsigned n = ms_py_stack(frames, ms_depth, ms_unwind); /* native, with Python frames merged in */
  uint32_t id = ms_stacks_intern(frames, n);
  if (!id) return;
  ms_sample_weight w = ms_sample_weigh(size, ms_sample_mean);
  ms_ptr_entry e = {.ptr = (uintptr_t)p, .bytes = w.bytes, .site = id, .count = w.count}, old;
  int rc = ms_ptrs_insert(&e, &old);
  if (rc < 0) return;
  if (rc == 1) { /* the address came back without a free we saw (e.g. freed by a raw path) */
    ms_site_free(ms_stacks_site(old.site), old.bytes, old.count);
  }
  ms_site_alloc(ms_stacks_site(id), w.bytes, w.count);
}

void *ms_profile_sample(void *p, uint64_t size, int64_t *countdown, uint64_t *prng) {
  int64_t next;
  if (!*prng) {
    /* First visit of this thread: its countdown started at 0, which would sample this
     * allocation for certain. Draw where its first sample really falls instead. */
    *prng = ms_prng_seed(prng);
    int64_t c = ms_sample_next_countdown(prng, ms_sample_mean);
    if (c - (int64_t)size > 0) { /* the hot path samples at 0 and below */
      *countdown = c - (int64_t)size;
      return p;
    }
  }
  next = ms_sample_next_countdown(prng, ms_sample_mean);
  *countdown = next;
  /* Our own allocations (unwinding, reports) are never sampled. */
  if (ms_guard_held()) return p;
  ms_guard_enter();
  ms_record(p, size);
  ms_guard_leave();
  return p;
}

void ms_profile_free_maybe(void *p) {
  ms_ptr_entry e;
  if (!ms_ptrs_remove(p, &e)) return;
  ms_site *s = ms_stacks_site(e.site);
  if (s) ms_site_free(s, e.bytes, e.count);
}

/* ---- periodic work: the leak gate's snapshots ---- */

ms_job_next ms_profile_snapshot_job(uint64_t now_ms) {
  (void)now_ms;
  ms_py_poll();
  /* Once Python finalizes, its teardown frees what the program held (a leak too): snapshots of
   * that would fill the gate's last quarter with a shrinking heap and hide the growth before.
   * The exit report still takes its own final snapshot. */
  if (!ms_py_finalizing()) {
    uint64_t t = ms_profile_now_ms();
    ms_leak_store_take(t, false);
    __atomic_store_n(&ms_last_live_snapshot_ms, t, __ATOMIC_RELAXED);
  }
  return (ms_job_next){ms_snapshot_ms, true};
}

bool ms_profile_torn_down(uint64_t *live_at_ms) {
  uint64_t t = __atomic_load_n(&ms_last_live_snapshot_ms, __ATOMIC_RELAXED);
  if (!t || !ms_py_finalizing()) return false;
  *live_at_ms = t;
  return true;
}

static void ms_profile_reset_clock(void) {
  ms_t0_ms = ms_monitor_now_ms();
  ms_leak_store_reset(0);
}

void ms_profile_init(void) {
  ms_t0_ms = ms_monitor_now_ms(); /* the reports' clock, also when only GPU reports are written */
  ms_leak_limit = ms_opt_u64(MS_OPT_LEAK_CHECK);
  ms_reach_decide();
  bool scan = ms_reach_wanted();
  if (!ms_opt_bool(MS_OPT_PROFILE) && !ms_leak_limit && !scan) return;
  if (!ms_opt_bool(MS_OPT_PROFILE))
    ms_log_info("%s is set: profiling is on", ms_option_env(scan ? MS_OPT_LEAK_SCAN : MS_OPT_LEAK_CHECK));
  /* The scan must know every block: a pointer kept in one it never saw would be missed. */
  ms_sample_mean = scan ? 1 : ms_opt_u64(MS_OPT_SAMPLE_BYTES);
  ms_depth = (unsigned)ms_opt_u64(MS_OPT_STACK_DEPTH);
  if (ms_depth > MS_MAX_DEPTH) ms_depth = MS_MAX_DEPTH;
  ms_snapshot_ms = ms_opt_u64(MS_OPT_SNAPSHOT_INTERVAL);
  if (ms_unwind_init() != 0) return; /* said why: libunwind cannot be loaded; profiling stays off */
  ms_stacks_init();
  ms_ptrs_init();
  ms_py_table_init();
  ms_leak_store_init();
  ms_py_init();
  ms_profile_reset_clock();
  /* On: core/init.c schedules ms_profile_snapshot_job. The core resets the constructor thread's countdown so that it samples too. */
  ms_profile_active = true;
  ms_log_debug("profiler on: one sample per %llu bytes, %u frames", (unsigned long long)ms_sample_mean, ms_depth);
}

/* No fork handler takes a profiler lock: a sampled allocation, or the free of a sampled pointer,
 * made inside another library's fork-guarded section would wait for ours while that library's
 * prepare handler (run after ours) waits for its lock (docs/design.md, "Fork, signals,
 * descriptors"). The locks are util/forklock.h words, free in every child; each table repairs
 * itself at the child's first lock when the parent forked mid-change.
 * The child keeps every site and sampled pointer (it inherited the memory they describe) but
 * starts its own clock and snapshots. */
void ms_profile_atfork_child(void) {
  if (!ms_profile_active) return;
  ms_ptrs_atfork_child();
  ms_stacks_atfork_child();
  ms_py_atfork_child();
  ms_leak_store_atfork_child();
  ms_unwind_atfork_child();
  ms_profile_reset_clock();
}
