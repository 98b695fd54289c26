#include "unwind.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <link.h>
#include <libunwind.h>
#include <string.h>

#include "stack_table.h"

/* Our own text: [lo, hi). Frames there are the allocation entry points and the profiler. */
static uintptr_t ms_self_lo, ms_self_hi;

static int ms_find_self(struct dl_phdr_info *info, size_t size, void *arg) {
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

void ms_unwind_init(void) {
  dl_iterate_phdr(ms_find_self, (void *)(uintptr_t)&ms_unwind);
  /* Per-thread caches: no lock shared between allocating threads. */
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

unsigned ms_unwind(uintptr_t *out, unsigned max) {
  void *buf[MS_MAX_DEPTH + 16];
  if (max > MS_MAX_DEPTH) max = MS_MAX_DEPTH;
  int n = unw_backtrace(buf, (int)(max + 16));
  int i = 0;
  while (i < n && (uintptr_t)buf[i] >= ms_self_lo && (uintptr_t)buf[i] < ms_self_hi) i++;
  unsigned k = 0;
  for (; i < n && k < max; i++) out[k++] = (uintptr_t)buf[i];
  return k;
}
