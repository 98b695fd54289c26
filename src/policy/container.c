/* The container's memory limit as the policy uses it (docs/memory-return.md, "Before the OOM
 * killer").
 *
 * Discovery (util/cgroup.c) happens once per process, lazily: the first time live heap reaches
 * the watch floor (32 MiB) and the policy asks whether it wants the thread, or on the monitor
 * thread when it already runs. A shell, a health check or /bin/true never reads a cgroup file,
 * and the constructor reads nothing. With a limit found and MEMSHIM_RSS_SOFT_LIMIT not set, the
 * heap policy takes MEMSHIM_CONTAINER_SOFT_PCT of it as its soft limit (heap_return.c).
 *
 * The pressure job (core/init.c's job table, on the monitor thread) reads the cgroup's usage,
 * events and PSI only while this process's memory grows (getrusage's fault count moved since
 * its last look): every 20 ms while it grows, backing off to once a second. When usage
 * crosses MEMSHIM_PRESSURE_REPORT_PCT of the limit, or the cgroup's PSI says tasks stalled on
 * memory for MS_PSI_STALL of the last 10 s, it writes a pressure report (the core's hook), once
 * per crossing: the crossing ends when usage falls 5 points below and PSI below the mark. */
#include <string.h>

#include "../backend/accounting.h"
#include "../config/options.h"
#include "../util/cgroup.h"
#include "../util/job.h"
#include "../util/log.h"
#include "../util/proc.h"
#include "policy.h"
#include "policy_internal.h"

#define MS_PRESSURE_FAST_MS 20    /* look this often while memory grows */
/* While nothing grows: one getrusage a second. Not the heap job's 200 ms: the two would wake the
 * thread at different moments (measured: 198 wake-ups in 20 s idle against the heap job's 100). */
#define MS_PRESSURE_IDLE_MS 1000

static ms_cgroup ms_cg;
static int ms_cg_done; /* atomic: 0 not looked, 1 looking, 2 found (or not) */
static bool ms_cg_wanted;
static uint64_t ms_report_pct;
static ms_pressure_report_fn ms_report_fn;

static uint64_t ms_pressure_reports;
/* the job's own */
static uint64_t ms_last_faults = UINT64_MAX, ms_idle_ms = MS_PRESSURE_FAST_MS;
static bool ms_over;

void ms_container_init(void) {
  ms_report_pct = ms_opt_u64(MS_OPT_PRESSURE_REPORT_PCT);
  ms_cg_wanted = ms_opt_u64(MS_OPT_CONTAINER_SOFT_PCT) || ms_report_pct;
}

bool ms_container_wanted(void) { return ms_cg_wanted; }

void ms_policy_set_pressure_report(ms_pressure_report_fn fn) {
  __atomic_store_n(&ms_report_fn, fn, __ATOMIC_RELEASE);
}

