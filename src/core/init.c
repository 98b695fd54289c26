/* Start-up, exit and fork: the one place that orders the subsystems.
 *
 * The constructor runs at priority 101, before other libraries' and the program's
 * constructors and before Python imports anything. It starts nothing: no thread, no file, no
 * library load beyond what an enabled feature needs (docs/design.md, "Start-up").
 *
 * Fork order (pthread_atfork; prepare handlers run in reverse order of registration, and ours
 * is registered after the allocator's, so ours runs first):
 *   prepare: monitor (stopped and joined: no thread of ours is copied, no job holds a lock),
 *            the report lock, policy locks — the order every other path takes them in (a
 *            report holds its lock while it reads the policy's), so prepare cannot wait on
 *            itself. The mapping registry, the thread list and the profiler's tables are never
 *            locked here (util/forklock.h);
 *   parent:  the same unlocked in reverse; the monitor comes back with the next activity, not
 *            now (Python 3.12 counts threads right after fork);
 *   child:   accounting, profile, reporting, policy, timeline, log, gpu, monitor reset; then the jobs that run on a clock
 *            (metrics, profiling) start the child's own thread; the heap policy waits for its
 *            first activity.
 * Exit: one ordered sequence of steps (ms_exit_steps below), run from the exit handlers the
 * subsystems arm at their moments (util/exit_arm.h) and from the destructor.
 * Exit and fork handlers act only in the process that owns the state: a vfork child shares
 * our memory and a raw clone() child copied it without these handlers (see "children that run
 * our exit handlers in our memory" below). */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../config/options.h"
#include "../gpu/gpu.h"
#include "monitor.h"
#include "../policy/policy.h"
#include "../policy/timeline.h"
#include "../profile/profile.h"
#include "../util/exit_arm.h"
#include "../util/log.h"
#include "../util/owner.h"
#include "../util/raw_mem.h"
#include "../util/sys.h"
#include "activity.h"
#include "metrics.h"
#include "reporting.h"
#include "state.h"

/* ---- the exit sequence ----
 * Every piece of exit work is one step below, in the order it runs. Exit handlers run in reverse
 * order of registration, so each step names the moment its handler must be registered at (an
 * earlier one would run after the teardown it must precede; util/exit_arm.h): the subsystem
 * that sees the moment arms it (gpu.c at the first device allocation, reporting.c's first
 * report_triggers run), the constructor arms its own. Whichever handler runs runs every step up
 * to its moment's last that has not run, skipping those of moments never armed: a step never
 * runs after a later one, nor twice, and only in the process that owns the state. A step whose
 * moment was armed but whose handler has not run yet may so run early, which is still before the
 * teardown that handler was registered after (it was registered even later). The exit status is
 * known once a handler ran (not in the destructor alone). */

static bool ms_exit_done[16];
static int ms_exit_status;
static bool ms_exit_status_known;

static void ms_exit_gpu_figures(int status) { (void)status, ms_gpu_exit(); }
static void ms_exit_report(int status) { (void)status, ms_reporting_exit(false); }
static void ms_exit_monitor(int status) {
  (void)status;
  ms_exiting = true;
  ms_monitor_stop(); /* for good: no job runs while the subsystems write their final state */
}
static void ms_exit_report_last(int status) { (void)status, ms_reporting_exit(true); }
static void ms_exit_gpu_last(int status) { (void)status, ms_gpu_at_exit(); }
static void ms_exit_policy(int status) { (void)status, ms_policy_at_exit(); }
static void ms_exit_metrics(int status) { (void)status, ms_metrics_at_exit(); }
static void ms_exit_leak_status(int status) {
  if (!ms_exit_status_known || status != 0 || !ms_reporting_exit_failed()) return;
  ms_log_error("%s: exit status 1 (the program itself exited with 0)", ms_option_env(MS_OPT_LEAK_CHECK));
  fflush(NULL); /* exit() would flush the program's stdio after the handlers; _exit does not */
  _exit(1);
}
static void ms_exit_vfork_child(int status);

static const struct {
  const char *name;
  ms_exit_moment moment;
  void (*fn)(int status);
  /* It must precede a teardown registered before its moment: run only by a handler, never by
   * the destructor or by the handler that stands in for a list a vfork child consumed (that
   * child ran the teardowns): a later step covers it. */
  bool handler_only;
  bool child; /* runs only in a child sharing our memory (vfork); the owner skips it */
} ms_exit_steps[] = {
    /* NVML's last figures while it lists the process; the GPU-only exit report */
    {"gpu_figures", MS_EXIT_AFTER_CUDA, ms_exit_gpu_figures, true, false},
    /* knows the exit status; under the leak scan only stops the monitor */
    {"exit_report", MS_EXIT_AFTER_START, ms_exit_report, false, false},
    {"monitor_stop", MS_EXIT_IN_DESTRUCTOR, ms_exit_monitor, false, false},
    /* the leak scan's report, or that of a process whose handler was never armed */
    {"exit_report_last", MS_EXIT_IN_DESTRUCTOR, ms_exit_report_last, false, false},
    /* from the figures last read, if gpu_figures did not write it */
    {"gpu_report_last", MS_EXIT_IN_DESTRUCTOR, ms_exit_gpu_last, false, false},
    {"policy_summary", MS_EXIT_IN_DESTRUCTOR, ms_exit_policy, false, false},
    {"metrics", MS_EXIT_IN_DESTRUCTOR, ms_exit_metrics, false, false},
    /* last: a failed leak check turns status 0 into 1 (_exit) once everything is written */
    {"leak_status", MS_EXIT_IN_DESTRUCTOR, ms_exit_leak_status, false, false},
    /* below; in the owner this handler runs what is left of the sequence (nothing, normally) */
    {"vfork_child", MS_EXIT_AT_CONSTRUCTOR, ms_exit_vfork_child, false, true},
};
#define MS_EXIT_NSTEPS (sizeof ms_exit_steps / sizeof ms_exit_steps[0])
_Static_assert(MS_EXIT_NSTEPS <= sizeof ms_exit_done / sizeof ms_exit_done[0], "ms_exit_done is too small");

