/* Every C++ operator new/delete variant, by its mangled name, so that this library stays C
 * and needs no libstdc++. Debian's libjemalloc exports these operators itself: without our
 * definitions, C++ code (torch) would bind to jemalloc's and bypass us.
 *
 * Failure follows the standard: call the new-handler until it gives up, then throw
 * std::bad_alloc (throwing forms) or return NULL (nothrow forms). The handler and the throw
 * come from libstdc++, found with dlsym only on this rare path (a C++ program has it loaded).
 * Built with -fexceptions so that an exception can pass through these frames. */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../util/log.h"
#include "new_delete.h"
#include "track.h"
#include "../backend/jemalloc_static.h"
#include "../util/export.h"


typedef void (*ms_new_handler)(void);

static ms_new_handler ms_get_new_handler(void) {
  ms_new_handler (*get)(void) = (ms_new_handler(*)(void))dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
  return get ? get() : NULL;
}

__attribute__((noreturn)) static void ms_throw_bad_alloc(void) {
  void (*thrower)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
  if (thrower) thrower();
  static const char msg[] = "memshim: operator new failed and std::bad_alloc cannot be thrown (no libstdc++)\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  abort();
}

/* The standard's failure loop: call the new-handler until an allocation succeeds or there is
 * no handler; then NULL (nothrow forms) or std::bad_alloc. Untracked: callers count. */
static __attribute__((noinline)) void *ms_new_handler_loop(size_t size, size_t align, int nothrow) {
  for (;;) {
    ms_new_handler h = ms_get_new_handler();
    if (!h) {
      if (nothrow) return NULL;
      ms_throw_bad_alloc();
    }
    h();
    void *p = align ? ms_be.aligned(align, size) : ms_be.malloc(size);
    if (p) return p;
  }
}

/* Plain new: count, allocate, and only on failure enter the standard's loop. A sample takes
 * the slow path. */
static __attribute__((noinline)) void *ms_new_slow(size_t size) {
  void *p = ms_be.malloc(size);
  if (ms_unlikely(!p)) p = ms_new_handler_loop(size, 0, 0);
  return ms_alloc_slow(p, size);
}

static inline void *ms_new(size_t size) {
  if (ms_track_alloc_begin(size)) return ms_new_slow(size);
  void *p = ms_be.malloc(size);
  if (ms_likely(p != NULL)) return p;
  return ms_new_handler_loop(size, 0, 0);
}

void *ms_new_tracked(size_t size) { return ms_new(size); }

/* A direct thread's operator new (accounting.h): jemalloc's malloc, the loop only on failure. */
void *ms_new_direct(size_t size) {
  void *p = ms_je_malloc(size);
  if (ms_likely(p != NULL)) return p;
  return ms_new_handler_loop(size, 0, 0);
}

static inline void *ms_new_nothrow(size_t size) {
  void *p = ms_be.malloc(size);
  if (ms_unlikely(!p)) p = ms_new_handler_loop(size, 0, 1);
  return ms_track_alloc(p, size);
}

static inline void *ms_new_aligned(size_t size, size_t align, int nothrow) {
  if (align < sizeof(void *)) align = sizeof(void *);
  void *p = ms_be.aligned(align, size);
  if (ms_unlikely(!p)) p = ms_new_handler_loop(size, align, nothrow);
  return ms_track_alloc(p, size);
}

static __attribute__((noinline)) void ms_delete_rare(void *p) {
  ms_track_free_rare(p);
  ms_be.free(p);
}

static __attribute__((noinline)) void ms_delete_sized_rare(void *p, size_t size) {
  ms_track_free_rare(p);
  ms_be.free_sized(p, size);
}

/* As free(): the common path is a tail call with no frame. */
static inline void ms_delete(void *p) {
  if (ms_unlikely(!p)) return;
  if (ms_track_free_begin(p)) return ms_delete_rare(p);
  ms_be.free(p);
}

static inline void ms_delete_sized(void *p, size_t size) {
  if (ms_unlikely(!p)) return;
  if (ms_track_free_begin(p)) return ms_delete_sized_rare(p, size);
  ms_be.free_sized(p, size);
}

void ms_delete_tracked(void *p) { ms_delete(p); }
void ms_delete_sized_tracked(void *p, size_t size) { ms_delete_sized(p, size); }

/* A direct thread's sized delete: what jemalloc's own operator delete(void *, size_t) does. */
void ms_delete_sized_direct(void *p, size_t size) {
  if (ms_unlikely(!p)) return;
  je_je_sdallocx_noflags(p, size);
}

static __attribute__((noinline)) void ms_delete_sized_sampled_rare(void *p, size_t size) {
  ms_profile_free(p);
  je_je_sdallocx_noflags(p, size);
}

/* A sampled thread's sized delete (as ms_free_sampled; jemalloc's sized free takes no NULL). */
void ms_delete_sized_sampled(void *p, size_t size) {
  if (ms_unlikely(!p)) return;
  if (ms_unlikely(ms_ptr_maybe_sampled(p))) return ms_delete_sized_sampled_rare(p, size);
  je_je_sdallocx_noflags(p, size);
}

static inline void ms_delete_aligned(void *p, size_t align) {
  if (ms_unlikely(!p)) return;
  ms_track_free(p);
  ms_be.free(p);
  (void)align;
}

static inline void ms_delete_aligned_sized(void *p, size_t size, size_t align) {
  if (ms_unlikely(!p)) return;
  ms_track_free(p);
  ms_be.free_aligned_sized(p, align < sizeof(void *) ? sizeof(void *) : align, size);
}

/* operator new / new[] */
MS_EXPORT void *_Znwm(size_t n) { return ms_tls_thread.fn.new_fn(n); }
MS_EXPORT void *_Znam(size_t n) { return ms_tls_thread.fn.new_fn(n); }
MS_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt) { (void)nt; return ms_new_nothrow(n); }
MS_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt) { (void)nt; return ms_new_nothrow(n); }
MS_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al) { return ms_new_aligned(n, al, 0); }
MS_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al) { return ms_new_aligned(n, al, 0); }
MS_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt) {
  (void)nt;
  return ms_new_aligned(n, al, 1);
}
MS_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt) {
  (void)nt;
  return ms_new_aligned(n, al, 1);
}

/* operator delete / delete[] */
MS_EXPORT void _ZdlPv(void *p) { ms_tls_thread.fn.delete_fn(p); }
MS_EXPORT void _ZdaPv(void *p) { ms_tls_thread.fn.delete_fn(p); }
MS_EXPORT void _ZdlPvm(void *p, size_t n) { ms_tls_thread.fn.delete_sized_fn(p, n); }
MS_EXPORT void _ZdaPvm(void *p, size_t n) { ms_tls_thread.fn.delete_sized_fn(p, n); }
MS_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; ms_tls_thread.fn.delete_fn(p); }
MS_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; ms_tls_thread.fn.delete_fn(p); }
MS_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) { ms_delete_aligned(p, al); }
MS_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al) { ms_delete_aligned(p, al); }
MS_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt) {
  (void)nt;
  ms_delete_aligned(p, al);
}
MS_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt) {
  (void)nt;
  ms_delete_aligned(p, al);
}
MS_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al) { ms_delete_aligned_sized(p, n, al); }
MS_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al) { ms_delete_aligned_sized(p, n, al); }
