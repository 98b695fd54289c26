/* The C allocation entry points, nothing else: each checks its arguments the way glibc
 * documents, forwards to the backend, and takes the per-thread countdown. malloc and free
 * jump through the calling thread's own record (accounting.h, malloc_fn/free_fn): the tracked
 * path below, or jemalloc's malloc and free themselves once the thread went direct. */

#include <errno.h>
#include <malloc.h> /* memalign, pvalloc, malloc_usable_size */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "track.h"
#include "new_delete.h"
#include "../backend/jemalloc_static.h"
#include "../util/export.h"


static inline int ms_is_pow2(size_t x) { return x && !(x & (x - 1)); }

static size_t ms_page_size(void) {
  static size_t page;
  if (ms_unlikely(!page)) page = (size_t)sysconf(_SC_PAGESIZE);
  return page;
}

/* Backends set errno = ENOMEM themselves on failure (jemalloc's and glibc's malloc do; the
 * bootstrap x-API wrappers do it explicitly), so the common path is a tail call. */
static __attribute__((noinline)) void *ms_malloc_slow(size_t size) {
  void *p = ms_be.malloc(size);
  return p ? ms_alloc_slow(p, size) : NULL;
}

void *ms_malloc_tracked(size_t size) {
  if (ms_track_alloc_begin(size)) return ms_malloc_slow(size);
  return ms_be.malloc(size);
}

static __attribute__((noinline)) void ms_free_rare(void *p) {
  ms_track_free_rare(p);
  ms_be.free(p);
}

void ms_free_tracked(void *p) {
  if (ms_unlikely(!p)) return;
  if (ms_track_free_begin(p)) return ms_free_rare(p);
  ms_be.free(p);
}

/* Every thread starts tracked: its first allocation registers it (countdown 0). The targets
 * are link-time constants, relocated in the TLS image like freed_p. */
#define MS_DISPATCH_TRACKED_SET {ms_malloc_tracked, ms_free_tracked, ms_new_tracked, ms_delete_tracked, ms_delete_sized_tracked}
MS_TLS ms_thread ms_tls_thread = {.fn = MS_DISPATCH_TRACKED_SET, .freed_p = &ms_no_frees};

/* A sampled thread's free (MS_DISPATCH_SAMPLED): the heap mark is jemalloc's activity
 * callback's, so only the filter is asked; an unsampled pointer never leaves this path. NULL
 * needs no test of its own: jemalloc frees it as nothing, and the filter's slot for it (a
 * sampled block's slot too, now and then) sends it here, where it is no sample. */
static __attribute__((noinline)) void ms_free_sampled_rare(void *p) {
  if (p) ms_profile_free(p);
  ms_je_free(p);
}

void ms_free_sampled(void *p) {
  if (ms_unlikely(ms_ptr_maybe_sampled(p))) return ms_free_sampled_rare(p);
  ms_je_free(p);
}

/* Only jemalloc goes direct: its malloc and free are the C entry points' whole job (errno,
 * free(NULL)); operator new keeps the standard's failure loop (ms_new_direct). */
const ms_dispatch ms_dispatch_modes[3] = {
    [MS_DISPATCH_TRACKED] = MS_DISPATCH_TRACKED_SET,
    [MS_DISPATCH_DIRECT] = {ms_je_malloc, ms_je_free, ms_new_direct, ms_je_free, ms_delete_sized_direct},
    [MS_DISPATCH_SAMPLED] = {ms_malloc_tracked, ms_free_sampled, ms_new_tracked, ms_free_sampled, ms_delete_sized_sampled},
};

/* One indirect tail jump each (a TLS load and `jmp *`). */
MS_EXPORT void *malloc(size_t size) { return ms_tls_thread.fn.malloc_fn(size); }
MS_EXPORT void free(void *p) { ms_tls_thread.fn.free_fn(p); }

static __attribute__((noinline)) void *ms_calloc_slow(size_t n, size_t size, size_t total) {
  void *p = ms_be.calloc(n, size);
  return p ? ms_alloc_slow(p, total) : NULL;
}

MS_EXPORT void *calloc(size_t n, size_t size) {
  size_t total;
  if (ms_unlikely(__builtin_mul_overflow(n, size, &total))) { errno = ENOMEM; return NULL; }
  if (ms_track_alloc_begin(total)) return ms_calloc_slow(n, size, total);
  return ms_be.calloc(n, size);
}

