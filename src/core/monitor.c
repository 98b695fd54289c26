/* The monitor thread (see monitor.h for when it exists).
 *
 * Sleeping and waking use a futex on one word instead of a condition variable: waking must be
 * async-signal-safe (a report signal handler calls ms_monitor_wake), and a futex wake is a
 * single syscall with no lock. The word counts wake requests; the thread sleeps only while it
 * is unchanged since it last looked, so a wake that arrives while jobs run is never lost.
 *
 * Life cycle, under ms_life_lock: ms_running says a thread is doing jobs. A thread that leaves
 * on its own (no job needs it, or it would be the last thread of the process) clears
 * ms_running and parks its id in ms_retired; whoever comes next joins it (the next thread at
 * its start, or a suspension). A suspension raises ms_stop_flag and joins every thread of ours,
 * so when it returns none exists. Kicks start a thread only in the process that owns the
 * state (a vfork or raw clone() child shares or copies our memory without our atfork
 * handlers, and must leave it alone: util/owner.h). */
#include "monitor.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "../util/guard.h"
#include "../util/log.h"
#include "../util/owner.h"
#include "../util/proc.h"
#include "../util/sys.h"

#define MS_MONITOR_MAX_JOBS 16
#define MS_MONITOR_STACK (256u << 10)
/* How often the thread checks that it is not the only live thread left. */
#define MS_MONITOR_ALONE_CHECK_MS 200
#define MS_NEVER UINT64_MAX

typedef struct {
  const char *name;
  uint64_t first_ms;
  uint64_t next_ms;
  bool needed;
  ms_monitor_job_fn fn;
} ms_monitor_job;

static ms_monitor_job ms_jobs[MS_MONITOR_MAX_JOBS];
static unsigned ms_njobs;

static pthread_mutex_t ms_life_lock = PTHREAD_MUTEX_INITIALIZER;
static bool ms_running;       /* a thread runs jobs (life lock; relaxed reads outside) */
static pthread_t ms_current;  /* valid while ms_running */
static pid_t ms_current_tid;  /* its kernel id, written by the thread first thing: read after joining it */
static bool ms_has_retired;   /* a thread left on its own and is not joined yet */
static pthread_t ms_retired;
static pid_t ms_retired_tid;
static unsigned ms_suspended; /* suspensions in force (one for good after a stop): no thread may start */
static bool ms_restart_pending; /* a suspension stopped a thread that jobs needed */
static int ms_stop_flag;      /* atomic: the running thread must leave */
static uint32_t ms_wake_word; /* atomic: futex word, bumped by every wake */
/* atomic: a wake asked for (the report signal) that no thread has served yet. The word alone
 * forgets a wake that came while no thread ran: the next thread would wait for each job's
 * first delay, and a process that forks more often than that never served one (stress_mix). */
static int ms_wake_pending;
static uint64_t ms_kicks;     /* atomic: activity seen, so a thread about to leave stays */
static uint64_t ms_hold_until; /* atomic: no start before this monotonic ms (0: none) */

int ms_monitor_add_job(const char *name, uint64_t first_ms, ms_monitor_job_fn fn) {
  if (!fn) return -1;
  pthread_mutex_lock(&ms_life_lock);
  int rc = -1;
  if (ms_njobs < MS_MONITOR_MAX_JOBS && !ms_running) {
    ms_jobs[ms_njobs++] = (ms_monitor_job){name, first_ms, 0, true, fn};
    rc = 0;
  }
  pthread_mutex_unlock(&ms_life_lock);
  if (rc != 0) ms_log_error("monitor: job table full, '%s' not scheduled", name ? name : "?");
  return rc;
}

/* Interrupt the thread's sleep (a stop request uses this alone: no job is asked for). */
static void ms_monitor_nudge(void) {
  int saved = errno; /* async-signal-safe: leave the interrupted code's errno alone */
  __atomic_add_fetch(&ms_wake_word, 1, __ATOMIC_SEQ_CST);
  ms_sys_futex_wake(&ms_wake_word, 1);
  errno = saved;
}

