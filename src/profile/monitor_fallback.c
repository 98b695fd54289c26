/* Weak stand-in for the monitor thread (src/policy/monitor.c) so the profiler's periodic jobs
 * run in a build without it; the real monitor's strong definitions replace these at link time. */
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "../core/guard.h"
#include "../policy/monitor.h"

#define MS_FB_JOBS 8
#define MS_WEAK __attribute__((weak))

static struct { const char *name; uint64_t interval, next; ms_monitor_job_fn fn; } ms_fb_jobs[MS_FB_JOBS];
static int ms_fb_njobs;
static sem_t ms_fb_sem;
static pthread_t ms_fb_thread;
static int ms_fb_running, ms_fb_stop;

MS_WEAK uint64_t ms_monitor_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

MS_WEAK int ms_monitor_add_job(const char *name, uint64_t interval_ms, ms_monitor_job_fn fn) {
  if (ms_fb_njobs == MS_FB_JOBS || !interval_ms) return -1;
  ms_fb_jobs[ms_fb_njobs].name = name;
  ms_fb_jobs[ms_fb_njobs].interval = interval_ms;
  ms_fb_jobs[ms_fb_njobs].fn = fn;
  ms_fb_njobs++;
  return 0;
}

static void *ms_fb_main(void *arg) {
  (void)arg;
  ms_guard_enter();
  for (;;) {
    uint64_t now = ms_monitor_now_ms(), wait = 1000;
    if (__atomic_load_n(&ms_fb_stop, __ATOMIC_ACQUIRE)) break;
    for (int i = 0; i < ms_fb_njobs; i++) {
      if (now >= ms_fb_jobs[i].next) {
        ms_fb_jobs[i].fn(now);
        ms_fb_jobs[i].next = now + ms_fb_jobs[i].interval;
      }
      uint64_t left = ms_fb_jobs[i].next > now ? ms_fb_jobs[i].next - now : 0;
      if (left < wait) wait = left;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(wait / 1000);
    ts.tv_nsec += (long)(wait % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    if (sem_clockwait(&ms_fb_sem, CLOCK_MONOTONIC, &ts) == 0)
      for (int i = 0; i < ms_fb_njobs; i++) ms_fb_jobs[i].next = 0; /* woken: run everything now */
  }
  return NULL;
}

MS_WEAK void ms_monitor_start(void) {
  if (ms_fb_running || !ms_fb_njobs) return;
  sem_init(&ms_fb_sem, 0, 0);
  ms_fb_stop = 0;
  ms_guard_enter();
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  if (pthread_create(&ms_fb_thread, &attr, ms_fb_main, NULL) == 0) ms_fb_running = 1;
  pthread_attr_destroy(&attr);
  ms_guard_leave();
}

MS_WEAK void ms_monitor_wake(void) {
  if (ms_fb_running) sem_post(&ms_fb_sem);
}

MS_WEAK void ms_monitor_stop(void) {
  if (!ms_fb_running) return;
  __atomic_store_n(&ms_fb_stop, 1, __ATOMIC_RELEASE);
  sem_post(&ms_fb_sem);
  pthread_join(ms_fb_thread, NULL);
  ms_fb_running = 0;
}

MS_WEAK void ms_monitor_atfork_prepare(void) {}
MS_WEAK void ms_monitor_atfork_parent(void) {}
MS_WEAK void ms_monitor_atfork_child(void) {
  ms_fb_running = 0; /* the thread did not survive the fork */
  ms_monitor_start();
}
