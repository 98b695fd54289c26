/* Memory return: one monitor job, every MEMSHIM_PURGE_INTERVAL, looks at the heap (backend
 * statistics), the RSS and the file mappings, and purges or drops as heap_decide.c and the
 * residency cap say. The free path is untouched: live bytes come from jemalloc's own per-thread
 * totals (or mallinfo2), freed-but-resident bytes from the backend's statistics.
 * Every purge is counted, logged at MEMSHIM_VERBOSE=1 and pushed to the event ring. */
#include <pthread.h>
#include <time.h>

#include "../backend/backend.h"
#include "../config/options.h"
#include "../util/log.h"
#include "../util/proc.h"
#include "mmap_registry.h"
#include "monitor.h"
#include "policy.h"
#include "policy_internal.h"
#include "timeline.h"

static uint64_t ms_purges, ms_purged_bytes, ms_heap_peak;

static ms_heap_cfg ms_cfg;
static uint64_t ms_mmap_cap;   /* MEMSHIM_MMAP_RESIDENT_MAX, 0 = off */
static ms_heap_state ms_state; /* the monitor thread's only */
static bool ms_state_ready;

void ms_policy_note_live(uint64_t live) {
  uint64_t peak = __atomic_load_n(&ms_heap_peak, __ATOMIC_RELAXED);
  while (live > peak && !__atomic_compare_exchange_n(&ms_heap_peak, &peak, live, 1, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED)) {
  }
}

static double ms_elapsed_ms(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* What a purge gave back: jemalloc's dirty+muzzy pages that went away (exact, whatever other
 * threads do meanwhile); glibc has no such figure (its free chunks stay counted after
 * malloc_trim), so the RSS drop. */
static uint64_t ms_purge_measured(uint64_t *retained_after) {
  ms_backend_stats before = {0}, after = {0};
  uint64_t rss0 = ms_proc_rss();
  int have = ms_be.stats(&before) == 0;
  ms_be.purge();
  have = have && ms_be.stats(&after) == 0;
  uint64_t rss1 = ms_proc_rss();
  *retained_after = have ? after.retained : 0;
  if (ms_be_kind == MS_BE_JEMALLOC && have)
    return before.retained > after.retained ? before.retained - after.retained : 0;
  return rss0 > rss1 ? rss0 - rss1 : 0;
}

static uint64_t ms_purge(const char *trigger, uint64_t *retained_after) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t returned = ms_purge_measured(retained_after);
  __atomic_add_fetch(&ms_purges, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ms_purged_bytes, returned, __ATOMIC_RELAXED);
  ms_log_info("purge (%s): %s returned %llu bytes in %.3f ms", trigger,
              ms_be_kind == MS_BE_GLIBC ? "malloc_trim(0)" : "jemalloc arena purge",
              (unsigned long long)returned, ms_elapsed_ms(&t0));
  ms_policy_event_push(MS_EVENT_PURGE, returned, trigger);
  return returned;
}

uint64_t ms_policy_purge_now(const char *trigger) {
  uint64_t retained_after;
  return ms_purge(trigger, &retained_after);
}

/* Drop file-mapping pages when they pass limit, down to target; returns the resident bytes left. */
static uint64_t ms_policy_mmap_drop(const char *trigger, uint64_t limit, uint64_t target) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t resident;
  uint64_t dropped = ms_mmap_enforce(limit, target, &resident);
  if (!dropped) return resident;
  ms_log_info("drop (%s): MADV_DONTNEED on %llu bytes of file mappings in %.3f ms, %llu resident now",
              trigger, (unsigned long long)dropped, ms_elapsed_ms(&t0), (unsigned long long)resident);
  ms_policy_event_push(MS_EVENT_MMAP_DROP, dropped, trigger);
  return resident;
}

/* The residency cap reacts faster than the heap policy: a scan reading at several GB/s passes a
 * 64 MB cap in milliseconds. Every MS_MMAP_LOOK_MS it reads statm's file-backed resident bytes
 * (one small read) and estimates the tracked resident bytes as the last measure plus the growth
 * since; the full measure (pagemap, about 1 ms per GiB mapped) runs when that estimate passes the
 * cap, or once per MEMSHIM_PURGE_INTERVAL. */
#define MS_MMAP_LOOK_MS 5
static uint64_t ms_mmap_last_shared, ms_mmap_last_resident, ms_mmap_last_scan_ms, ms_purge_interval_ms;

static void ms_policy_mmap_tick(uint64_t now_ms) {
  if (!ms_mmap_registry_busy()) return;
  uint64_t shared = ms_proc_rss_shared();
  if (shared < ms_mmap_last_shared) ms_mmap_last_shared = shared;
  if (ms_mmap_last_resident + (shared - ms_mmap_last_shared) <= ms_mmap_cap &&
      now_ms - ms_mmap_last_scan_ms < ms_purge_interval_ms)
    return;
  /* A quarter of slack below the cap: no drop on every look. */
  ms_mmap_last_resident = ms_policy_mmap_drop("mmap_cap", ms_mmap_cap, ms_mmap_cap - ms_mmap_cap / 4);
  ms_mmap_last_shared = ms_proc_rss_shared();
  ms_mmap_last_scan_ms = now_ms;
}

