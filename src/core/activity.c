/* Activity ticks (activity.h). */
#include "activity.h"

#include "../config/options.h"
#include "../policy/monitor.h"
#include "../policy/policy.h"
#include "../profile/profile.h"
#include "reporting.h"

bool ms_activity_on;
static bool ms_metrics_on;
static bool ms_clock_jobs; /* jobs that run on a clock: profiling snapshots, reports, metrics */

void ms_activity_init(void) {
  ms_metrics_on = *ms_opt_str(MS_OPT_METRICS_FILE) != 0;
  ms_clock_jobs = ms_profile_active || ms_reporting_active() || ms_metrics_on;
  ms_activity_on = ms_clock_jobs || ms_policy_active();
}

/* A tick that finds the thread away asks whether a job wants it, which reads every thread's
 * counters under the registry lock. At most one tick per MS_ACTIVITY_CHECK_MS, process-wide,
 * asks: threads allocating at full speed in a process whose heap stays small (no thread wanted)
 * would otherwise queue on that lock once per MiB each. */
#define MS_ACTIVITY_CHECK_MS 20
static uint64_t ms_next_check_ms;

static void ms_activity_check(void) {
  if (ms_monitor_restart_pending() || ms_clock_jobs || ms_policy_wants_thread()) ms_monitor_kick();
}

void ms_activity_tick(void) {
  if (!ms_activity_on || ms_guard_held() || ms_monitor_running()) return;
  uint64_t now = ms_monitor_now_ms(), due = __atomic_load_n(&ms_next_check_ms, __ATOMIC_RELAXED);
  if (now < due ||
      !__atomic_compare_exchange_n(&ms_next_check_ms, &due, now + MS_ACTIVITY_CHECK_MS, false, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return;
  ms_activity_check();
}

/* A mapping the cap watches: not rate-limited (a scan of it allocates nothing that would tick). */
void ms_activity_capped_mapping(void) {
  if (!ms_activity_on || ms_guard_held() || ms_monitor_running()) return;
  ms_activity_check();
}

void ms_activity_after_fork_child(void) {
  if (ms_clock_jobs) ms_monitor_kick();
}
