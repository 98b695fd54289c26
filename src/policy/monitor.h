/* The one background thread. Everything slow that must happen while the program runs —
 * the memory-return policy, timeline snapshots, periodic reports, metrics — is a job here.
 * Jobs run on the monitor thread with the recursion guard held, so whatever they allocate
 * is neither sampled nor can it recurse into them. The thread starts lazily, restarts in a
 * fork child on first need, and stops (joined) at exit. */
#ifndef MEMSHIM_MONITOR_H
#define MEMSHIM_MONITOR_H

#include <stdint.h>

typedef void (*ms_monitor_job_fn)(uint64_t now_ms);

/* Register a periodic job (from the constructor, before ms_monitor_start). interval_ms > 0.
 * Returns 0, or -1 when the job table is full. */
int ms_monitor_add_job(const char *name, uint64_t interval_ms, ms_monitor_job_fn fn);
/* Start the thread if any job is registered (idempotent; safe after fork). */
void ms_monitor_start(void);
/* Ask the thread to run its due jobs now (e.g. from a signal-set flag; async-signal-safe). */
void ms_monitor_wake(void);
/* Stop and join (at exit). Jobs do not run after this returns. */
void ms_monitor_stop(void);
/* 1 while the monitor thread exists, else 0 (the fork warning does not count our own thread). */
int ms_monitor_running(void);
/* Monotonic milliseconds, the clock jobs are given. */
uint64_t ms_monitor_now_ms(void);

void ms_monitor_atfork_prepare(void);
void ms_monitor_atfork_parent(void);
void ms_monitor_atfork_child(void);

#endif