/* Sizes no allocator can serve (4 EiB and up). jemalloc's realloc returns NULL for them
 * without setting errno, so they are refused here, before the tail call. */
#define MS_SIZE_IMPOSSIBLE ((size_t)1 << 62)

/* Profiling (p's sample must be forgotten first) or a sample due: out of line, so that the
 * common path needs no stack frame. begun = the countdown was already taken. */
static __attribute__((noinline)) void *ms_realloc_slow(void *p, size_t size, int begun) {
  if (!begun) {
    /* Forget p's sample before the backend may hand its address to another thread. */
    ms_track_free(p);
    if (!ms_track_alloc_begin(size)) return ms_be.realloc(p, size);
  }
  void *q = ms_be.realloc(p, size);
  return q ? ms_alloc_slow(q, size) : NULL;
}

/* realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns NULL (glibc). On failure
 * the old block is untouched and errno is ENOMEM (set by the backend for real exhaustion).
 * The common case tail-calls the backend, as malloc does. */
MS_EXPORT void *realloc(void *p, size_t size) {
  if (ms_unlikely(!p)) return malloc(size);
  if (ms_unlikely(size - 1 >= MS_SIZE_IMPOSSIBLE - 1)) { /* size 0 or impossible */
    if (size) { errno = ENOMEM; return NULL; }
    free(p);
    return NULL;
  }
  if (ms_unlikely(ms_profile_active)) return ms_realloc_slow(p, size, 0);
  if (ms_track_alloc_begin(size)) return ms_realloc_slow(p, size, 1);
  return ms_be.realloc(p, size);
}

MS_EXPORT void *reallocarray(void *p, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
  return realloc(p, total);
}

static void *ms_aligned_alloc(size_t align, size_t size) {
  if (align < sizeof(void *)) align = sizeof(void *);
  void *p = ms_be.aligned(align, size);
  if (ms_unlikely(!p)) return NULL;
  return ms_track_alloc(p, size);
}

MS_EXPORT int posix_memalign(void **out, size_t align, size_t size) {
  if (!ms_is_pow2(align) || align % sizeof(void *) != 0) return EINVAL;
  void *p = ms_aligned_alloc(align, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

/* glibc accepts any power-of-two alignment here (it does not require size % align == 0). */
MS_EXPORT void *aligned_alloc(size_t align, size_t size) {
  if (!ms_is_pow2(align)) { errno = EINVAL; return NULL; }
  void *p = ms_aligned_alloc(align, size);
  if (!p) errno = ENOMEM;
  return p;
}

/* glibc's memalign rounds a non-power-of-two alignment up to the next power of two. */
MS_EXPORT void *memalign(size_t align, size_t size) {
  if (align > SIZE_MAX / 2 + 1) { errno = EINVAL; return NULL; }
  if (!ms_is_pow2(align)) {
    size_t a = 1;
    while (a < align) a <<= 1;
    align = a;
  }
  void *p = ms_aligned_alloc(align, size);
  if (!p) errno = ENOMEM;
  return p;
}

MS_EXPORT void *valloc(size_t size) { return memalign(ms_page_size(), size); }

MS_EXPORT void *pvalloc(size_t size) {
  size_t page = ms_page_size();
  if (size > SIZE_MAX - page) { errno = ENOMEM; return NULL; }
  size = size ? (size + page - 1) & ~(page - 1) : page;
  return memalign(page, size);
}

MS_EXPORT size_t malloc_usable_size(void *p) { return p ? ms_be.usable_size(p) : 0; }

/* glibc's internal names for its allocator, which some programs and libraries call directly:
 * a host that calls __libc_malloc and then free gets one allocator for both. */
MS_EXPORT void *__libc_malloc(size_t size) __attribute__((alias("malloc"), copy(malloc)));
MS_EXPORT void __libc_free(void *p) __attribute__((alias("free"), copy(free)));
MS_EXPORT void *__libc_calloc(size_t n, size_t size) __attribute__((alias("calloc"), copy(calloc)));
MS_EXPORT void *__libc_realloc(void *p, size_t size) __attribute__((alias("realloc"), copy(realloc)));
MS_EXPORT void *__libc_memalign(size_t align, size_t size) __attribute__((alias("memalign"), copy(memalign)));
MS_EXPORT void *__libc_valloc(size_t size) __attribute__((alias("valloc"), copy(valloc)));
MS_EXPORT void *__libc_pvalloc(size_t size) __attribute__((alias("pvalloc"), copy(pvalloc)));
