/* Deduplicated call stacks ("sites") with their counters. A site is created once per distinct
 * stack and never moves or dies, so its id (1, 2, ...) is stable for the life of the process
 * and a fork child. Counters are atomics: sampling and frees update them without the table
 * lock; the lock only guards inserting a new stack. Memory comes from mmap. */
#ifndef MEMSHIM_STACK_TABLE_H
#define MEMSHIM_STACK_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define MS_MAX_DEPTH 128

typedef struct ms_site {
  uint64_t hash;
  const uintptr_t *frames; /* return addresses, innermost (the allocating function) first */
  uint32_t id;
  uint32_t depth;
  /* weighted estimates (exact in exact mode); live ones are signed: a free may be counted
   * on another thread a moment before the matching allocation */
  int64_t live_bytes, live_count;
  uint64_t alloc_bytes, alloc_count;
  uint64_t peak_bytes;
} ms_site;

/* The id of this stack, created if new; 0 when the table is out of memory. */
uint32_t ms_stacks_intern(const uintptr_t *frames, unsigned depth);
/* Site by id (1..ms_stacks_count()), NULL otherwise. Lock-free. */
ms_site *ms_stacks_site(uint32_t id);
uint32_t ms_stacks_count(void);

void ms_site_alloc(ms_site *s, uint64_t bytes, uint32_t count);
void ms_site_free(ms_site *s, uint64_t bytes, uint32_t count);

/* Each site's peak becomes its live bytes now (memshim_peak_reset): peaks are then "since the
 * reset". Racing samples may raise a peak right after; nothing is lost. */
void ms_stacks_peak_reset(void);
/* ms_stacks_peak_reset ran in this process: reports also keep sites whose peak is above their live bytes. */
bool ms_stacks_peaks_were_reset(void);

/* Bytes of memory the table holds (for the benchmark). */
uint64_t ms_stacks_memory(void);

/* The table's lock is a util/forklock.h lock, taken by no fork handler: ms_stacks_init publishes
 * its word; a fork child keeps every published site (the memory they describe is inherited) and
 * rebuilds the index when the parent forked mid-insert (counted by ms_stacks_fork_repairs). */
void ms_stacks_init(void);
void ms_stacks_atfork_child(void);
uint32_t ms_stacks_fork_repairs(void);

#endif
