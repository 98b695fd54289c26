#include "exit_arm.h"

#include <stdint.h>
#include <stdlib.h>

static ms_exit_runner ms_exit_run_fn;
static bool ms_exit_registered[MS_EXIT__COUNT];

void ms_exit_set_runner(ms_exit_runner run) { __atomic_store_n(&ms_exit_run_fn, run, __ATOMIC_RELEASE); }

static void ms_exit_handler(int status, void *arg) {
  ms_exit_runner run = __atomic_load_n(&ms_exit_run_fn, __ATOMIC_ACQUIRE);
  if (run) run((ms_exit_moment)(uintptr_t)arg, status);
}

/* on_exit, not atexit: the runner learns the status (a failed leak check turns 0 into 1). */
void ms_exit_rearm(ms_exit_moment moment) { on_exit(ms_exit_handler, (void *)(uintptr_t)moment); }

void ms_exit_arm(ms_exit_moment moment) {
  if (moment == MS_EXIT_IN_DESTRUCTOR || __atomic_load_n(&ms_exit_registered[moment], __ATOMIC_ACQUIRE)) return;
  if (!__atomic_exchange_n(&ms_exit_registered[moment], true, __ATOMIC_ACQ_REL)) ms_exit_rearm(moment);
}

bool ms_exit_armed(ms_exit_moment moment) {
  return moment == MS_EXIT_IN_DESTRUCTOR || __atomic_load_n(&ms_exit_registered[moment], __ATOMIC_ACQUIRE);
}
