/* The file-mapping cap (MEMSHIM_MMAP_RESIDENT_MAX): a monitor job that keeps the resident pages
 * of tracked file mappings (mmap_registry.c) under the cap, with its own estimate of how fast
 * they grow; and the file-page shed the heap job asks for above MEMSHIM_RSS_SOFT_LIMIT. The
 * heap's purge policy is heap_return.c, which calls this file and is never called back. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "../config/options.h"
#include "../util/log.h"
#include "../util/proc.h"
#include "mmap_registry.h"
#include "../util/job.h"
#include "policy_internal.h"

static uint64_t ms_mmap_cap; /* MEMSHIM_MMAP_RESIDENT_MAX, 0 = off */
static uint64_t ms_purge_interval_ms;

/* A file-mapping drop that freed something: said at MEMSHIM_VERBOSE=1 as
 * "drop (trigger): MADV_DONTNEED on <what>", and kept as an event. */
__attribute__((format(printf, 3, 4))) static void ms_policy_mmap_note(const char *trigger, uint64_t dropped,
                                                                      const char *what, ...) {
  if (ms_log_level() >= MS_LOG_INFO) {
    char buf[192];
    va_list ap;
    va_start(ap, what);
    vsnprintf(buf, sizeof buf, what, ap);
    va_end(ap);
    ms_log(MS_LOG_INFO, "drop (%s): MADV_DONTNEED on %s", trigger, buf);
  }
  ms_policy_event_push(MS_EVENT_MMAP_DROP, dropped, trigger);
}

/* Drop file-mapping pages when they pass limit, down to target; returns the resident bytes left. */
static uint64_t ms_policy_mmap_drop(const char *trigger, uint64_t limit, uint64_t target) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t resident;
  uint64_t dropped = ms_mmap_enforce(limit, target, &resident);
  if (!dropped) return resident;
  ms_policy_mmap_note(trigger, dropped, "%llu bytes of file mappings in %.3f ms, %llu resident now",
                      (unsigned long long)dropped, ms_elapsed_ms(&t0), (unsigned long long)resident);
  return resident;
}

/* ---- the file-mapping cap ----
 * A scan reading from the page cache at 10 GB/s passes a 64 MB cap in milliseconds, while a
 * sleeping process should cost nothing. Each look first asks the kernel for the process's page
 * fault count (getrusage: one system call, no descriptor): no new faults, no new resident
 * pages, and the look ends there. Otherwise it reads statm's file-backed resident bytes and
 * estimates the tracked resident bytes as the last full measure plus the growth since; the full
 * measure (pagemap, about 1 ms per GiB mapped) and the drop run when the estimate reaches the
 * cap. While pages grow, looks come every MS_MMAP_LOOK_MIN_MS; when they do not, the next look
 * comes before the room left below cap + MS_MMAP_SLACK could be used up at the fastest growth
 * seen (at least MS_MMAP_RATE_FLOOR), and at most MS_MMAP_LOOK_MAX_MS later; as long as nothing
 * grows the delay keeps doubling, up to MS_MMAP_LOOK_IDLE_MS (a wake-up costs about 25 us of CPU
 * here: a sleeping process must not pay for hundreds a second). A drop measures and goes to
 * three quarters of the cap, least recently grown chunks first. While growth is faster than
 * MS_MMAP_FAST_RATE (a scan streaming from the page cache, which outruns a measure) it comes
 * MS_MMAP_LATENCY_MS of growth before the cap, and drops every droppable page at once, unmeasured.
 * docs/memory-return.md has the measured peaks. */
#define MS_MMAP_LOOK_MIN_MS 1
#define MS_MMAP_LOOK_MAX_MS 20
#define MS_MMAP_LOOK_IDLE_MS 100 /* while nothing grows, the delay doubles up to this */
#define MS_MMAP_SLACK (48ull << 20)      /* plan to look again before the cap is passed by this */
#define MS_MMAP_RATE_FLOOR (8ull << 20)  /* bytes/ms assumed at least: a page-cache scan's speed */
#define MS_MMAP_FAST_RATE (256ull << 10) /* bytes/ms: above this, act early and drop it all */
#define MS_MMAP_LATENCY_MS 6             /* a drop (~3.5 ms for a 1 GiB mapping) and the next look */

