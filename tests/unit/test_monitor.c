/* The monitor thread: it exists only while a job needs it, runs jobs on their cadence with the
 * recursion guard held, runs them at once on a wake, is gone (joined) after a suspension, a fork
 * or stop and comes back only with a kick, and never keeps a process alive as its last thread.
 * Every check waits for an observable event (a job run, the thread count in /proc) with a
 * generous time-out; none sleeps and then asserts that nothing happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/monitor.h"
#include "util/guard.h"
#include "util/owner.h"
#include "util/proc.h"

MS_TLS int ms_tls_guard; /* normally in backend/accounting.c */

static int fast_runs, slow_runs, guard_seen_free, fast_needed = 1;
static pthread_t job_thread;

static ms_job_next fast_job(uint64_t now) {
  (void)now;
  if (!ms_guard_held()) __atomic_store_n(&guard_seen_free, 1, __ATOMIC_RELAXED);
  job_thread = pthread_self();
  __atomic_add_fetch(&fast_runs, 1, __ATOMIC_RELAXED);
  return (ms_job_next){10, __atomic_load_n(&fast_needed, __ATOMIC_RELAXED) != 0};
}
static ms_job_next slow_job(uint64_t now) {
  (void)now;
  __atomic_add_fetch(&slow_runs, 1, __ATOMIC_RELAXED);
  return (ms_job_next){60000, false};
}

/* What core/init.c does around the monitor: the constructor's process owns the state, then each
 * fork child (made the owner before the monitor's child handler runs). */
static void atfork_child(void) {
  ms_owner_set();
  ms_monitor_atfork_child();
}

static int load(int *v) { return __atomic_load_n(v, __ATOMIC_RELAXED); }

static int wait_for(int *v, int at_least, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    if (load(v) >= at_least) return 1;
    usleep(5000);
  }
  return load(v) >= at_least;
}

/* Kick until the thread runs (after a suspension it stays away for a while, whatever comes). */
static int kick_until_running(int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    ms_monitor_kick();
    if (ms_monitor_running()) return 1;
    usleep(5000);
  }
  return 0;
}

/* Wait until the process has `n` threads (ours gone, or there). */
static int wait_threads(int n, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    if (ms_proc_threads() == n) return 1;
    usleep(5000);
  }
  return ms_proc_threads() == n;
}

static void test_lifecycle(void **state) {
  (void)state;
  assert_int_equal(ms_monitor_add_job("bad", 0, NULL), -1);
  assert_int_equal(ms_monitor_add_job("fast", 10, fast_job), 0);
  assert_int_equal(ms_monitor_add_job("slow", 60000, slow_job), 0);
  ms_owner_set();
  pthread_atfork(ms_monitor_atfork_prepare, ms_monitor_atfork_parent, atfork_child);
  /* Nothing runs before there is activity. */
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(ms_proc_threads(), 1);

  ms_monitor_kick();
  ms_monitor_kick(); /* idempotent */
  assert_int_equal(ms_monitor_running(), 1);
  assert_int_equal(ms_proc_threads(), 2);

  /* Cadence: a 10 ms job runs repeatedly, on another thread, with the guard held. */
  assert_true(wait_for(&fast_runs, 5, 5000));
  assert_false(pthread_equal(job_thread, pthread_self()));
  assert_int_equal(load(&guard_seen_free), 0);
  assert_int_equal(load(&slow_runs), 0); /* first run due in a minute */

  /* A wake runs every job now, including the one not due. */
  ms_monitor_wake();
  assert_true(wait_for(&slow_runs, 1, 5000));

  /* No job needs the thread: it leaves, and a kick brings it back. */
  __atomic_store_n(&fast_needed, 0, __ATOMIC_RELAXED);
  assert_true(wait_threads(1, 5000));
  assert_int_equal(ms_monitor_running(), 0);
  __atomic_store_n(&fast_needed, 1, __ATOMIC_RELAXED);
  int before = load(&fast_runs);
  ms_monitor_kick();
  assert_true(wait_for(&fast_runs, before + 3, 5000));

  /* Suspension (setuid & co.): no thread of ours exists when it returns, kicks start none
   * until it is lifted, and the next kick after that does. */
  ms_monitor_suspend();
  assert_int_equal(ms_proc_threads(), 1);
  ms_monitor_kick();
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(ms_proc_threads(), 1);
  assert_true(ms_monitor_restart_pending());
  uint64_t resumed = ms_monitor_now_ms();
  ms_monitor_resume();
  assert_int_equal(ms_monitor_running(), 0); /* lazily: not at resume */
  ms_monitor_kick();
  /* nor at the activity right after it (CPython counts threads right after fork) */
  if (ms_monitor_now_ms() - resumed < MS_MONITOR_RESUME_HOLD_MS) assert_int_equal(ms_monitor_running(), 0);
  assert_true(kick_until_running(5000));
  assert_true(ms_monitor_now_ms() - resumed >= MS_MONITOR_RESUME_HOLD_MS);
  assert_false(ms_monitor_restart_pending());

  /* Fork: neither side has our thread right after it; the child gets one with its first kick,
   * the parent with a kick after the hold. */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int ok = ms_monitor_running() == 0 && ms_proc_threads() == 1;
    before = load(&fast_runs);
    ms_monitor_kick();
    ok = ok && wait_for(&fast_runs, before + 5, 5000);
    ms_monitor_stop();
    _exit(ok ? 0 : 3);
  }
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(ms_proc_threads(), 1);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  before = load(&fast_runs);
  assert_true(kick_until_running(5000));
  assert_true(wait_for(&fast_runs, before + 3, 5000));

  /* Stop joins: when it returns our thread is gone, and no kick revives it. */
  ms_monitor_stop();
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(ms_proc_threads(), 1);
  ms_monitor_kick();
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(ms_proc_threads(), 1);
}

/* A process whose main thread ends with pthread_exit ends when its last own thread does; ours
 * must not keep it alive (it would be unkillable but for SIGKILL: ours blocks every signal). */
static void *short_worker(void *arg) {
  (void)arg;
  usleep(100000);
  return NULL;
}

static void test_never_last_thread(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    ms_monitor_kick(); /* the fast job needs the thread for good */
    if (!ms_monitor_running()) _exit(4);
    pthread_t t;
    pthread_create(&t, NULL, short_worker, NULL);
    pthread_exit(NULL);
  }
  int status = 0, done = 0;
  for (int waited = 0; waited < 10000 && !done; waited += 10) {
    done = waitpid(pid, &status, WNOHANG) == pid;
    if (!done) usleep(10000);
  }
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  assert_true(done);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_lifecycle),
    cmocka_unit_test(test_never_last_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
