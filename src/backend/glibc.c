/* glibc backend: forwards to glibc's own allocator through the __libc_* names (exported by
 * libc.so.6, so no dlsym is needed), returns memory with malloc_trim(0), reads mallinfo2. */

#include <malloc.h>
#include <string.h>

#include "backend.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static void glibc_free_sized(void *p, size_t size) { (void)size; __libc_free(p); }
static void glibc_free_aligned_sized(void *p, size_t align, size_t size) {
  (void)align;
  (void)size;
  __libc_free(p);
}

/* glibc's malloc_usable_size, read from the chunk header: we interpose the exported name,
 * and glibc exports no internal alias. Size field low bits: PREV_INUSE 1, IS_MMAPPED 2,
 * NON_MAIN_ARENA 4. An mmapped chunk has no next chunk to borrow a word from. */
static size_t glibc_usable_size(void *p) {
  size_t head = ((size_t *)p)[-1];
  size_t size = head & ~(size_t)7;
  return (head & 2) ? size - 2 * sizeof(size_t) : size - sizeof(size_t);
}

static void glibc_purge(void) { malloc_trim(0); }

static int glibc_stats(ms_backend_stats *out) {
  struct mallinfo2 mi = mallinfo2();
  memset(out, 0, sizeof *out);
  out->live = mi.uordblks + mi.hblkhd;
  out->active = mi.uordblks + mi.hblkhd;
  out->mapped = mi.arena + mi.hblkhd;
  out->retained = mi.fordblks; /* free bytes inside the heap: what malloc_trim can act on */
  return 0;
}

void ms_backend_glibc(ms_backend *be) {
  *be = (ms_backend){
    .name = "glibc",
    .malloc = __libc_malloc,
    .free = __libc_free,
    .calloc = __libc_calloc,
    .realloc = __libc_realloc,
    .aligned = __libc_memalign,
    .free_sized = glibc_free_sized,
    .free_aligned_sized = glibc_free_aligned_sized,
    .usable_size = glibc_usable_size,
    .purge = glibc_purge,
    .stats = glibc_stats,
  };
}
