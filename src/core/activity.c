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

void ms_activity_tick(void) {
  if (!ms_activity_on || ms_guard_held() || ms_monitor_running()) return;
  if (ms_monitor_restart_pending() || ms_clock_jobs || ms_policy_wants_thread())
    ms_monitor_kick();
}

void ms_activity_after_fork_child(void) {
  if (ms_clock_jobs) ms_monitor_kick();
}