/* Every handler's and the destructor's: the steps up to moment's last, each once. */
static void ms_exit_run(ms_exit_moment moment, int status) {
  if (!ms_initialized || !ms_enabled) return;
  if (!ms_is_owner()) { /* a vfork or raw clone() child: not our exit; nothing of ours is touched */
    for (unsigned i = 0; i < MS_EXIT_NSTEPS; i++)
      if (ms_exit_steps[i].child && ms_exit_steps[i].moment == moment) ms_exit_steps[i].fn(status);
    return;
  }
  if (moment != MS_EXIT_IN_DESTRUCTOR && !ms_exit_status_known) {
    ms_exit_status = status;
    ms_exit_status_known = true;
  }
  ms_guard_enter();
  /* The table is in the order of the moments (util/exit_arm.h): stop after moment's last step. */
  for (unsigned i = 0; i < MS_EXIT_NSTEPS && ms_exit_steps[i].moment <= moment; i++) {
    if (ms_exit_steps[i].child || !ms_exit_armed(ms_exit_steps[i].moment) ||
        (ms_exit_steps[i].handler_only && moment >= MS_EXIT_IN_DESTRUCTOR) ||
        __atomic_exchange_n(&ms_exit_done[i], true, __ATOMIC_ACQ_REL))
      continue;
    ms_exit_steps[i].fn(ms_exit_status_known ? ms_exit_status : -1);
  }
  ms_guard_leave();
}

/* ---- children that run our exit handlers in our memory ----
 * A vfork child that leaves through exit() (after a failed exec) runs every exit handler and
 * destructor in the parent's memory: glibc consumes the list of exit handlers, marks each
 * library's destructors as run and, once the list is empty, refuses new registrations. The
 * parent's own exit would then run neither our handlers nor our destructor: no exit report, no
 * final metrics. The constructor's handler, registered so that it runs after everything else,
 * notices such a child (every other step skips it: not the owner), registers that handler again
 * in the list they share, where the parent's exit runs the whole sequence from it, and ends the
 * child with what exit() had left to do (flush stdio, _exit) before glibc closes the list. A raw
 * clone() child has its own copy of our memory: its exit runs to the end as it would without us. */

/* One page that tells a child sharing our memory (vfork, clone with CLONE_VM) from one with its
 * own copy (raw clone, fork): marked MADV_WIPEONFORK, it reads zero in a copy and keeps its
 * mark when shared. NULL when the kernel lacks MADV_WIPEONFORK (< 4.14): then no child is
 * treated as sharing. */
static volatile uint32_t *ms_share_probe;

static void ms_share_probe_arm(void) {
  if (!ms_share_probe) {
    void *p = ms_raw_alloc(4096);
    if (!p) return;
    if (ms_sys_madvise(p, 4096, MADV_WIPEONFORK) != 0) {
      ms_raw_free(p, 4096);
      return;
    }
    ms_share_probe = p;
  }
  *ms_share_probe = 1;
}

static void ms_exit_vfork_child(int status) {
  if (!ms_share_probe || *ms_share_probe != 1) return;
  /* Called with glibc's exit-handler lock released; the entry lands in the parent's list, and
   * this child never returns to the loop that would run it. */
  ms_exit_rearm(MS_EXIT_AT_CONSTRUCTOR);
  fflush(NULL);
  _exit(status);
}

static void ms_atfork_prepare(void) {
  ms_monitor_atfork_prepare();
  ms_reporting_atfork_prepare();
  ms_policy_atfork_prepare();
}
static void ms_atfork_parent(void) {
  ms_policy_atfork_parent();
  ms_reporting_atfork_parent();
  ms_monitor_atfork_parent();
}
static void ms_atfork_child(void) {
  ms_owner_set(); /* first: every handler below acts for this process */
  ms_share_probe_arm(); /* wiped in this copy; this process's own vfork children must see it */
  /* The child runs the exit sequence for itself; its handlers are the parent's, inherited. */
  memset(ms_exit_done, 0, sizeof ms_exit_done);
  ms_exit_status_known = false;
  ms_accounting_atfork_child();
  ms_profile_atfork_child();
  ms_reporting_atfork_child();
  ms_policy_atfork_child();
  ms_timeline_atfork_child();
  ms_log_after_fork_child();
  ms_gpu_atfork_child();
  ms_monitor_atfork_child();
  ms_activity_after_fork_child();
}

