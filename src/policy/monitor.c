/* The one background thread (see monitor.h).
 *
 * Sleeping and waking use a futex on one word instead of a condition variable: waking must be
 * async-signal-safe (a report signal handler calls ms_monitor_wake), and a futex wake is a
 * single syscall with no lock. The word counts wake requests; the thread sleeps only while it
 * is unchanged since it last looked, so a wake that arrives while jobs run is never lost.
 *
 * Fork: prepare takes the run lock, so no job is half-way through (holding a registry lock,
 * or inside the allocator's purge) when the process is copied; the handler runs before the
 * allocator's own prefork handler because it was registered later. The child has no monitor
 * thread: it resets the state and starts a new one. */
#include "monitor.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../util/guard.h"
#include "../util/log.h"

#define MS_MONITOR_MAX_JOBS 16

typedef struct {
  const char *name;
  uint64_t interval_ms;
  uint64_t next_ms;
  ms_monitor_job_fn fn;
} ms_monitor_job;

static ms_monitor_job ms_jobs[MS_MONITOR_MAX_JOBS];
static unsigned ms_njobs;

static pthread_mutex_t ms_run_lock = PTHREAD_MUTEX_INITIALIZER; /* held while jobs run */
static pthread_mutex_t ms_life_lock = PTHREAD_MUTEX_INITIALIZER; /* start/stop */
static pthread_t ms_thread_id;
static bool ms_running;   /* a thread exists (life lock) */
static bool ms_stopped;   /* stopped for good at exit (life lock) */
static int ms_stop_flag;  /* atomic: the thread must leave */
static uint32_t ms_wake_word; /* atomic: futex word, bumped by every wake */

uint64_t ms_monitor_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ms_monitor_add_job(const char *name, uint64_t interval_ms, ms_monitor_job_fn fn) {
  if (!fn || interval_ms == 0) return -1;
  pthread_mutex_lock(&ms_run_lock);
  int rc = -1;
  if (ms_njobs < MS_MONITOR_MAX_JOBS) {
    ms_jobs[ms_njobs] = (ms_monitor_job){name, interval_ms, ms_monitor_now_ms() + interval_ms, fn};
    __atomic_store_n(&ms_njobs, ms_njobs + 1, __ATOMIC_RELEASE);
    rc = 0;
  }
  pthread_mutex_unlock(&ms_run_lock);
  if (rc != 0) ms_log_error("monitor: job table full, '%s' not scheduled", name ? name : "?");
  return rc;
}

static void ms_futex_wait(uint32_t *word, uint32_t seen, uint64_t timeout_ms) {
  struct timespec ts = {(time_t)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000000L};
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

void ms_monitor_wake(void) {
  int saved = errno; /* async-signal-safe: leave the interrupted code's errno alone */
  __atomic_add_fetch(&ms_wake_word, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &ms_wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
}

/* Run every job that is due (all of them when woken); returns ms until the next one is due. */
static uint64_t ms_monitor_run_jobs(bool woken) {
  pthread_mutex_lock(&ms_run_lock);
  uint64_t now = ms_monitor_now_ms(), sleep_ms = 1000;
  for (unsigned i = 0; i < ms_njobs && !__atomic_load_n(&ms_stop_flag, __ATOMIC_ACQUIRE); i++) {
    ms_monitor_job *j = &ms_jobs[i];
    if (woken || now >= j->next_ms) {
      j->fn(now);
      now = ms_monitor_now_ms();
      j->next_ms = now + j->interval_ms;
    }
    uint64_t left = j->next_ms > now ? j->next_ms - now : 0;
    if (left < sleep_ms) sleep_ms = left;
  }
  pthread_mutex_unlock(&ms_run_lock);
  return sleep_ms;
}

static void *ms_monitor_main(void *arg) {
  (void)arg;
  /* For the thread's whole life: its allocations are our own, never sampled or recursed into. */
  ms_guard_enter();
  uint32_t seen = __atomic_load_n(&ms_wake_word, __ATOMIC_ACQUIRE);
  bool woken = false;
  while (!__atomic_load_n(&ms_stop_flag, __ATOMIC_ACQUIRE)) {
    uint64_t sleep_ms = ms_monitor_run_jobs(woken);
    if (__atomic_load_n(&ms_stop_flag, __ATOMIC_ACQUIRE)) break;
    if (sleep_ms > 0) ms_futex_wait(&ms_wake_word, seen, sleep_ms);
    uint32_t now_seen = __atomic_load_n(&ms_wake_word, __ATOMIC_ACQUIRE);
    woken = now_seen != seen;
    seen = now_seen;
  }
  ms_guard_leave();
  return NULL;
}

/* With the life lock held. Signals are blocked in the new thread: the program's handlers run on
 * its own threads, never on ours. */
static void ms_monitor_spawn_locked(void) {
  if (ms_running || ms_stopped || __atomic_load_n(&ms_njobs, __ATOMIC_ACQUIRE) == 0) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  __atomic_store_n(&ms_stop_flag, 0, __ATOMIC_RELEASE);
  ms_guard_enter();
  int rc = pthread_create(&ms_thread_id, NULL, ms_monitor_main, NULL);
  ms_guard_leave();
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc == 0) {
    ms_running = true;
    ms_log_debug("monitor: started (%u jobs)", ms_njobs);
  } else {
    ms_log_error("monitor: cannot start the thread (%s); no periodic jobs will run", strerror(rc));
  }
}

int ms_monitor_running(void) { return __atomic_load_n(&ms_running, __ATOMIC_RELAXED) ? 1 : 0; }

void ms_monitor_start(void) {
  pthread_mutex_lock(&ms_life_lock);
  ms_monitor_spawn_locked();
  pthread_mutex_unlock(&ms_life_lock);
}

void ms_monitor_stop(void) {
  pthread_mutex_lock(&ms_life_lock);
  ms_stopped = true;
  if (ms_running) {
    __atomic_store_n(&ms_stop_flag, 1, __ATOMIC_RELEASE);
    ms_monitor_wake();
    /* exit() called by a job itself cannot join its own thread; the flag still stops it. */
    if (!pthread_equal(pthread_self(), ms_thread_id)) pthread_join(ms_thread_id, NULL);
    ms_running = false;
  }
  pthread_mutex_unlock(&ms_life_lock);
}

void ms_monitor_atfork_prepare(void) {
  pthread_mutex_lock(&ms_life_lock);
  pthread_mutex_lock(&ms_run_lock);
}

void ms_monitor_atfork_parent(void) {
  pthread_mutex_unlock(&ms_run_lock);
  pthread_mutex_unlock(&ms_life_lock);
}

/* Only the forking thread exists in the child: the monitor thread is gone (its stack and TLS
 * are simply not there). Reset and start a new one. */
void ms_monitor_atfork_child(void) {
  pthread_mutex_init(&ms_run_lock, NULL);
  pthread_mutex_init(&ms_life_lock, NULL);
  ms_running = false;
  __atomic_store_n(&ms_wake_word, 0, __ATOMIC_RELAXED);
  uint64_t now = ms_monitor_now_ms();
  for (unsigned i = 0; i < ms_njobs; i++) ms_jobs[i].next_ms = now + ms_jobs[i].interval_ms;
  pthread_mutex_lock(&ms_life_lock);
  ms_monitor_spawn_locked();
  pthread_mutex_unlock(&ms_life_lock);
}