void ms_monitor_wake(void) {
  __atomic_store_n(&ms_wake_pending, 1, __ATOMIC_SEQ_CST);
  ms_monitor_nudge();
}

/* Run the jobs that are due (all of them when woken). Returns ms until the next one is due;
 * *needed: some job wants the thread to stay; *done: no stop request cut the round short. */
static uint64_t ms_monitor_run_jobs(bool woken, bool *needed, bool *done) {
  uint64_t now = ms_monitor_now_ms(), sleep_ms = MS_NEVER;
  *needed = false;
  *done = false;
  unsigned i;
  for (i = 0; i < ms_njobs && !__atomic_load_n(&ms_stop_flag, __ATOMIC_ACQUIRE); i++) {
    ms_monitor_job *j = &ms_jobs[i];
    if (woken || now >= j->next_ms) {
      ms_job_next next = j->fn(now);
      now = ms_monitor_now_ms();
      j->next_ms = next.next_ms == MS_NEVER ? MS_NEVER : now + next.next_ms;
      j->needed = next.needed;
    }
    if (j->needed) *needed = true;
    uint64_t left = j->next_ms > now ? j->next_ms - now : 0;
    if (left < sleep_ms) sleep_ms = left;
  }
  *done = i == ms_njobs;
  return sleep_ms;
}

/* Leave on our own. False when a stop request or fresh activity came first (stay, or let the
 * suspension that asked join us). */
static bool ms_monitor_retire(uint64_t kicks_seen, bool alone) {
  bool leave = false;
  pthread_mutex_lock(&ms_life_lock);
  if (!__atomic_load_n(&ms_stop_flag, __ATOMIC_ACQUIRE) &&
      (alone || __atomic_load_n(&ms_kicks, __ATOMIC_ACQUIRE) == kicks_seen)) {
    ms_running = false;
    ms_has_retired = true;
    ms_retired = pthread_self();
    ms_retired_tid = ms_sys_gettid();
    leave = true;
  }
  pthread_mutex_unlock(&ms_life_lock);
  return leave;
}

static void *ms_monitor_main(void *arg) {
  (void)arg;
  __atomic_store_n(&ms_current_tid, ms_sys_gettid(), __ATOMIC_RELEASE);
  /* For the thread's whole life: its allocations are our own, never sampled or recursed into. */
  ms_guard_enter();
  pthread_mutex_lock(&ms_life_lock);
  bool join_retired = ms_has_retired;
  pthread_t retired = ms_retired;
  ms_has_retired = false;
  pthread_mutex_unlock(&ms_life_lock);
  if (join_retired) pthread_join(retired, NULL);

  uint64_t now = ms_monitor_now_ms(), alone_checked = now;
  for (unsigned i = 0; i < ms_njobs; i++) {
    ms_jobs[i].next_ms = now + ms_jobs[i].first_ms;
    ms_jobs[i].needed = true;
  }
  uint32_t seen = __atomic_load_n(&ms_wake_word, __ATOMIC_ACQUIRE);
  bool woken = false;
  for (;;) {
    /* A wake asked for while no thread ran (or since the last look) is served now. */
    if (__atomic_exchange_n(&ms_wake_pending, 0, __ATOMIC_ACQ_REL)) woken = true;
    uint64_t kicks = __atomic_load_n(&ms_kicks, __ATOMIC_ACQUIRE);
    bool needed, done;
    uint64_t sleep_ms = ms_monitor_run_jobs(woken, &needed, &done);
    /* A stop cut the woken round short: the next thread serves the wake. */
    if (woken && !done) __atomic_store_n(&ms_wake_pending, 1, __ATOMIC_RELEASE);
    if (__atomic_load_n(&ms_stop_flag, __ATOMIC_ACQUIRE)) break;
    now = ms_monitor_now_ms();
    /* The host's last thread ended (main called pthread_exit, its workers are done): a process
     * must not live on for our sake. Leaving lets glibc end it with exit(0), as it would have. */
    bool alone = false;
    if (now - alone_checked >= MS_MONITOR_ALONE_CHECK_MS) {
      alone_checked = now;
      alone = ms_proc_live_threads() == 1;
    }
    if ((alone || !needed) && ms_monitor_retire(kicks, alone)) {
      ms_log_debug("monitor: %s", alone ? "the program's last thread has ended; leaving" : "no work; leaving");
      break;
    }
    if (alone || !needed) continue; /* activity came in meanwhile: look again */
    if (alone_checked + MS_MONITOR_ALONE_CHECK_MS - now < sleep_ms)
      sleep_ms = alone_checked + MS_MONITOR_ALONE_CHECK_MS - now;
    if (sleep_ms > 0) ms_sys_futex_wait(&ms_wake_word, seen, sleep_ms);
    uint32_t now_seen = __atomic_load_n(&ms_wake_word, __ATOMIC_ACQUIRE);
    woken = now_seen != seen;
    seen = now_seen;
  }
  ms_guard_leave(); /* the exit handlers of a process we end run on this thread */
  return NULL;
}

