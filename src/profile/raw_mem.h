/* Memory for the profiler's own tables, straight from mmap: never through the heap we
 * interpose, so no table operation can recurse into the allocation path or be sampled. */
#ifndef MEMSHIM_RAW_MEM_H
#define MEMSHIM_RAW_MEM_H

#include <stddef.h>
#include <sys/mman.h>

/* Zeroed pages, or NULL. */
static inline void *ms_raw_alloc(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}
static inline void ms_raw_free(void *p, size_t bytes) {
  if (p) munmap(p, bytes);
}

#endif