static uint64_t ms_mmap_last_shared, ms_mmap_last_resident, ms_mmap_last_scan_ms;
static uint64_t ms_mmap_prev_shared, ms_mmap_prev_ms;
static uint64_t ms_mmap_rate; /* growth, bytes/ms: the highest seen, fading while nothing grows */
static uint64_t ms_mmap_prev_faults;
static uint64_t ms_mmap_idle_ms; /* the last look's delay while nothing grows; 0 after growth */

/* After a drop: the tracked resident bytes the estimate starts from again, statm's file-backed
 * figure read after the drop (shared) and the fault count it grows from. Returns the new estimate. */
static uint64_t ms_mmap_rebase(uint64_t resident, uint64_t shared) {
  ms_mmap_last_resident = resident;
  ms_mmap_last_shared = ms_mmap_prev_shared = shared;
  ms_mmap_prev_faults = ms_proc_page_faults();
  return resident;
}

ms_job_next ms_policy_mmap_job(uint64_t now_ms) {
  if (!ms_mmap_registry_busy()) return (ms_job_next){ms_purge_interval_ms, false};
  uint64_t faults = ms_proc_page_faults();
  uint64_t estimate = ms_mmap_last_resident + (ms_mmap_prev_shared > ms_mmap_last_shared ? ms_mmap_prev_shared - ms_mmap_last_shared : 0);
  bool grew = false;
  if (faults != ms_mmap_prev_faults) {
    /* the full measure also runs once per purge interval while pages come in (statm's
     * file-backed figure counts other mappings too, so the estimate can drift) */
    bool full_due = now_ms - ms_mmap_last_scan_ms >= ms_purge_interval_ms;
    ms_mmap_prev_faults = faults;
    uint64_t shared = ms_proc_rss_shared();
    grew = shared > ms_mmap_prev_shared;
    if (grew && ms_mmap_prev_ms && now_ms > ms_mmap_prev_ms) {
      uint64_t rate = (shared - ms_mmap_prev_shared) / (now_ms - ms_mmap_prev_ms);
      if (rate > ms_mmap_rate) ms_mmap_rate = rate;
    }
    if (grew || now_ms > ms_mmap_prev_ms) {
      ms_mmap_prev_shared = shared;
      ms_mmap_prev_ms = now_ms;
    }
    if (shared < ms_mmap_last_shared) ms_mmap_last_shared = shared;
    estimate = ms_mmap_last_resident + (shared - ms_mmap_last_shared);
    ms_mmap_action act = ms_mmap_cap_decide(ms_mmap_rate, estimate, ms_mmap_cap, full_due);
    if (act == MS_MMAP_DROP_ALL) {
      /* streaming: drop it all now, no measure first (the next looks measure again) */
      uint64_t shared_after;
      uint64_t dropped = ms_mmap_drop_all(&shared_after);
      if (dropped)
        ms_policy_mmap_note("mmap_cap", dropped, "all %llu bytes of droppable file mappings (a fast scan)",
                            (unsigned long long)dropped);
      estimate = ms_mmap_rebase(0, shared_after);
    } else if (act == MS_MMAP_MEASURE) {
      ms_mmap_last_scan_ms = now_ms;
      uint64_t resident = ms_policy_mmap_drop("mmap_cap", ms_mmap_cap, ms_mmap_cap - ms_mmap_cap / 4);
      estimate = ms_mmap_rebase(resident, ms_proc_rss_shared());
    }
  }
  return (ms_job_next){ms_mmap_next_look(&ms_mmap_rate, &ms_mmap_idle_ms, grew, estimate, ms_mmap_cap), true};
}

/* The two decisions of a look, apart from the pages, the clock and /proc that feed them, so that
 * tests/unit/test_mmap_cap.c can drive them with figures. */
ms_mmap_action ms_mmap_cap_decide(uint64_t rate, uint64_t estimate, uint64_t cap, bool full_due) {
  /* While growth is fast, act early: the drop itself and the next look take a few
   * milliseconds, during which the scan goes on. */
  bool fast = rate >= MS_MMAP_FAST_RATE;
  uint64_t lead = fast ? rate * MS_MMAP_LATENCY_MS : 0;
  if (lead > cap / 2) lead = cap / 2;
  if (fast && estimate + lead >= cap) return MS_MMAP_DROP_ALL;
  if (estimate >= cap || full_due) return MS_MMAP_MEASURE;
  return MS_MMAP_NONE;
}

