/* Activity ticks (activity.h). */
#include "activity.h"

#include "../config/options.h"
#include "monitor.h"
#include "../policy/policy.h"
#include "../profile/profile.h"
#include "reporting.h"

bool ms_activity_on;
static bool ms_metrics_on;
static bool ms_clock_jobs; /* jobs that run on a clock: profiling snapshots, reports, metrics */
static bool ms_heap_inline; /* the heap policy looks on the program's own threads */

void ms_activity_init(void) {
  ms_metrics_on = *ms_opt_str(MS_OPT_METRICS_FILE) != 0;
  ms_clock_jobs = ms_profile_active || ms_reporting_active() || ms_metrics_on;
  ms_heap_inline = ms_policy_heap_active();
  ms_activity_on = ms_clock_jobs || ms_policy_active();
}

/* A tick that finds the thread away asks whether a job wants it. At most one tick per
 * MS_ACTIVITY_CHECK_MS, process-wide, asks: threads allocating at full speed would otherwise
 * queue on the monitor's life lock once per MiB each. */
#define MS_ACTIVITY_CHECK_MS 20
static uint64_t ms_next_check_ms;

bool ms_activity_fine;

static void ms_activity_check(void) {
  bool want = ms_monitor_restart_pending() || ms_clock_jobs || ms_policy_wants_thread();
  bool fine = !want && ms_policy_thread_waits_for_work();
  if (fine != ms_activity_fine) __atomic_store_n(&ms_activity_fine, fine, __ATOMIC_RELAXED);
  if (fine && !ms_profile_active && ms_tls_thread.registered && ms_tls_thread.sample_countdown > MS_FINE_TICK_BYTES)
    ms_tls_thread.sample_countdown = MS_FINE_TICK_BYTES; /* this thread's next tick, not a MiB away */
  if (want) ms_monitor_kick();
}

void ms_activity_tick(void) {
  if (!ms_activity_on || ms_guard_held()) return;
  if (ms_heap_inline) ms_policy_heap_tick(false);
  if (ms_monitor_running()) return;
  uint64_t now = ms_monitor_now_ms(), due = __atomic_load_n(&ms_next_check_ms, __ATOMIC_RELAXED);
  if (now < due ||
      !__atomic_compare_exchange_n(&ms_next_check_ms, &due, now + MS_ACTIVITY_CHECK_MS, false, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return;
  ms_activity_check();
}

/* Freed bytes between two looks of the free path. Small enough that what an unload leaves
 * unpurged after its last look is a few MiB; large enough that a look (about 50 us: the
 * backend's statistics) costs under 1% of freeing that much. */
#define MS_FREE_TICK_BYTES (8ull << 20)

void ms_activity_free_tick(ms_thread *t) {
  /* Without a heap policy the mark goes out of reach: the free path never comes here again. */
  uint64_t mark = ms_heap_inline ? *t->freed_p + MS_FREE_TICK_BYTES : UINT64_MAX;
  /* Under profiling free_mark stays 0: every free goes on to the profiler's test (track.h). */
  if (ms_profile_active) t->heap_mark = mark;
  else t->free_mark = mark;
  if (!ms_heap_inline || ms_guard_held()) return;
  ms_policy_heap_tick(true);
}

/* A mapping the cap watches: not rate-limited (a scan of it allocates nothing that would tick). */
void ms_activity_capped_mapping(void) {
  if (!ms_activity_on || ms_guard_held() || ms_monitor_running()) return;
  ms_activity_check();
}

/* Inside the atfork child handler nothing may start a thread: pthread_create allocates the
 * thread's TLS through the host's allocator, whose lock the program's own child handler
 * (registered after ours, run after ours) has not released yet. The child's clock jobs start
 * the thread from its first allocation slow path instead (ms_activity_tick: the monitor is not
 * running and ms_clock_jobs holds); the rate limit starts afresh so that first tick asks, and
 * without profiling the forking thread's next allocation goes to the slow path whatever its
 * size (a child that allocates little still gets its metrics). Under profiling the countdown
 * is the next sample's distance and stays: a child that allocates gets a sample soon enough. */
void ms_activity_after_fork_child(void) {
  __atomic_store_n(&ms_next_check_ms, 0, __ATOMIC_RELAXED);
  if (ms_clock_jobs && !ms_profile_active && ms_tls_thread.registered) {
    ms_tls_thread.sample_countdown = 0;
    /* A direct thread's next allocation must come to the slow path too: back on the tracked
     * path until then (that visit switches it again). */
    if (ms_tls_thread.direct) ms_dispatch_set(&ms_tls_thread, MS_DISPATCH_TRACKED);
  }
}
