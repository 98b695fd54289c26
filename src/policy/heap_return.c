/* Memory return. The heap policy looks, on the program's own threads, at the heap (backend
 * statistics), the RSS and the file mappings, and purges or drops as heap_decide.c says: from
 * the allocation slow path at most every MEMSHIM_PURGE_INTERVAL (50 ms while an unload is under
 * way), and from the free path each time a thread has freed 8 MiB more (core/activity.c), so an
 * unload is purged by the thread that frees it. No thread of ours exists for it, as jemalloc
 * decays without its background thread (docs/design.md, "No thread for the heap").
 * Under MEMSHIM_RSS_SOFT_LIMIT the heap job is a monitor job instead: RSS grows while the
 * program makes no calls. The file-mapping cap is mmap_cap.c.
 * Live bytes come from jemalloc's own per-thread totals (or mallinfo2), freed-but-resident
 * bytes from the backend's statistics.
 * Every purge is counted, logged at MEMSHIM_VERBOSE=1 and pushed to the event ring. */
#include <pthread.h>
#include <time.h>

#include "../backend/accounting.h"
#include "../backend/backend.h"
#include "../config/options.h"
#include "../util/guard.h"
#include "../util/log.h"
#include "../util/owner.h"
#include "../util/proc.h"
#include "mmap_registry.h"
#include "../util/job.h"
#include "policy.h"
#include "policy_internal.h"

/* While live heap is falling (an unload), look this often, so the purge follows its end. */
#define MS_FALLING_LOOK_MS 50

static uint64_t ms_purges, ms_purged_bytes, ms_heap_peak;

/* Held around the backend's purge, and by fork. jemalloc marks an arena's decay state
 * "purging" and drops its locks while it returns pages; a fork in that window copies the mark
 * into the child, where no thread will ever clear it, and every later purge or decay of that
 * arena in the child does nothing (memshim_trim or malloc_trim on one thread while another
 * forks). Fork waits for our purge instead. */
static pthread_mutex_t ms_purge_lock = PTHREAD_MUTEX_INITIALIZER;

static ms_heap_cfg ms_cfg;
/* Some heap return is configured (MEMSHIM_RETAINED_MAX, MEMSHIM_IDLE_PURGE, MEMSHIM_RSS_SOFT_LIMIT):
 * the heap policy looks (inline, or as a monitor job under the soft limit). */
static bool ms_heap_return_on(void) { return ms_cfg.retained_max || ms_cfg.idle_ms || ms_cfg.rss_soft_limit; }
/* MEMSHIM_RSS_SOFT_LIMIT watches RSS, which file pages and a quiet program's touches raise with
 * no allocation or free: with it the heap job is a monitor job, as the mapping cap. Below this
 * much live heap that job does not keep the thread. */
static bool ms_heap_threaded; /* atomic: set once more when a container limit becomes the soft limit */
static uint64_t ms_watch_floor;
static ms_heap_state ms_state; /* the look's only (ms_look_busy, or the monitor thread) */
static bool ms_state_ready;
static uint64_t ms_purge_interval_ms;
/* MEMSHIM_RSS_SOFT_LIMIT is not set and MEMSHIM_CONTAINER_SOFT_PCT is: a cgroup limit, once found,
 * becomes the soft limit (ms_container_soft). */
static bool ms_container_soft_pending;

void ms_policy_note_live(uint64_t live) {
  uint64_t peak = __atomic_load_n(&ms_heap_peak, __ATOMIC_RELAXED);
  while (live > peak && !__atomic_compare_exchange_n(&ms_heap_peak, &peak, live, 1, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED)) {
  }
}

typedef struct {
  uint64_t returned;        /* resident bytes given back */
  uint64_t retained_before; /* what the purge saw */
  uint64_t retained_after;
  int released;             /* the allocator's own word: 1, 0, or -1 = it does not say */
} ms_purge_result;

/* What a purge gave back: jemalloc's dirty+muzzy pages that went away (exact, whatever other
 * threads do meanwhile); glibc has no such figure (its free chunks stay counted after
 * malloc_trim), so the RSS drop. */
