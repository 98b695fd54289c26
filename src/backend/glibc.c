/* glibc backend: forwards to glibc's own allocator through the __libc_* names, returns memory
 * with glibc's malloc_trim(0), reads its mallinfo2. memshim exports all of these names itself
 * (a host calling glibc's malloc API reaches the backend in use), so glibc's definitions are
 * looked up in libc.so.6's own symbol table: no dlsym, no allocation, safe at the first
 * allocation of the process. */

#include <malloc.h>
#include <string.h>

#include "../util/elf_sym.h"
#include "accounting.h"
#include "backend.h"

static struct {
  void *(*malloc)(size_t);
  void (*free)(void *);
  void *(*calloc)(size_t, size_t);
  void *(*realloc)(void *, size_t);
  void *(*memalign)(size_t, size_t);
  int (*malloc_trim)(size_t);
  struct mallinfo2 (*mallinfo2)(void);
  void (*malloc_stats)(void);
  int (*malloc_info)(int, FILE *);
} glibc;

static size_t glibc_usable_size(void *p);

/* glibc keeps no per-thread byte totals nor request counts: count what this thread frees, for
 * the free path's check (accounting.h, freed_p), and the calls (calls.alloc / calls.free: with
 * jemalloc they are jemalloc's own statistics, so the shared hot path counts nothing). One
 * header read per free, only with this backend. */
static void glibc_free_counted(void *p) {
  if (p) {
    ms_tls_thread.glibc_freed += glibc_usable_size(p);
    ms_tls_thread.free_calls++;
  }
  glibc.free(p);
}
static void *glibc_malloc_counted(size_t size) {
  ms_tls_thread.alloc_calls++;
  return glibc.malloc(size);
}
static void *glibc_calloc_counted(size_t n, size_t size) {
  ms_tls_thread.alloc_calls++;
  return glibc.calloc(n, size);
}
/* A realloc is one allocation and one free (p is never NULL here, backend.h). */
static void *glibc_realloc_counted(void *p, size_t size) {
  ms_tls_thread.alloc_calls++;
  ms_tls_thread.free_calls++;
  return glibc.realloc(p, size);
}
static void *glibc_aligned_counted(size_t align, size_t size) {
  ms_tls_thread.alloc_calls++;
  return glibc.memalign(align, size);
}
static void glibc_free_sized(void *p, size_t size) { (void)size; glibc_free_counted(p); }
static void glibc_free_aligned_sized(void *p, size_t align, size_t size) {
  (void)align;
  (void)size;
  glibc_free_counted(p);
}

/* glibc's malloc_usable_size, read from the chunk header: we interpose the exported name,
 * and glibc exports no internal alias. Size field low bits: PREV_INUSE 1, IS_MMAPPED 2,
 * NON_MAIN_ARENA 4. An mmapped chunk has no next chunk to borrow a word from. */
static size_t glibc_usable_size(void *p) {
  size_t head = ((size_t *)p)[-1];
  size_t size = head & ~(size_t)7;
  return (head & 2) ? size - 2 * sizeof(size_t) : size - sizeof(size_t);
}

static int glibc_purge(void) { return glibc.malloc_trim ? glibc.malloc_trim(0) : 0; }

static int glibc_stats(ms_backend_stats *out) {
  if (!glibc.mallinfo2) return -1;
  struct mallinfo2 mi = glibc.mallinfo2();
  memset(out, 0, sizeof *out);
  out->live = mi.uordblks + mi.hblkhd;
  out->active = mi.uordblks + mi.hblkhd;
  out->mapped = mi.arena + mi.hblkhd;
  out->retained = mi.fordblks; /* free bytes inside the heap: what malloc_trim can act on */
  return 0;
}

static void *glibc_sym(const char *name) { return ms_elf_loaded_sym("libc.so.6", name); }

int ms_backend_glibc(ms_backend *be) {
  glibc.malloc = (void *(*)(size_t))glibc_sym("__libc_malloc");
  glibc.free = (void (*)(void *))glibc_sym("__libc_free");
  glibc.calloc = (void *(*)(size_t, size_t))glibc_sym("__libc_calloc");
  glibc.realloc = (void *(*)(void *, size_t))glibc_sym("__libc_realloc");
  glibc.memalign = (void *(*)(size_t, size_t))glibc_sym("__libc_memalign");
  glibc.malloc_trim = (int (*)(size_t))glibc_sym("malloc_trim");
  glibc.mallinfo2 = (struct mallinfo2(*)(void))glibc_sym("mallinfo2");
  glibc.malloc_stats = (void (*)(void))glibc_sym("malloc_stats");
  glibc.malloc_info = (int (*)(int, FILE *))glibc_sym("malloc_info");
  if (!glibc.malloc || !glibc.free || !glibc.calloc || !glibc.realloc || !glibc.memalign) return -1;
  *be = (ms_backend){
    .name = "glibc",
    .malloc = glibc_malloc_counted,
    .free = glibc_free_counted,
    .calloc = glibc_calloc_counted,
    .realloc = glibc_realloc_counted,
    .aligned = glibc_aligned_counted,
    .free_sized = glibc_free_sized,
    .free_aligned_sized = glibc_free_aligned_sized,
    .usable_size = glibc_usable_size,
    .purge = glibc_purge,
    .stats = glibc_stats,
    .native_mallinfo2 = glibc.mallinfo2,
    .native_malloc_stats = glibc.malloc_stats,
    .native_malloc_info = glibc.malloc_info,
  };
  return 0;
}
