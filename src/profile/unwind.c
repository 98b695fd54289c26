#include "unwind.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "../util/log.h"
#include "stack_table.h"

/* libunwind's local-only API, by the names libunwind.so.8 exports on x86-64 (the header's
 * unw_* macros map to these). Opaque types: we only pass them through. */
#define MS_LIBUNWIND "libunwind.so.8"
typedef int (*ms_unw_backtrace_fn)(void **buf, int size);
typedef int (*ms_unw_set_caching_fn)(void *as, int policy);
enum { MS_UNW_CACHE_PER_THREAD = 2 }; /* UNW_CACHE_PER_THREAD */

static ms_unw_backtrace_fn ms_unw_backtrace; /* set once, then read without a lock */
static int ms_unwind_state;                  /* 0 not tried, 1 ready, -1 unavailable */
static pthread_mutex_t ms_unwind_lock = PTHREAD_MUTEX_INITIALIZER;

/* Our own text: [lo, hi). Frames there are the allocation entry points and the profiler. */
static uintptr_t ms_self_lo, ms_self_hi;

static int ms_find_self(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  uintptr_t probe = (uintptr_t)arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (probe >= lo && probe < hi) {
      ms_self_lo = lo;
      ms_self_hi = hi;
      return 1;
    }
  }
  return 0;
}

static int ms_unwind_load(void) {
  void *h = dlopen(MS_LIBUNWIND, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    ms_log_error("stack capture off: cannot load %s (%s); install libunwind8", MS_LIBUNWIND,
                 why ? why : "not found");
    return -1;
  }
  ms_unw_backtrace_fn bt = (ms_unw_backtrace_fn)dlsym(h, "unw_backtrace");
  ms_unw_set_caching_fn caching = (ms_unw_set_caching_fn)dlsym(h, "_ULx86_64_set_caching_policy");
  void **local_as = (void **)dlsym(h, "_ULx86_64_local_addr_space");
  if (!bt) {
    ms_log_error("stack capture off: %s has no unw_backtrace", MS_LIBUNWIND);
    return -1;
  }
  /* Per-thread caches: no lock shared between allocating threads. */
  if (caching && local_as) caching(*local_as, MS_UNW_CACHE_PER_THREAD);
  dl_iterate_phdr(ms_find_self, (void *)(uintptr_t)&ms_unwind);
  __atomic_store_n(&ms_unw_backtrace, bt, __ATOMIC_RELEASE);
  return 0;
}

int ms_unwind_init(void) {
  int st = __atomic_load_n(&ms_unwind_state, __ATOMIC_ACQUIRE);
  if (st) return st > 0 ? 0 : -1;
  pthread_mutex_lock(&ms_unwind_lock);
  if (!ms_unwind_state) __atomic_store_n(&ms_unwind_state, ms_unwind_load() == 0 ? 1 : -1, __ATOMIC_RELEASE);
  st = ms_unwind_state;
  pthread_mutex_unlock(&ms_unwind_lock);
  return st > 0 ? 0 : -1;
}

unsigned ms_unwind(uintptr_t *out, unsigned max) {
  ms_unw_backtrace_fn bt = __atomic_load_n(&ms_unw_backtrace, __ATOMIC_ACQUIRE);
  if (!bt) return 0;
  void *buf[MS_MAX_DEPTH + 16];
  if (max > MS_MAX_DEPTH) max = MS_MAX_DEPTH;
  int n = bt(buf, (int)(max + 16));
  int i = 0;
  while (i < n && (uintptr_t)buf[i] >= ms_self_lo && (uintptr_t)buf[i] < ms_self_hi) i++;
  unsigned k = 0;
  for (; i < n && k < max; i++) out[k++] = (uintptr_t)buf[i];
  return k;
}
