/* The monitor thread: jobs run on their cadence with the recursion guard held, a wake runs
 * them at once, the thread restarts in a fork child, and nothing runs after stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/guard.h"
#include "policy/monitor.h"

MS_TLS int ms_tls_guard; /* normally in core/state.c */

static int fast_runs, slow_runs, guard_seen_free;
static pthread_t job_thread;

static void fast_job(uint64_t now) {
  (void)now;
  if (!ms_guard_held()) __atomic_store_n(&guard_seen_free, 1, __ATOMIC_RELAXED);
  job_thread = pthread_self();
  __atomic_add_fetch(&fast_runs, 1, __ATOMIC_RELAXED);
}
static void slow_job(uint64_t now) {
  (void)now;
  __atomic_add_fetch(&slow_runs, 1, __ATOMIC_RELAXED);
}

static int load(int *v) { return __atomic_load_n(v, __ATOMIC_RELAXED); }

static int wait_for(int *v, int at_least, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    if (load(v) >= at_least) return 1;
    usleep(5000);
  }
  return load(v) >= at_least;
}

/* Threads of this process (entries of /proc/self/task). */
static int task_count(void) {
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void test_monitor(void **state) {
  (void)state;
  assert_int_equal(ms_monitor_add_job("bad", 0, fast_job), -1);
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(ms_monitor_add_job("fast", 10, fast_job), 0);
  assert_int_equal(ms_monitor_add_job("slow", 60000, slow_job), 0);
  pthread_atfork(ms_monitor_atfork_prepare, ms_monitor_atfork_parent, ms_monitor_atfork_child);
  ms_monitor_start();
  ms_monitor_start(); /* idempotent */
  assert_int_equal(ms_monitor_running(), 1);

  /* Cadence: a 10 ms job runs repeatedly, on another thread, with the guard held. */
  assert_true(wait_for(&fast_runs, 5, 5000));
  assert_false(pthread_equal(job_thread, pthread_self()));
  assert_int_equal(load(&guard_seen_free), 0);
  assert_int_equal(load(&slow_runs), 0); /* not due for a minute */

  /* A wake runs every job now, including the one not due. */
  ms_monitor_wake();
  assert_true(wait_for(&slow_runs, 1, 5000));

  /* Fork: the child has no monitor thread until it starts a new one; its jobs run there. */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int before = load(&fast_runs);
    int ok = ms_monitor_running() == 1 && wait_for(&fast_runs, before + 5, 5000);
    ms_monitor_stop();
    _exit(ok ? 0 : 3);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* The parent's thread kept running across the fork. */
  int before = load(&fast_runs);
  assert_true(wait_for(&fast_runs, before + 3, 5000));

  /* Stop joins: the thread is gone when stop returns (this process is single-threaded again,
   * so no job can run), and start does not create a new one. Observed, not slept on. */
  ms_monitor_stop();
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(task_count(), 1);
  int after_stop = load(&fast_runs);
  ms_monitor_start();
  ms_monitor_wake();
  assert_int_equal(task_count(), 1);
  assert_int_equal(ms_monitor_running(), 0);
  assert_int_equal(load(&fast_runs), after_stop);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_monitor)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