static ms_heap_counts_fn ms_read_counts; /* the core's counters (policy/ does not include core/) */

static void ms_policy_tick(uint64_t now_ms) {
  ms_heap_counts c;
  ms_read_counts(&c);
  ms_policy_note_live(c.live_bytes);
  /* Backend statistics are the expensive part of a look (jemalloc's epoch refresh merges every
   * arena: ~150k instructions). Retained memory only grows through frees: with none since the
   * last look, the last figure is an upper bound and is reused. */
  static uint64_t last_free_calls = UINT64_MAX, last_retained;
  if (c.free_calls != last_free_calls) {
    ms_backend_stats bs;
    last_retained = ms_be.stats(&bs) == 0 ? bs.retained : 0;
    last_free_calls = c.free_calls;
  }
  ms_heap_obs obs = {.now_ms = now_ms, .live = c.live_bytes, .retained = last_retained};
  if (ms_cfg.rss_soft_limit) obs.rss = ms_proc_rss();
  if (!ms_state_ready) {
    ms_heap_state_init(&ms_state, now_ms, c.live_bytes);
    ms_state_ready = true;
  }
  ms_heap_decision d = ms_heap_decide(&ms_cfg, &ms_state, &obs);

  if (d.crossed > 0) {
    ms_log_error("RSS %llu MiB is above MEMSHIM_RSS_SOFT_LIMIT (%llu MiB): returning heap and file-mapped "
                 "memory", (unsigned long long)(obs.rss >> 20), (unsigned long long)(ms_cfg.rss_soft_limit >> 20));
    ms_policy_event_push(MS_EVENT_RSS_LIMIT, obs.rss, "rss_soft_limit");
  } else if (d.crossed < 0) {
    ms_log_info("RSS back below MEMSHIM_RSS_SOFT_LIMIT (%llu MiB)", (unsigned long long)(obs.rss >> 20));
  }
  if (ms_state.over_limit && ms_mmap_registry_busy()) {
    /* File pages first: the page cache keeps them, so dropping costs at most a re-read. */
    uint64_t resident, excess = obs.rss - ms_cfg.rss_soft_limit;
    ms_mmap_enforce(UINT64_MAX, UINT64_MAX, &resident);
    if (resident) ms_policy_mmap_drop("rss_soft_limit", 0, resident > excess ? resident - excess : 0);
  }
  if (d.trigger != MS_TRIGGER_NONE) {
    uint64_t retained_after;
    ms_purge(ms_heap_trigger_name(d.trigger), &retained_after);
    ms_heap_after_purge(&ms_state, retained_after);
    last_retained = retained_after;
  }
}

void ms_policy_init(ms_heap_counts_fn counts) {
  ms_read_counts = counts;
  ms_cfg = (ms_heap_cfg){
    .retained_max = ms_opt_u64(MS_OPT_RETAINED_MAX),
    .idle_ms = ms_opt_u64(MS_OPT_IDLE_PURGE),
    .rss_soft_limit = ms_opt_u64(MS_OPT_RSS_SOFT_LIMIT),
  };
  ms_mmap_cap = ms_opt_u64(MS_OPT_MMAP_RESIDENT_MAX);
  ms_purge_interval_ms = ms_opt_u64(MS_OPT_PURGE_INTERVAL);
  ms_mmap_registry_configure(ms_opt_u64(MS_OPT_MMAP_MIN));
  if (ms_cfg.retained_max || ms_cfg.idle_ms || ms_cfg.rss_soft_limit)
    ms_monitor_add_job("memory_return", ms_purge_interval_ms, ms_policy_tick);
  if (ms_mmap_cap)
    ms_monitor_add_job("mmap_cap", ms_purge_interval_ms < MS_MMAP_LOOK_MS ? ms_purge_interval_ms : MS_MMAP_LOOK_MS,
                       ms_policy_mmap_tick);
}

void ms_policy_at_exit(void) {
  if (__atomic_load_n(&ms_purges, __ATOMIC_RELAXED))
    ms_log_info("memory return: %llu purges returned %llu bytes",
                (unsigned long long)__atomic_load_n(&ms_purges, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&ms_purged_bytes, __ATOMIC_RELAXED));
}

void ms_policy_atfork_prepare(void) {
  ms_mmap_atfork_prepare();
  ms_policy_events_atfork_prepare();
}
void ms_policy_atfork_parent(void) {
  ms_policy_events_atfork_parent();
  ms_mmap_atfork_parent();
}
void ms_policy_atfork_child(void) {
  ms_policy_events_atfork_child();
  ms_timeline_atfork_child();
  ms_mmap_atfork_child();
}

void ms_policy_counters_read(ms_policy_counters *out) {
  ms_mmap_counters m;
  ms_mmap_counters_read(&m);
  *out = (ms_policy_counters){
    .purges = __atomic_load_n(&ms_purges, __ATOMIC_RELAXED),
    .purged_bytes = __atomic_load_n(&ms_purged_bytes, __ATOMIC_RELAXED),
    .heap_peak = __atomic_load_n(&ms_heap_peak, __ATOMIC_RELAXED),
    .mmap_tracked = m.tracked_bytes,
    .mmap_resident = m.resident_bytes,
    .mmap_dropped = m.dropped_bytes,
  };
}