/* ---- the monitor's jobs ----
 * Every periodic job, in the order the thread runs them; each is scheduled when its feature is
 * on once the subsystems are configured. first: the option whose value delays its first run
 * after the thread starts (MS_OPT__COUNT: at once). Whether a job keeps the thread alive is its
 * own answer after each run (ms_job_next.needed: the heap and mapping-cap jobs let it go while
 * there is nothing to watch). */
static bool ms_job_profile_on(void) { return ms_profile_active; }
static const struct {
  const char *name;
  ms_option_id first;
  ms_monitor_job_fn fn;
  bool (*on)(void);
} ms_jobs_table[] = {
    {"profile_snapshot", MS_OPT_SNAPSHOT_INTERVAL, ms_profile_snapshot_job, ms_job_profile_on},
    {"timeline", MS_OPT_SNAPSHOT_INTERVAL, ms_timeline_job, ms_reporting_active},
    {"report_triggers", MS_OPT_SNAPSHOT_INTERVAL, ms_report_trigger_job, ms_reporting_active},
    {"report_interval", MS_OPT_REPORT_INTERVAL, ms_report_interval_job, ms_reporting_interval_on},
    {"memory_return", MS_OPT__COUNT, ms_policy_heap_monitor_job, ms_policy_heap_threaded},
    {"pressure", MS_OPT__COUNT, ms_policy_pressure_job, ms_policy_pressure_on},
    {"mmap_cap", MS_OPT__COUNT, ms_policy_mmap_job, ms_mmap_cap_on},
    {"metrics", MS_OPT_METRICS_INTERVAL, ms_metrics_job, ms_metrics_on},
};

static void ms_jobs_schedule(void) {
  for (unsigned i = 0; i < sizeof ms_jobs_table / sizeof ms_jobs_table[0]; i++)
    if (ms_jobs_table[i].on())
      ms_monitor_add_job(ms_jobs_table[i].name,
                         ms_jobs_table[i].first == MS_OPT__COUNT ? 0 : ms_opt_u64(ms_jobs_table[i].first),
                         ms_jobs_table[i].fn);
}

__attribute__((constructor(101))) void ms_init(void) {
  if (ms_initialized) return;
  ms_backend_select();
  ms_guard_enter();
  ms_owner_set();
  ms_exit_set_runner(ms_exit_run);
  ms_options_load(NULL);
  ms_log_init();
  ms_enabled = ms_opt_bool(MS_OPT_ENABLE);
  /* Before any Python import: HF tokenizers' Rust thread pool is what makes fork after first
   * use unsafe and its heap grow (seed 000). The user's own value always wins. */
  if (ms_opt_bool(MS_OPT_TOKENIZERS_PARALLELISM)) setenv("TOKENIZERS_PARALLELISM", "false", 0);
  if (ms_opt_u64(MS_OPT_BACKEND) == MS_BACKEND_GLIBC && ms_be_kind != MS_BE_GLIBC)
    ms_log_error("%s=glibc: glibc's allocator was not found in libc.so.6; using jemalloc", ms_option_env(MS_OPT_BACKEND));
  ms_accounting_init();
  if (ms_enabled) {
    /* Initialise the allocator before registering: atfork prepare handlers run in reverse
     * order, so ours (which stops the monitor) must come after the allocator's. */
    ms_be.free(ms_be.malloc(1));
    pthread_atfork(ms_atfork_prepare, ms_atfork_parent, ms_atfork_child);
    ms_profile_init();
    ms_reporting_init();
    ms_policy_init();
    static const ms_gpu_hooks gpu_hooks = {ms_report_now, ms_reporting_active, ms_report_describe_sites};
    ms_gpu_init(&gpu_hooks);
    ms_timeline_set_gpu(ms_gpu_timeline_sample);
    ms_jobs_schedule();
    ms_activity_init(); /* last: every job is scheduled */
    if (ms_reporting_active() || *ms_opt_str(MS_OPT_METRICS_FILE)) {
      ms_share_probe_arm();
      ms_exit_arm(MS_EXIT_AT_CONSTRUCTOR);
    }
  }
  /* The constructor's thread (the main thread when preloaded) is registered now, so that the
   * calls it makes from here on are counted from a known start; its next allocation decides
   * afresh (a sample distance or the activity tick). */
  if (!ms_tls_thread.registered) ms_thread_register(&ms_tls_thread);
  ms_tls_thread.sample_countdown = 0;
  ms_initialized = true;
  ms_guard_leave();
  ms_log_debug("started: backend %s, pid %d", ms_be.name, (int)ms_sys_getpid());
}

__attribute__((destructor(101))) static void ms_fini(void) { ms_exit_run(MS_EXIT_IN_DESTRUCTOR, -1); }
