/* memshim's one background thread, which exists only while there is work.
 *
 * Everything that must happen while the program makes no calls — the file-mapping cap, the
 * heap policy under MEMSHIM_RSS_SOFT_LIMIT, timeline snapshots, periodic reports, metrics — is a
 * job here (the default heap policy runs inline, on the program's threads: no thread under the
 * defaults). The thread is started by activity (ms_monitor_kick: the allocation slow path, a
 * profiler sample, a new file mapping under a cap), never from a fork or signal handler, goes
 * away when no job needs it, when it would be the last thread of the
 * process, around fork and around identity or namespace changes (ms_monitor_suspend), and for
 * good at exit. It is never there in a process that has nothing for it to do (a shell,
 * /bin/true): see docs/design.md, "The monitor thread".
 *
 * Jobs run on the monitor thread with the recursion guard held, so whatever they allocate is
 * neither sampled nor can it recurse into them. */
#ifndef MEMSHIM_MONITOR_H
#define MEMSHIM_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/job.h" /* ms_job_next, ms_monitor_job_fn, ms_monitor_now_ms */

/* After a suspension ends (fork in the parent, setuid & co.), the thread stays away at least
 * this long, whatever activity comes: a host that counts its threads right after the call must
 * not see ours. CPython 3.12+ reads /proc/self/stat right after fork() returns, and opening it
 * allocates: under exact profiling that allocation is a sample, whose kick would otherwise bring
 * the thread back first and turn every fork into a DeprecationWarning. */
#define MS_MONITOR_RESUME_HOLD_MS 100

/* Register a job (core/init.c's job table, from the constructor). first_ms: delay of its first run after the thread
 * starts. Returns 0, or -1 when the job table is full. */
int ms_monitor_add_job(const char *name, uint64_t first_ms, ms_monitor_job_fn fn);
/* Activity a job may care about: start the thread if it is not running and may run (not
 * suspended, not stopped, and this is the process that owns memshim's state). Never call it
 * from a signal handler or an atfork handler (pthread_create allocates through the host's
 * allocator, whose fork lock may still be held). Cheap when the thread is running. */
void ms_monitor_kick(void);
/* Ask the thread to run every job now (async-signal-safe; no effect while it is not running). */
void ms_monitor_wake(void);
/* Stop and join the thread (fork, setuid & co., unshare, setns): no thread of ours exists when
 * this returns, and none starts until ms_monitor_resume. Nests. */
void ms_monitor_suspend(void);
/* Allow starting again; the thread comes back on the first kick at least
 * MS_MONITOR_RESUME_HOLD_MS later, not before (a host that counts its threads right after fork
 * or setuid must not see ours, even when its next allocation is a profiler sample). */
void ms_monitor_resume(void);
/* Stop for good (exit). Jobs do not run after this returns. */
void ms_monitor_stop(void);
/* 1 while the monitor thread exists, else 0. */
int ms_monitor_running(void);
/* True when the thread was stopped by a suspension while jobs needed it: activity should kick. */
bool ms_monitor_restart_pending(void);

/* fork: prepare suspends (no thread of ours is copied, and none is running a job), the parent
 * resumes lazily, the child starts with no thread and a fresh state. The caller makes the child
 * the owner (ms_owner_set, util/owner.h) first. */
void ms_monitor_atfork_prepare(void);
void ms_monitor_atfork_parent(void);
void ms_monitor_atfork_child(void);

#endif