uint64_t ms_mmap_next_look(uint64_t *rate, uint64_t *idle_ms, bool grew, uint64_t estimate, uint64_t cap) {
  if (grew) {
    *idle_ms = 0;
    return MS_MMAP_LOOK_MIN_MS;
  }
  *rate -= *rate / 4; /* the highest growth seen fades while nothing grows */
  if (*idle_ms) { /* nothing grew since the last look either: back off */
    *idle_ms = *idle_ms * 2 < MS_MMAP_LOOK_IDLE_MS ? *idle_ms * 2 : MS_MMAP_LOOK_IDLE_MS;
    return *idle_ms;
  }
  uint64_t r = *rate > MS_MMAP_RATE_FLOOR ? *rate : MS_MMAP_RATE_FLOOR;
  uint64_t room = cap + MS_MMAP_SLACK > estimate ? cap + MS_MMAP_SLACK - estimate : 0;
  uint64_t next = room / r;
  if (next < MS_MMAP_LOOK_MIN_MS) next = MS_MMAP_LOOK_MIN_MS;
  if (next > MS_MMAP_LOOK_MAX_MS) next = MS_MMAP_LOOK_MAX_MS;
  *idle_ms = next;
  return next;
}

void ms_mmap_cap_shed(uint64_t excess) {
  if (!ms_mmap_registry_busy()) return;
  /* File pages first: the page cache keeps them, so dropping costs at most a re-read. */
  uint64_t resident;
  ms_mmap_enforce(UINT64_MAX, UINT64_MAX, &resident);
  if (resident) ms_policy_mmap_drop("rss_soft_limit", 0, resident > excess ? resident - excess : 0);
}

bool ms_mmap_cap_on(void) { return ms_mmap_cap != 0; }

/* The cap's thread makes a single-threaded process multi-threaded, which some hosts forbid
 * (Chromium's zygote checks /proc/self/task before it unshares: a second task aborts the
 * browser; a raw unshare(CLONE_NEWUSER) fails with EINVAL). So a process that runs one thread
 * gets it only once the cap has work: its tracked mappings hold half the cap resident. The
 * pagemap measure that tells runs only when statm's file-backed figure has grown by the room
 * left since the last measure (a few opens per 20 ms tick at most, none while nothing grows);
 * a process with threads of its own gets the thread at its first capped mapping, as before.
 * While it waits so, ticks come every MS_FINE_TICK_BYTES allocated instead of every MiB
 * (ms_mmap_cap_waiting, core/activity.c): a scan of a mapping allocates little (numpy's
 * memmap scan: the first look came at 77 MB resident under a 64M cap with MiB ticks). */
static uint64_t ms_single_next_shared; /* statm file-backed bytes that call for the next measure */
static bool ms_single_waiting;         /* the last answer was "not yet" for that reason */

bool ms_mmap_cap_wants_thread(void) {
  __atomic_store_n(&ms_single_waiting, false, __ATOMIC_RELAXED);
  if (!ms_mmap_cap || !ms_mmap_registry_busy()) return false;
  int threads = ms_proc_live_threads();
  if (threads != 1) return true; /* 0: /proc unreadable, no way to tell: as before */
  __atomic_store_n(&ms_single_waiting, true, __ATOMIC_RELAXED);
  uint64_t shared = ms_proc_rss_shared();
  if (shared < __atomic_load_n(&ms_single_next_shared, __ATOMIC_RELAXED)) return false;
  uint64_t resident;
  ms_mmap_enforce(UINT64_MAX, UINT64_MAX, &resident); /* measures, drops nothing */
  if (resident >= ms_mmap_cap / 2) {
    __atomic_store_n(&ms_single_waiting, false, __ATOMIC_RELAXED);
    return true;
  }
  __atomic_store_n(&ms_single_next_shared, shared + (ms_mmap_cap / 2 - resident), __ATOMIC_RELAXED);
  return false;
}

bool ms_mmap_cap_waiting(void) { return __atomic_load_n(&ms_single_waiting, __ATOMIC_RELAXED); }

void ms_mmap_cap_init(uint64_t purge_interval_ms, bool soft_limit) {
  ms_mmap_cap = ms_opt_u64(MS_OPT_MMAP_RESIDENT_MAX);
  ms_purge_interval_ms = purge_interval_ms;
  /* File mappings are tracked only when something acts on them. */
  if (ms_mmap_cap || soft_limit) ms_mmap_registry_configure(ms_opt_u64(MS_OPT_MMAP_MIN));
}