static ms_purge_result ms_purge_measured(void) {
  ms_purge_result r = {0, 0, 0, -1};
  ms_backend_stats before = {0}, after = {0};
  uint64_t rss0 = ms_proc_rss();
  int have = ms_be.stats(&before) == 0;
  pthread_mutex_lock(&ms_purge_lock);
  r.released = ms_be.purge();
  pthread_mutex_unlock(&ms_purge_lock);
  have = have && ms_be.stats(&after) == 0;
  uint64_t rss1 = ms_proc_rss();
  r.retained_before = have ? before.retained : 0;
  r.retained_after = have ? after.retained : 0;
  if (ms_be_kind == MS_BE_JEMALLOC && have)
    r.returned = before.retained > after.retained ? before.retained - after.retained : 0;
  else
    r.returned = rss0 > rss1 ? rss0 - rss1 : 0;
  return r;
}

static ms_purge_result ms_purge(const char *trigger) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ms_purge_result r = ms_purge_measured();
  __atomic_add_fetch(&ms_purges, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ms_purged_bytes, r.returned, __ATOMIC_RELAXED);
  ms_log_info("purge (%s): %s returned %llu bytes in %.3f ms", trigger,
              ms_be_kind == MS_BE_GLIBC ? "malloc_trim(0)" : "jemalloc arena purge",
              (unsigned long long)r.returned, ms_elapsed_ms(&t0));
  ms_policy_event_push(MS_EVENT_PURGE, r.returned, trigger);
  return r;
}

uint64_t ms_policy_purge_now(const char *trigger) { return ms_purge(trigger).returned; }

int ms_policy_trim(const char *trigger) {
  ms_purge_result r = ms_purge(trigger);
  if (r.released >= 0) return r.released;
  return r.returned > 0 || r.retained_before > r.retained_after;
}

/* ---- the heap ---- */

