/* Heap return: purge on request, counted. The threshold-driven policy and its monitor thread
 * arrive with the memory-return issue. */
#include <pthread.h>
#include <time.h>

#include "../backend/backend.h"
#include "../core/log.h"
#include "../util/proc.h"
#include "policy.h"

static uint64_t ms_purges, ms_purged_bytes, ms_heap_peak;

void ms_policy_init(void) {}
void ms_policy_at_exit(void) {}
void ms_policy_atfork_prepare(void) {}
void ms_policy_atfork_parent(void) {}
void ms_policy_atfork_child(void) {}

void ms_policy_note_live(uint64_t live) {
  uint64_t peak = __atomic_load_n(&ms_heap_peak, __ATOMIC_RELAXED);
  while (live > peak && !__atomic_compare_exchange_n(&ms_heap_peak, &peak, live, 1, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED)) {
  }
}

uint64_t ms_policy_purge_now(const char *trigger) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t before = ms_proc_rss();
  ms_be.purge();
  uint64_t after = ms_proc_rss();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  uint64_t returned = before > after ? before - after : 0;
  __atomic_add_fetch(&ms_purges, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ms_purged_bytes, returned, __ATOMIC_RELAXED);
  ms_log_info("purge (%s): %llu bytes returned in %.3f ms", trigger, (unsigned long long)returned,
              (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  return returned;
}

void ms_policy_counters_read(ms_policy_counters *out) {
  *out = (ms_policy_counters){
    .purges = __atomic_load_n(&ms_purges, __ATOMIC_RELAXED),
    .purged_bytes = __atomic_load_n(&ms_purged_bytes, __ATOMIC_RELAXED),
    .heap_peak = __atomic_load_n(&ms_heap_peak, __ATOMIC_RELAXED),
  };
}
