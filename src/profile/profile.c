/* The profiler: sampling on the allocation slow path, forgetting sampled pointers on free,
 * and the triggers that write reports (exit, signal, interval) and feed the leak gate. */
#include "profile.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config/options.h"
#include "../core/log.h"
#include "../core/state.h"
#include "../policy/monitor.h"
#include "../report/report.h"
#include "../report/timeline_rec.h"
#include "leak.h"
#include "profile_internal.h"
#include "ptr_map.h"
#include "sampler.h"
#include "stack_table.h"
#include "unwind.h"

bool ms_profile_active;

static uint64_t ms_sample_mean;
static unsigned ms_depth;
static uint64_t ms_t0_ms;
static uint64_t ms_snapshot_ms, ms_interval_ms;
static uint64_t ms_leak_limit;
static volatile sig_atomic_t ms_report_requested;
static bool ms_exit_done;

/* ---- clocks and settings ---- */

uint64_t ms_profile_now_ms(void) { return ms_monitor_now_ms() - ms_t0_ms; }
uint64_t ms_profile_sample_bytes(void) { return ms_sample_mean; }
unsigned ms_profile_stack_depth(void) { return ms_depth; }
uint64_t ms_profile_snapshot_interval_ms(void) { return ms_snapshot_ms; }
bool ms_profile_leak_limit(uint64_t *limit) {
  *limit = ms_leak_limit;
  return ms_leak_limit != 0;
}

/* ---- hot-path hooks ---- */

static void ms_record(void *p, uint64_t size) {
  uintptr_t frames[MS_MAX_DEPTH];
  unsigned n = ms_unwind(frames, ms_depth);
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

void *ms_profile_sample(void *p, uint64_t size, struct ms_thread *t) {
  int64_t next;
  if (!t->prng) {
    /* First visit of this thread: its countdown started at 0, which would sample this
     * allocation for certain. Draw where its first sample really falls instead. */
    t->prng = ms_prng_seed(t);
    int64_t c = ms_sample_next_countdown(&t->prng, ms_sample_mean);
    if (c >= 0 && c - (int64_t)size >= 0) {
      t->sample_countdown = c - (int64_t)size;
      return p;
    }
  }
  next = ms_sample_next_countdown(&t->prng, ms_sample_mean);
  t->sample_countdown = next;
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

/* ---- periodic work: snapshots, timeline, signal and interval reports ---- */

static void ms_profile_on_exit(int status, void *arg);

static void ms_profile_snapshot_job(uint64_t now_ms) {
  (void)now_ms;
  /* Registered here, not in the constructor: handlers run in reverse order of registration,
   * and ours must run before the loader's (registered by the program's start-up code, after
   * preloaded constructors), which runs our destructor and would not know the exit status. */
  static bool on_exit_registered;
  if (!on_exit_registered) {
    on_exit_registered = true;
    on_exit(ms_profile_on_exit, NULL);
  }
  uint64_t t = ms_profile_now_ms();
  ms_leak_store_take(t, false);
  ms_timeline_tick(t, ms_t0_ms);
  if (ms_report_requested) {
    ms_report_requested = 0;
    ms_report_now("signal");
  }
}

static void ms_profile_interval_job(uint64_t now_ms) {
  (void)now_ms;
  ms_report_now("interval");
}

static void ms_profile_on_signal(int sig) {
  (void)sig;
  ms_report_requested = 1;
  ms_monitor_wake();
}

/* Exit: on_exit handlers are told the exit status, so a failed leak check can turn a
 * successful exit into status 1. A run shorter than one snapshot interval gets its report from
 * the destructor instead (status unknown, unchanged). */
static void ms_profile_on_exit(int status, void *arg) {
  (void)arg;
  if (!ms_profile_active || ms_exit_done) return;
  ms_exit_done = true;
  ms_guard_enter();
  ms_monitor_stop();
  bool failed = ms_report_now("exit");
  ms_guard_leave();
  if (failed && status == 0) {
    ms_log_error("MEMSHIM_LEAK_CHECK: exit status 1 (the program itself exited with 0)");
    fflush(NULL); /* exit() would flush the program's stdio after the handlers; _exit does not */
    _exit(1);
  }
}

static void ms_profile_reset_clock(void) {
  ms_t0_ms = ms_monitor_now_ms();
  ms_leak_store_reset(0);
  ms_timeline_reset();
}

void ms_profile_init(void) {
  ms_t0_ms = ms_monitor_now_ms(); /* the reports' clock, also when only GPU reports are written */
  ms_leak_limit = ms_opt_u64(MS_OPT_LEAK_CHECK);
  if (!ms_opt_bool(MS_OPT_PROFILE) && !ms_leak_limit) return;
  if (!ms_opt_bool(MS_OPT_PROFILE)) ms_log_info("MEMSHIM_LEAK_CHECK is set: profiling is on");
  ms_sample_mean = ms_opt_u64(MS_OPT_SAMPLE_BYTES);
  ms_depth = (unsigned)ms_opt_u64(MS_OPT_STACK_DEPTH);
  if (ms_depth > MS_MAX_DEPTH) ms_depth = MS_MAX_DEPTH;
  ms_snapshot_ms = ms_opt_u64(MS_OPT_SNAPSHOT_INTERVAL);
  ms_interval_ms = ms_opt_u64(MS_OPT_REPORT_INTERVAL);
  ms_unwind_init();
  ms_profile_reset_clock();
  if (ms_monitor_add_job("profile_snapshot", ms_snapshot_ms, ms_profile_snapshot_job) != 0)
    ms_log_error("profiler: monitor job table full; no snapshots (leak gate and timeline off)");
  if (ms_interval_ms && ms_monitor_add_job("profile_report", ms_interval_ms, ms_profile_interval_job) != 0)
    ms_log_error("profiler: monitor job table full; MEMSHIM_REPORT_INTERVAL ignored");
  int sig = (int)ms_opt_u64(MS_OPT_REPORT_SIGNAL);
  if (sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ms_profile_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) ms_log_error("profiler: cannot install the report signal handler");
  }
  /* The current thread (the constructor's) starts sampling with a fresh countdown. */
  ms_tls_thread.sample_countdown = 0;
  ms_profile_active = true;
  ms_log_debug("profiler on: one sample per %llu bytes, %u frames", (unsigned long long)ms_sample_mean, ms_depth);
}

/* Destructor path (core/init.c): a process that never reached exit()'s handlers (e.g. a
 * library unloaded) still gets its exit report once. */
void ms_profile_at_exit(void) { ms_profile_on_exit(-1, NULL); }

void ms_profile_atfork_prepare(void) {
  if (!ms_profile_active) return;
  ms_report_atfork_prepare();
  ms_leak_store_lock();
  ms_stacks_lock();
  ms_ptrs_lock_all();
}

void ms_profile_atfork_parent(void) {
  if (!ms_profile_active) return;
  ms_ptrs_unlock_all();
  ms_stacks_unlock();
  ms_leak_store_unlock();
  ms_report_atfork_parent();
}

/* The child keeps every site and sampled pointer (it inherited the memory they describe) but
 * starts its own clock, snapshots and timeline, and writes its own reports (pid in the name). */
void ms_profile_atfork_child(void) {
  if (!ms_profile_active) return;
  ms_ptrs_atfork_child();
  ms_stacks_atfork_child();
  ms_leak_store_atfork_child();
  ms_timeline_atfork_child();
  ms_report_atfork_child();
  ms_report_requested = 0;
  ms_exit_done = false;
  ms_profile_reset_clock();
}
