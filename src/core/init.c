/* Start-up and exit. The constructor runs at priority 101, before other libraries' and the
 * program's constructors and before Python imports anything. */

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../config/options.h"
#include "../gpu/gpu.h"
#include "../profile/profile.h"
#include "../policy/monitor.h"
#include "../policy/policy.h"
#include "../report/prometheus.h"
#include "log.h"
#include "state.h"

void ms_state_init_thread_key(void);
void ms_fork_init(void);

static bool ms_exiting;
bool ms_in_exit(void) { return ms_exiting; }

/* The monitor goes first in prepare (no job may hold our locks or the allocator's across fork)
 * and last in the child (its new thread starts once everything else is reset). */
static void ms_atfork_prepare(void) {
  ms_monitor_atfork_prepare();
  ms_policy_atfork_prepare();
  ms_profile_atfork_prepare();
  ms_state_atfork_prepare();
}
static void ms_atfork_parent(void) {
  ms_state_atfork_parent();
  ms_profile_atfork_parent();
  ms_policy_atfork_parent();
  ms_monitor_atfork_parent();
}
static void ms_atfork_child(void) {
  ms_state_atfork_child();
  ms_profile_atfork_child();
  ms_policy_atfork_child();
  ms_log_after_fork_child();
  ms_gpu_atfork_child();
  ms_monitor_atfork_child();
}

__attribute__((constructor(101))) void ms_init(void) {
  if (ms_initialized) return;
  ms_backend_select();
  ms_guard_enter();
  ms_options_load(NULL);
  ms_log_init();
  ms_enabled = ms_opt_bool(MS_OPT_ENABLE);
  /* Before any Python import: HF tokenizers' Rust thread pool is what makes fork after first
   * use unsafe and its heap grow (seed 000). The user's own value always wins. */
  if (ms_opt_bool(MS_OPT_TOKENIZERS_PARALLELISM)) setenv("TOKENIZERS_PARALLELISM", "false", 0);
  ms_backend_resolve();
  ms_state_init_thread_key();
  if (ms_enabled) {
    /* Initialise the allocator before registering: atfork prepare handlers run in reverse
     * order, so ours (which waits for a running purge) must come after the allocator's. */
    ms_be.free(ms_be.malloc(1));
    pthread_atfork(ms_atfork_prepare, ms_atfork_parent, ms_atfork_child);
    ms_fork_init();
    ms_profile_init();
    ms_policy_init();
    ms_metrics_init();
    ms_monitor_start(); /* last: every subsystem has registered its jobs */
  }
  ms_initialized = true;
  ms_guard_leave();
  ms_log_debug("started: backend %s, pid %d", ms_be.name, (int)getpid());
}

__attribute__((destructor(101))) static void ms_fini(void) {
  if (!ms_initialized || !ms_enabled) return;
  ms_exiting = true;
  ms_guard_enter();
  ms_monitor_stop(); /* first: no job runs while the subsystems write their final state */
  ms_profile_at_exit();
  ms_gpu_at_exit();
  ms_policy_at_exit();
  ms_metrics_at_exit();
  ms_guard_leave();
}
