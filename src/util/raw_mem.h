/* Memory of memshim's own, straight from the kernel: never through the heap or the mmap that
 * memshim exports, so no table operation, report or symbolizer can recurse into the allocation
 * path, be sampled, or appear in the file-mapping registry. */
#ifndef MEMSHIM_UTIL_RAW_MEM_H
#define MEMSHIM_UTIL_RAW_MEM_H

#include "sys.h"

/* Zeroed pages, or NULL. */
static inline void *ms_raw_alloc(size_t bytes) {
  void *p = ms_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}
static inline void ms_raw_free(void *p, size_t bytes) {
  if (p) ms_sys_munmap(p, bytes);
}

/* A buffer of whole pages: ms_raw_buf_get rounds bytes up (a page at least). */
typedef struct {
  void *p;
  size_t bytes;
} ms_raw_buf;
static inline void *ms_raw_buf_get(ms_raw_buf *b, size_t bytes) {
  b->bytes = bytes ? (bytes + 4095) & ~(size_t)4095 : 4096;
  b->p = ms_raw_alloc(b->bytes);
  return b->p;
}
static inline void ms_raw_buf_put(ms_raw_buf *b) {
  ms_raw_free(b->p, b->bytes);
  b->p = NULL;
}

#endif
