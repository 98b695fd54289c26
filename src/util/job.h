/* What a monitor job is, for the collectors that define one (core/monitor.c runs them; the job
 * table is core/init.c's): here, below both, so that a collector never includes core. */
#ifndef MEMSHIM_JOB_H
#define MEMSHIM_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* What a job wants after a run: to run again in next_ms, and whether the thread must stay for
 * it (false: run me while the thread is there anyway, but do not keep it alive for me). */
typedef struct {
  uint64_t next_ms;
  bool needed;
} ms_job_next;

typedef ms_job_next (*ms_monitor_job_fn)(uint64_t now_ms);

/* Monotonic milliseconds, the clock jobs are given. */
static inline uint64_t ms_monitor_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
