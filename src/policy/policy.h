/* Memory-return policy as the core sees it. Implemented in src/policy/. */
#ifndef MEMSHIM_POLICY_H
#define MEMSHIM_POLICY_H

#include <stdint.h>

void ms_policy_init(void);
void ms_policy_at_exit(void);
void ms_policy_atfork_prepare(void);
void ms_policy_atfork_parent(void);
void ms_policy_atfork_child(void);

/* Purge the heap now, count it, and return the resident bytes given back. */
uint64_t ms_policy_purge_now(const char *trigger);

typedef struct {
  uint64_t purges, purged_bytes, heap_peak;
  uint64_t mmap_tracked, mmap_resident, mmap_dropped;
} ms_policy_counters;
void ms_policy_counters_read(ms_policy_counters *out);
/* Note a heap_live observation for the peak. */
void ms_policy_note_live(uint64_t live);

#endif
