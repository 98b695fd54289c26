/* The small table every heap backend fills. Backends know nothing of profiling or policy:
 * policy calls purge(), never the reverse. */
#ifndef MEMSHIM_BACKEND_H
#define MEMSHIM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <malloc.h>
#include <stdio.h>
#include <stdint.h>

typedef struct {
  uint64_t live;      /* bytes the application holds (exact) */
  uint64_t active;    /* bytes in pages that hold live objects */
  uint64_t resident;  /* bytes of the allocator resident in RAM (0 = unknown) */
  uint64_t retained;  /* freed but still resident: what a purge could give back */
  uint64_t mapped;    /* bytes mapped by the allocator */
  uint64_t metadata;  /* allocator bookkeeping */
} ms_backend_stats;

typedef struct {
  const char *name;
  void *(*malloc)(size_t);
  void (*free)(void *);
  void *(*calloc)(size_t, size_t);
  void *(*realloc)(void *, size_t); /* never called with size 0 or NULL */
  /* align: power of two >= sizeof(void *); returns NULL on failure. */
  void *(*aligned)(size_t align, size_t size);
  void (*free_sized)(void *, size_t size); /* size as given to the allocation */
  void (*free_aligned_sized)(void *, size_t align, size_t size);
  size_t (*usable_size)(void *); /* never called with NULL */
  /* Give freed pages back to the OS. Returns 1 when the allocator says it released memory,
   * 0 when it says it did not, -1 when it cannot tell (the caller measures). */
  int (*purge)(void);
  int (*stats)(ms_backend_stats *out); /* 0 or -1; may take allocator locks: not on the hot path */
  /* The allocator's own glibc malloc API, when it has one (glibc); NULL otherwise. */
  struct mallinfo2 (*native_mallinfo2)(void);
  void (*native_malloc_stats)(void);
  int (*native_malloc_info)(int options, FILE *fp);
} ms_backend;

/* The hot path reads these on every call: declared hidden so that the compiler addresses
 * them PC-relative, without a GOT load. */
#pragma GCC visibility push(hidden)

/* The active backend. Statically set to a bootstrap table whose first call selects the
 * backend (jemalloc or glibc) from the environment without allocating, so every pointer
 * is served by one allocator for the life of the process. */
extern ms_backend ms_be;

enum { MS_BE_JEMALLOC = 0, MS_BE_GLIBC = 1 };
extern int ms_be_kind;

/* Decide the backend (idempotent, no allocation). */
void ms_backend_select(void);

/* Per-thread exact byte counters of jemalloc (thread.allocatedp / thread.deallocatedp),
 * or NULLs for backends that have none. */
void ms_backend_thread_counters(uint64_t **allocatedp, uint64_t **deallocatedp);
/* True once jemalloc's control interface has been used in this process (its first use is the
 * expensive one). */
bool ms_backend_ctl_ready(void);

/* jemalloc's own request counts, for calls.alloc / calls.free when the hot path counts nothing
 * (a jemalloc process without profiling). allocs: the blocks jemalloc handed out (its
 * stats.arenas.<all>.small.nrequests + large.nrequests: every malloc, calloc, new, aligned
 * allocation and every realloc that moved, and jemalloc's own internal allocations); frees:
 * allocs minus the blocks jemalloc counts as allocated now. The calling thread's thread cache is
 * flushed first, so that its requests are merged; another live thread's merge when its cache
 * flushes or is collected (every 64 KiB or so of its activity), and blocks in its cache count as
 * allocated until then: both are lower bounds then, exact once the other threads' caches are
 * flushed (a thread's is when it ends). frees never decreases from one read to the next. Leaves
 * the arguments alone when jemalloc cannot tell. */
void ms_backend_call_counts(uint64_t *allocs, uint64_t *frees);
/* Install fn as the calling thread's jemalloc activity callback (experimental.thread.
 * activity_callback): jemalloc calls it every 64 KiB the thread allocates and every 64 KiB it
 * frees, with its cumulative byte totals. 0, or -1 (not jemalloc, or refused). */
int ms_backend_activity_callback(void (*fn)(void *uctx, uint64_t allocated, uint64_t deallocated), void *uctx);

/* Filled by backend/jemalloc.c and backend/glibc.c. */
void ms_backend_jemalloc(ms_backend *be);
/* 0, or -1 when glibc's allocator cannot be found (the caller falls back to jemalloc). */
int ms_backend_glibc(ms_backend *be);


#pragma GCC visibility pop

#endif