const ms_cgroup *ms_container_find(void) {
  if (!ms_cg_wanted) return NULL;
  int done = __atomic_load_n(&ms_cg_done, __ATOMIC_ACQUIRE);
  if (done == 0) {
    int expect = 0;
    if (!__atomic_compare_exchange_n(&ms_cg_done, &expect, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return NULL; /* another thread is looking */
    ms_cgroup_find(&ms_cg, NULL, NULL, NULL);
    if (ms_cg.version)
      ms_log_info("cgroup v%d memory: %s, limit %llu MiB (%s)", ms_cg.version, ms_cg.dir,
                  (unsigned long long)(ms_cg.limit >> 20), ms_cg.limit_file ? ms_cg.limit_file : "none");
    __atomic_store_n(&ms_cg_done, 2, __ATOMIC_RELEASE);
    done = 2;
  }
  return done == 2 && ms_cg.version ? &ms_cg : NULL;
}

bool ms_container_looked(void) { return __atomic_load_n(&ms_cg_done, __ATOMIC_ACQUIRE) == 2; }

bool ms_container_limit(uint64_t *limit) {
  const ms_cgroup *cg = __atomic_load_n(&ms_cg_done, __ATOMIC_ACQUIRE) == 2 && ms_cg.version ? &ms_cg : NULL;
  if (!cg || !cg->limit) return false;
  *limit = cg->limit;
  return true;
}

bool ms_policy_container_read(ms_policy_container *out) {
  memset(out, 0, sizeof *out);
  if (__atomic_load_n(&ms_cg_done, __ATOMIC_ACQUIRE) != 2 || !ms_cg.version) return false;
  out->version = ms_cg.version;
  out->limit = ms_cg.limit;
  out->limit_file = ms_cg.limit_file;
  out->dir = ms_cg.limit_dir;
  /* read now: a report or a metrics write is rare, and the job's last read may be old (it reads
   * nothing while this process does not grow) */
  ms_cgroup_state st;
  ms_cgroup_read(&ms_cg, &st);
  out->usage = st.usage;
  out->has_usage = st.has_usage;
  out->oom_kill = st.oom_kill;
  ms_cgroup_read_stat(&ms_cg, &st);
  out->has_file = st.has_file;
  out->file_bytes = st.file_bytes;
  out->has_psi = st.has_psi;
  out->psi_some_avg10 = st.psi_some_avg10;
  out->psi_full_avg10 = st.psi_full_avg10;
  out->pressure_reports = __atomic_load_n(&ms_pressure_reports, __ATOMIC_RELAXED);
  return true;
}

/* The pressure job. */
ms_job_next ms_policy_pressure_job(uint64_t now_ms) {
  (void)now_ms;
  uint64_t interval = ms_opt_u64(MS_OPT_PURGE_INTERVAL);
  if (__atomic_load_n(&ms_cg_done, __ATOMIC_ACQUIRE) != 2) {
    /* Not looked yet: look once the heap is worth watching (the thread runs for another job). */
    ms_counters c;
    ms_counters_read(&c);
    if (c.live_bytes < MS_HEAP_WATCH_FLOOR || !ms_container_find()) return (ms_job_next){interval, false};
  }
  if (!ms_cg.version || !ms_report_pct || (!ms_cg.limit && ms_cg.version == 1)) /* nothing to watch */
    return (ms_job_next){UINT64_MAX, false};
  uint64_t faults = ms_proc_page_faults();
  bool grew = faults != ms_last_faults;
  ms_last_faults = faults;
  if (grew) {
    ms_idle_ms = MS_PRESSURE_FAST_MS;
  } else {
    /* nothing new resident here: back off; no read unless a crossing must be seen to end */
    ms_idle_ms = ms_idle_ms * 2 > MS_PRESSURE_IDLE_MS ? MS_PRESSURE_IDLE_MS : ms_idle_ms * 2;
    if (!ms_over) return (ms_job_next){ms_idle_ms, false};
  }
  ms_cgroup_state st;
  ms_cgroup_read(&ms_cg, &st);
  int d = ms_pressure_decide(&ms_over, ms_cg.limit, ms_report_pct, &st);
  if (d > 0) {
    __atomic_add_fetch(&ms_pressure_reports, 1, __ATOMIC_RELAXED);
    ms_log_error("memory pressure: cgroup usage %llu MiB of %llu MiB%s, PSI some %u.%02u%%: writing a pressure report",
                 (unsigned long long)(st.usage >> 20), (unsigned long long)(ms_cg.limit >> 20),
                 ms_cg.limit ? "" : " (no limit)", st.psi_some_avg10 / 100, st.psi_some_avg10 % 100);
    ms_policy_event_push(MS_EVENT_PRESSURE, st.usage, d == MS_PRESSURE_BY_USAGE ? "cgroup_usage" : "psi");
    ms_pressure_report_fn fn = __atomic_load_n(&ms_report_fn, __ATOMIC_ACQUIRE);
    if (fn) fn("pressure");
  } else if (d < 0) {
    ms_log_info("memory pressure over: cgroup usage %llu MiB", (unsigned long long)(st.usage >> 20));
  }
  return (ms_job_next){ms_idle_ms, false};
}

bool ms_policy_pressure_on(void) { return ms_cg_wanted && ms_report_pct; }

void ms_container_atfork_child(void) {
  /* same cgroup as the parent (until it moves itself); its own crossing. A look another thread
   * had under way was not copied: look again. */
  int looking = 1;
  __atomic_compare_exchange_n(&ms_cg_done, &looking, 0, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  ms_last_faults = UINT64_MAX;
  ms_idle_ms = MS_PRESSURE_FAST_MS;
  ms_over = false;
  __atomic_store_n(&ms_pressure_reports, 0, __ATOMIC_RELAXED);
}