/* With the life lock held. Signals are blocked in the new thread: the program's handlers run on
 * its own threads, never on ours (see ms_monitor_main: we never stay as the last thread). */
static void ms_monitor_spawn_locked(void) {
  if (ms_running || ms_suspended || ms_njobs == 0) return;
  if (!ms_is_owner()) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  __atomic_store_n(&ms_stop_flag, 0, __ATOMIC_RELEASE);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, MS_MONITOR_STACK);
  ms_guard_enter();
  int rc = pthread_create(&ms_current, &attr, ms_monitor_main, NULL);
  ms_guard_leave();
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc == 0) {
    __atomic_store_n(&ms_running, true, __ATOMIC_RELEASE);
    ms_restart_pending = false;
    ms_log_debug("monitor: started (%u jobs)", ms_njobs);
  } else {
    /* RLIMIT_NPROC, pids.max, a tight ulimit -v: the program goes on, memshim does less. */
    ms_log_debug("monitor: cannot start a thread (%s); periodic work waits for the next activity",
                 strerror(rc));
  }
}

void ms_monitor_kick(void) {
  __atomic_add_fetch(&ms_kicks, 1, __ATOMIC_ACQ_REL);
  if (__atomic_load_n(&ms_running, __ATOMIC_ACQUIRE)) return;
  if (__atomic_load_n(&ms_suspended, __ATOMIC_RELAXED)) return;
  uint64_t hold = __atomic_load_n(&ms_hold_until, __ATOMIC_RELAXED);
  if (hold) {
    if (ms_monitor_now_ms() < hold) return; /* a later kick starts it (restart_pending keeps them coming) */
    __atomic_compare_exchange_n(&ms_hold_until, &hold, 0, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  }
  /* Never wait for the lock: our fork prepare handler holds it, and a kick from inside another
   * library's fork-guarded section would make fork wait for that library forever. A busy lock
   * means someone else is starting or stopping the thread; the next activity tick kicks again. */
  if (pthread_mutex_trylock(&ms_life_lock) != 0) return;
  ms_guard_enter();
  ms_monitor_spawn_locked();
  ms_guard_leave();
  pthread_mutex_unlock(&ms_life_lock);
}

int ms_monitor_running(void) { return __atomic_load_n(&ms_running, __ATOMIC_ACQUIRE) ? 1 : 0; }

bool ms_monitor_restart_pending(void) { return __atomic_load_n(&ms_restart_pending, __ATOMIC_RELAXED); }

/* pthread_join returns when the kernel clears the thread's id word, which happens before the
 * task leaves the thread group. Until it has left, unshare(CLONE_NEWUSER) and setns() still
 * fail with EINVAL, and RLIMIT_NPROC and /proc/self/stat (CPython's thread count after fork)
 * still count it. Wait until the kernel no longer knows the id (tgkill: ESRCH), at most 1 s. */
static void ms_monitor_wait_gone(pid_t tid) {
  pid_t pid = ms_sys_getpid();
  for (int i = 0; i < 20000 && ms_sys_tgkill(pid, tid, 0) == 0; i++) {
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
  }
}

/* Stop the running thread and join every thread of ours. Called with the life lock held;
 * releases it while joining (ms_suspended keeps new threads from starting, so
 * ms_current_tid stays the joined thread's). */
static void ms_monitor_join_all_locked(void) {
  pthread_t ids[2];
  bool current[2];
  pid_t tids[2];
  unsigned n = 0;
  if (ms_running) {
    __atomic_store_n(&ms_stop_flag, 1, __ATOMIC_RELEASE);
    current[n] = true;
    ids[n++] = ms_current;
    __atomic_store_n(&ms_running, false, __ATOMIC_RELEASE);
  }
  if (ms_has_retired) {
    current[n] = false;
    tids[n] = ms_retired_tid;
    ids[n++] = ms_retired;
    ms_has_retired = false;
  }
  if (!n) return;
  ms_monitor_nudge();
  pthread_mutex_unlock(&ms_life_lock);
  /* exit() called on our own thread (the last thread of the process, or a job) cannot join it. */
  for (unsigned i = 0; i < n; i++) {
    if (pthread_equal(pthread_self(), ids[i])) continue;
    pthread_join(ids[i], NULL);
    ms_monitor_wait_gone(current[i] ? __atomic_load_n(&ms_current_tid, __ATOMIC_ACQUIRE) : tids[i]);
  }
  pthread_mutex_lock(&ms_life_lock);
}

/* A suspension; for_good: one that nothing resumes (exit), so a thread it stops is not pending. */
static void ms_monitor_suspend_as(bool for_good) {
  if (!ms_is_owner()) return; /* a vfork child: the parent's thread is not ours */
  ms_guard_enter();
  pthread_mutex_lock(&ms_life_lock);
  __atomic_add_fetch(&ms_suspended, 1, __ATOMIC_RELAXED);
  if (ms_running && !for_good) ms_restart_pending = true;
  ms_monitor_join_all_locked();
  pthread_mutex_unlock(&ms_life_lock);
  ms_guard_leave();
}

void ms_monitor_suspend(void) { ms_monitor_suspend_as(false); }

void ms_monitor_resume(void) {
  if (!ms_is_owner()) return;
  pthread_mutex_lock(&ms_life_lock);
  if (ms_suspended && __atomic_sub_fetch(&ms_suspended, 1, __ATOMIC_RELAXED) == 0)
    __atomic_store_n(&ms_hold_until, ms_monitor_now_ms() + MS_MONITOR_RESUME_HOLD_MS, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&ms_life_lock);
}

void ms_monitor_stop(void) { ms_monitor_suspend_as(true); }

void ms_monitor_atfork_prepare(void) {
  ms_monitor_suspend();
  pthread_mutex_lock(&ms_life_lock);
}

void ms_monitor_atfork_parent(void) {
  pthread_mutex_unlock(&ms_life_lock);
  ms_monitor_resume();
}

/* Only the forking thread exists in the child, and no thread of ours was copied. The child
 * starts fresh; its thread comes with its first activity. */
void ms_monitor_atfork_child(void) {
  pthread_mutex_init(&ms_life_lock, NULL);
  ms_running = false;
  ms_has_retired = false;
  ms_suspended = 0; /* also a stop's: a child forked by an exit handler is a process of its own */
  ms_restart_pending = false;
  __atomic_store_n(&ms_hold_until, 0, __ATOMIC_RELAXED); /* the child's clock jobs start at once */
  __atomic_store_n(&ms_stop_flag, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&ms_wake_word, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&ms_wake_pending, 0, __ATOMIC_RELAXED); /* the parent's request stays the parent's */
}
