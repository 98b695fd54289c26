/* Registry of file-backed mappings and the residency cap on them.
 *
 * The mmap entry points (interpose/mmap.c) hold the registry lock around their syscall and
 * the registry update, so the registry always matches the kernel for every range it lists
 * (in a fork child too: see ms_mmap_atfork_child),
 * and the cap (which drops pages with the same lock held) can never touch a range that was
 * just unmapped and reused. The registry's memory is its own (raw mmap), never the heap. */
#ifndef MEMSHIM_MMAP_REGISTRY_H
#define MEMSHIM_MMAP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a new mapping is to us. */
typedef enum {
  MS_MAP_IGNORE = 0,   /* anonymous, or smaller than MEMSHIM_MMAP_MIN: not tracked */
  MS_MAP_KEEP = 1,     /* tracked, never dropped: private writable (copy-on-write data lives only here) */
  MS_MAP_ELIGIBLE = 2, /* tracked and droppable: read-only or MAP_SHARED, the file holds the data */
} ms_map_class;
ms_map_class ms_mmap_classify(size_t len, int prot, int flags, int fd, uint64_t min_bytes);

/* Set the size floor (MEMSHIM_MMAP_MIN); until then nothing is tracked. */
void ms_mmap_registry_configure(uint64_t min_bytes);

/* True when at least one mapping is tracked: entry points skip the lock otherwise. */
bool ms_mmap_registry_busy(void);
/* True when a new mapping of this kind would be tracked. */
bool ms_mmap_registry_wants(size_t len, int prot, int flags, int fd);

/* The registry lock. ms_mmap_lock_span names the ranges the holder's system call may change
 * (len 0: none; a mapping placed by the kernel goes where nothing was): a fork child whose
 * parent forked in the middle of that call stops tracking them (see ms_mmap_atfork_child). */
void ms_mmap_lock_span(uintptr_t a, size_t alen, uintptr_t b, size_t blen);
void ms_mmap_lock(void);
void ms_mmap_unlock(void);
/* With the lock held, after the syscall succeeded. note_map returns true when it added a
 * mapping the cap may drop. */
/* site: the caller's stack id (ms_profile_capture_site, taken before the lock), 0 when unknown. */
bool ms_mmap_note_map_locked(uintptr_t addr, size_t len, int prot, int flags, int fd, uint32_t site);
void ms_mmap_note_unmap_locked(uintptr_t addr, size_t len);
void ms_mmap_note_remap_locked(uintptr_t old_addr, size_t old_len, uintptr_t new_addr, size_t new_len);
void ms_mmap_note_protect_locked(uintptr_t addr, size_t len, int prot);

/* Measure the resident pages of eligible mappings (/proc/self/pagemap); when they pass
 * limit_bytes, drop the least recently grown 2 MiB chunks with MADV_DONTNEED until they are at
 * most target_bytes (<= limit_bytes). Chunks that hold any anonymous page (copy-on-write data)
 * are never dropped. Returns bytes dropped; *resident gets the resident bytes after dropping.
 * limit_bytes = UINT64_MAX only measures. */
uint64_t ms_mmap_enforce(uint64_t limit_bytes, uint64_t target_bytes, uint64_t *resident);

/* Drop every page of the droppable mappings at once, without measuring first: a scan streaming
 * from the page cache outruns a measure (pagemap of a 1 GiB mapping takes a few ms, in which it
 * maps tens of MB more). Mappings known to hold a copy-on-write page are left out. Returns the
 * file-backed resident bytes it freed (statm before and after); *shared_after gets statm's
 * file-backed resident bytes read right after the drop. */
uint64_t ms_mmap_drop_all(uint64_t *shared_after);

typedef struct {
  uint64_t tracked_bytes, tracked_count, resident_bytes, dropped_bytes, untracked_full;
} ms_mmap_counters;
void ms_mmap_counters_read(ms_mmap_counters *out);

/* A report's view of the tracked mappings (cold path): each one's range, call site, and its
 * resident bytes in this process's page table now (pagemap; anon_bytes: copy-on-write pages
 * among them). droppable: the cap may drop it (MS_MAP_ELIGIBLE). Returns how many were written. */
typedef struct {
  uintptr_t start, end;
  uint32_t site;
  bool droppable, measured;
  uint64_t resident_bytes, anon_bytes;
} ms_mmap_item;
unsigned ms_mmap_registry_list(ms_mmap_item *out, unsigned max);

/* For tests: visit the entries (start, end, class). */
typedef void (*ms_mmap_visit_fn)(uintptr_t start, uintptr_t end, ms_map_class cls, void *arg);
void ms_mmap_registry_visit(ms_mmap_visit_fn fn, void *arg);
/* For tests: forget every entry (keeps the configuration). */
void ms_mmap_registry_clear(void);

/* No prepare or parent handler: no lock of ours is held across fork, since another library's
 * prepare handler may wait for a thread that waits for us. A child whose parent forked while the
 * lock was held repairs the registry on its first lock: whole entries outside the holder's
 * ranges stay, the rest is forgotten (an untracked mapping is only never dropped). */
void ms_mmap_atfork_child(void);

#endif
