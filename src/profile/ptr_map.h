/* The sampled pointers, so that a free can take back what its allocation added. Only sampled
 * pointers are kept, so this grows with samples, not with live allocations. A counting filter
 * indexed by a hash of the pointer answers "certainly not sampled" with one relaxed load, before
 * any lock: that is the cost of free for the (many) pointers that were not sampled. */
#ifndef MEMSHIM_PTR_MAP_H
#define MEMSHIM_PTR_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uintptr_t ptr;
  uint64_t bytes; /* weighted bytes added to the site */
  uint32_t site;
  uint32_t count; /* weighted count added to the site */
} ms_ptr_entry;

#define MS_FILTER_BITS 16
extern __attribute__((visibility("hidden"))) uint16_t ms_ptr_filter[1u << MS_FILTER_BITS];

static inline uint64_t ms_ptr_hash(uintptr_t p) {
  uint64_t h = (uint64_t)p >> 4;
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}
/* The filter's slot: one shift, since every free computes it. 64-byte granules: neighbouring
 * small blocks share a slot (a false positive only costs the locked lookup), and page-aligned
 * large blocks still spread over 1024 slots. */
static inline uint32_t ms_ptr_filter_slot(uintptr_t p) { return (uint32_t)(p >> 6) & ((1u << MS_FILTER_BITS) - 1); }
/* True when p may have been sampled (false positives possible, no false negatives). */
static inline bool ms_ptr_maybe_sampled(const void *p) {
  return __atomic_load_n(&ms_ptr_filter[ms_ptr_filter_slot((uintptr_t)p)], __ATOMIC_RELAXED) != 0;
}

/* Remember a sampled pointer; -1 when out of memory (the sample is then not counted).
 * A pointer already present is replaced (its old entry returned in *old, and 1 returned). */
int ms_ptrs_insert(const ms_ptr_entry *e, ms_ptr_entry *old);
/* Forget p; true (and the entry) when it was sampled. */
bool ms_ptrs_remove(const void *p, ms_ptr_entry *out);
uint64_t ms_ptrs_count(void);
uint64_t ms_ptrs_memory(void);

/* Every entry, copied into raw memory (*out, *n entries, *bytes to ms_raw_free) for the
 * reachability scan, which runs with the other threads stopped: the shard locks are only tried.
 * 0; -2 when one is held (by a stopped thread: let it run and try again); -1 out of memory. */
int ms_ptrs_copy_all(ms_ptr_entry **out, uint64_t *n, size_t *bytes);
/* The shard locks are util/forklock.h locks (ms_ptrs_init publishes their words), taken by no
 * fork handler. A fork child repairs a shard the parent forked in the middle of changing; the
 * sampled pointers it could not trust are counted (ms_ptrs_fork_dropped). */
void ms_ptrs_init(void);
void ms_ptrs_atfork_child(void);
uint64_t ms_ptrs_fork_dropped(void);
uint64_t ms_ptrs_fork_repairs(void);

#endif
