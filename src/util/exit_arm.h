/* When exit work is registered (docs/design.md, "Exit"). Exit handlers run in reverse order of
 * registration, so the moment a handler is registered decides what it runs before: registered
 * after the CUDA runtime registered its teardown, it runs before the contexts are destroyed.
 * core/init.c owns the exit steps, their order and their run-once; a subsystem below core only
 * says, at its moment, "that moment is now" (ms_exit_arm). Every handler calls the one runner
 * init.c sets, with the moment it stands for. Here, below both, so that gpu/ never includes core. */
#ifndef MEMSHIM_UTIL_EXIT_ARM_H
#define MEMSHIM_UTIL_EXIT_ARM_H

#include <stdbool.h>

/* In the order their handlers run in a plain exit(). */
typedef enum {
  MS_EXIT_AFTER_CUDA,     /* the first GPU allocation: after the CUDA runtime registered its teardown */
  MS_EXIT_AFTER_START,    /* the first monitor run of report_triggers: after the program's start-up
                           * code registered the loader's teardown (our destructor) */
  MS_EXIT_IN_DESTRUCTOR,  /* our destructor: after the program's handlers and C++ static
                           * destructors; no handler of ours (the loader runs it), always armed */
  MS_EXIT_AT_CONSTRUCTOR, /* the constructor, before everything else: runs after everything else */
  MS_EXIT__COUNT
} ms_exit_moment;

/* Called by every handler with its moment and the status given to exit(). */
typedef void (*ms_exit_runner)(ms_exit_moment moment, int status);
void ms_exit_set_runner(ms_exit_runner run);

/* Register moment's handler now, once per process image: a fork child inherits the handler list
 * and with it the registration. Cheap once done (one load). */
void ms_exit_arm(ms_exit_moment moment);
/* Register it again although it was: a vfork child consumed the handler list we share. */
void ms_exit_rearm(ms_exit_moment moment);
/* moment's handler is registered (MS_EXIT_IN_DESTRUCTOR: always). */
bool ms_exit_armed(ms_exit_moment moment);

#endif