ms_job_next ms_policy_heap_job(uint64_t now_ms) {
  ms_counters c;
  ms_counters_read(&c);
  ms_policy_note_live(c.live_bytes);
  /* Backend statistics are the expensive part of a look (jemalloc's epoch refresh merges every
   * arena: ~150k instructions). Retained memory only grows through frees: with no bytes freed since the
   * last look, the last figure is an upper bound and is reused. */
  static uint64_t last_freed = UINT64_MAX, last_retained;
  if (c.freed_bytes != last_freed) {
    ms_backend_stats bs;
    last_retained = ms_be.stats(&bs) == 0 ? bs.retained : 0;
    last_freed = c.freed_bytes;
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
  if (ms_state.over_limit) ms_mmap_cap_shed(obs.rss - ms_cfg.rss_soft_limit);
  if (d.trigger != MS_TRIGGER_NONE) {
    ms_purge_result r = ms_purge(ms_heap_trigger_name(d.trigger));
    ms_heap_after_purge(&ms_cfg, &ms_state, r.retained_before, r.retained_after);
    last_retained = r.retained_after;
  }
  bool falling = ms_state.falling_bytes > 0;
  uint64_t next = falling && MS_FALLING_LOOK_MS < ms_purge_interval_ms ? MS_FALLING_LOOK_MS : ms_purge_interval_ms;
  bool needed = c.live_bytes >= ms_watch_floor || (ms_heap_pending(&ms_cfg, &ms_state) && last_retained >= (1u << 20));
  return (ms_job_next){next, needed};
}

/* One look at a time, process-wide: a thread that finds another looking goes on (that look
 * sees its frees too). */
static int ms_look_busy;
static uint64_t ms_look_due; /* monotonic ms of the next look from the allocation path */

void ms_policy_heap_tick(bool large_free) {
  if (!ms_heap_return_on() || ms_heap_threaded) return;
  uint64_t now = ms_monitor_now_ms();
  if (!large_free && now < __atomic_load_n(&ms_look_due, __ATOMIC_RELAXED)) return;
  if (!ms_is_owner()) return; /* a system call: only once a look is due */
  if (__atomic_exchange_n(&ms_look_busy, 1, __ATOMIC_ACQUIRE)) return;
  if (__atomic_load_n(&ms_heap_threaded, __ATOMIC_ACQUIRE)) { /* the container's limit took over meanwhile */
    __atomic_store_n(&ms_look_busy, 0, __ATOMIC_RELEASE);
    return;
  }
  ms_guard_enter(); /* what the look allocates is ours: no sample, no tick, no recursion */
  ms_job_next next = ms_policy_heap_job(now);
  __atomic_store_n(&ms_look_due, ms_monitor_now_ms() + next.next_ms, __ATOMIC_RELAXED);
  ms_guard_leave();
  __atomic_store_n(&ms_look_busy, 0, __ATOMIC_RELEASE);
}

bool ms_policy_heap_active(void) { return ms_heap_return_on() && !ms_heap_threaded; }

bool ms_policy_heap_threaded(void) { return ms_heap_threaded || ms_container_soft_pending; }

/* Once the heap is worth watching: find the cgroup, and with a limit make
 * MEMSHIM_CONTAINER_SOFT_PCT of it the soft limit. The heap job then moves to the monitor thread
 * (RSS grows without calls to us), as under MEMSHIM_RSS_SOFT_LIMIT; taken under the look's flag
 * so that no inline look is half-way through the state it hands over. True when it switched. */
static bool ms_container_soft(uint64_t live) {
  if (!__atomic_load_n(&ms_container_soft_pending, __ATOMIC_ACQUIRE) || live < MS_HEAP_WATCH_FLOOR) return false;
  if (!ms_container_find() && !ms_container_looked()) return false; /* another thread is looking */
  uint64_t limit = 0;
  if (!ms_container_limit(&limit)) { /* no cgroup, or no limit: today's inline policy stays */
    __atomic_store_n(&ms_container_soft_pending, false, __ATOMIC_RELEASE);
    return false;
  }
  uint64_t soft = limit / 100 * ms_opt_u64(MS_OPT_CONTAINER_SOFT_PCT);
  /* A limit the user did not type must not make a single-threaded host multi-threaded before it
   * matters (a sandbox that unshares, pids.max: docs/design.md): such a process keeps the inline
   * policy until its RSS reaches half the soft limit. */
  if (ms_proc_live_threads() == 1 && ms_proc_rss() < soft / 2) return false;
  if (__atomic_exchange_n(&ms_look_busy, 1, __ATOMIC_ACQUIRE)) return false; /* next time */
  bool switched = false;
  if (__atomic_load_n(&ms_container_soft_pending, __ATOMIC_ACQUIRE)) {
    ms_cfg.rss_soft_limit = soft;
    if (ms_cfg.rss_soft_limit < ms_watch_floor) ms_watch_floor = ms_cfg.rss_soft_limit;
    /* File mappings made from now on are tracked. Under a cap they already are, and configuring
     * the registry again would re-initialise a lock another thread may hold. */
    if (!ms_mmap_cap_on()) ms_mmap_cap_init(ms_purge_interval_ms, true);
    __atomic_store_n(&ms_heap_threaded, true, __ATOMIC_RELEASE);
    __atomic_store_n(&ms_container_soft_pending, false, __ATOMIC_RELEASE);
    ms_log_info("MEMSHIM_RSS_SOFT_LIMIT: %llu MiB (%llu%% of the cgroup's limit, %llu MiB)",
                (unsigned long long)(ms_cfg.rss_soft_limit >> 20),
                (unsigned long long)ms_opt_u64(MS_OPT_CONTAINER_SOFT_PCT), (unsigned long long)(limit >> 20));
    switched = true;
  }
  __atomic_store_n(&ms_look_busy, 0, __ATOMIC_RELEASE);
  return switched;
}

ms_job_next ms_policy_heap_monitor_job(uint64_t now_ms) {
  if (!__atomic_load_n(&ms_heap_threaded, __ATOMIC_ACQUIRE)) {
    /* the thread runs for another job: the container's limit is looked for here */
    ms_counters c;
    ms_counters_read(&c);
    if (!ms_container_soft(c.live_bytes))
      return (ms_job_next){ms_container_soft_pending ? ms_purge_interval_ms : UINT64_MAX, false};
  }
  return ms_policy_heap_job(now_ms);
}

bool ms_policy_active(void) {
  return ms_heap_return_on() || ms_mmap_cap_on();
}

bool ms_policy_thread_waits_for_work(void) { return ms_mmap_cap_waiting(); }

bool ms_policy_wants_thread(void) {
  if (ms_mmap_cap_wants_thread()) return true;
  bool pending = __atomic_load_n(&ms_container_soft_pending, __ATOMIC_ACQUIRE);
  uint64_t limit;
  if (!__atomic_load_n(&ms_heap_threaded, __ATOMIC_ACQUIRE) && !pending &&
      (!ms_policy_pressure_on() || (ms_container_looked() && !ms_container_limit(&limit))))
    return false;
  ms_counters c;
  ms_counters_read(&c);
  if (c.live_bytes < ms_watch_floor) return false;
  if (pending) ms_container_soft(c.live_bytes); /* once: a few small reads on this thread */
  if (__atomic_load_n(&ms_heap_threaded, __ATOMIC_ACQUIRE)) return true;
  /* MEMSHIM_CONTAINER_SOFT_PCT=0 with a pressure report on: the pressure job's own thread */
  return !pending && ms_policy_pressure_on() && ms_container_find() && ms_container_limit(&limit);
}

void ms_policy_init(void) {
  ms_cfg = (ms_heap_cfg){
    .retained_max = ms_opt_u64(MS_OPT_RETAINED_MAX),
    .idle_ms = ms_opt_u64(MS_OPT_IDLE_PURGE),
    .rss_soft_limit = ms_opt_u64(MS_OPT_RSS_SOFT_LIMIT),
    .free_stays_counted = ms_be_kind == MS_BE_GLIBC,
    .purge_while_falling = true,
  };
  ms_heap_threaded = ms_cfg.rss_soft_limit != 0;
  ms_container_init();
  /* An explicit MEMSHIM_RSS_SOFT_LIMIT (off included) wins over the container's. */
  ms_container_soft_pending = !ms_heap_threaded && ms_opt_source_get(MS_OPT_RSS_SOFT_LIMIT) != MS_SRC_ENV &&
                              ms_opt_u64(MS_OPT_CONTAINER_SOFT_PCT) != 0;
  ms_watch_floor = MS_HEAP_WATCH_FLOOR;
  if (ms_cfg.retained_max && ms_cfg.retained_max < ms_watch_floor) ms_watch_floor = ms_cfg.retained_max;
  if (ms_cfg.rss_soft_limit && ms_cfg.rss_soft_limit < ms_watch_floor) ms_watch_floor = ms_cfg.rss_soft_limit;
  ms_purge_interval_ms = ms_opt_u64(MS_OPT_PURGE_INTERVAL);
  ms_mmap_cap_init(ms_purge_interval_ms, ms_cfg.rss_soft_limit != 0);
}

void ms_policy_at_exit(void) {
  if (__atomic_load_n(&ms_purges, __ATOMIC_RELAXED))
    ms_log_info("memory return: %llu purges returned %llu bytes",
                (unsigned long long)__atomic_load_n(&ms_purges, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&ms_purged_bytes, __ATOMIC_RELAXED));
}

void ms_policy_atfork_prepare(void) {
  pthread_mutex_lock(&ms_purge_lock);
  ms_policy_events_atfork_prepare();
}
void ms_policy_atfork_parent(void) {
  ms_policy_events_atfork_parent();
  pthread_mutex_unlock(&ms_purge_lock);
}
void ms_policy_atfork_child(void) {
  pthread_mutex_init(&ms_purge_lock, NULL);
  __atomic_store_n(&ms_look_busy, 0, __ATOMIC_RELAXED); /* a look on another thread was not copied */
  __atomic_store_n(&ms_look_due, 0, __ATOMIC_RELAXED);
  ms_policy_events_atfork_child();
  ms_mmap_atfork_child();
  ms_container_atfork_child();
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
