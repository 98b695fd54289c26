/* jemalloc backend: jemalloc linked into libmemshim.so (jemalloc_static.h). Plain
 * malloc/free/calloc/realloc go to jemalloc's own entry points, which carry its thread-cache
 * fast paths and set errno; aligned, zeroed and sized variants use its x-API. Usable from the
 * very first allocation of the process: nothing to resolve. */

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "jemalloc_static.h"

#define MS_ARENAS_ALL "4096" /* MALLCTL_ARENAS_ALL */

static bool je_ctl_used; /* some mallctl ran: jemalloc's control tree exists */

/* Every mallctl of ours goes through here. */
static int je_ctl(const char *name, void *old, size_t *oldlen, void *new_value, size_t newlen) {
  __atomic_store_n(&je_ctl_used, true, __ATOMIC_RELAXED);
  return ms_je_mallctl(name, old, oldlen, new_value, newlen);
}

bool ms_backend_ctl_ready(void) { return __atomic_load_n(&je_ctl_used, __ATOMIC_RELAXED); }

static void *je_aligned(size_t align, size_t size) { return ms_je_mallocx(size ? size : 1, MALLOCX_ALIGN(align)); }
static void je_free_aligned_sized(void *p, size_t align, size_t size) {
  ms_je_sdallocx(p, size ? size : 1, MALLOCX_ALIGN(align));
}
static size_t je_usable_size(void *p) { return ms_je_sallocx(p, 0); }

static int je_purge(void) {
  je_ctl("arena." MS_ARENAS_ALL ".purge", NULL, NULL, NULL, 0);
  return -1; /* jemalloc does not say; the policy compares its statistics */
}

static uint64_t je_stat(const char *name) {
  size_t v = 0, len = sizeof v;
  if (je_ctl(name, &v, &len, NULL, 0) != 0) return 0;
  return v;
}

static int je_stats(ms_backend_stats *out) {
  uint64_t epoch = 1;
  size_t elen = sizeof epoch;
  if (je_ctl("epoch", &epoch, &elen, &epoch, elen) != 0) return -1;
  memset(out, 0, sizeof *out);
  out->active = je_stat("stats.active");
  out->resident = je_stat("stats.resident");
  out->mapped = je_stat("stats.mapped");
  out->metadata = je_stat("stats.metadata");
  /* Unused dirty and muzzy pages: exactly what a purge returns. */
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  out->retained = (je_stat("stats.arenas." MS_ARENAS_ALL ".pdirty") +
                   je_stat("stats.arenas." MS_ARENAS_ALL ".pmuzzy")) * page;
  out->live = je_stat("stats.allocated"); /* callers prefer the exact per-thread sum */
  return 0;
}

void ms_backend_jemalloc(ms_backend *be) {
  *be = (ms_backend){
    .name = "jemalloc",
    .malloc = ms_je_malloc,
    .free = ms_je_free,
    .calloc = ms_je_calloc,
    .realloc = ms_je_realloc,
    .aligned = je_aligned,
    .free_sized = je_je_sdallocx_noflags, /* what jemalloc's own sized delete calls (size 0 too) */
    .free_aligned_sized = je_free_aligned_sized,
    .usable_size = je_usable_size,
    .purge = je_purge,
    .stats = je_stats,
  };
}

void ms_backend_thread_counters(uint64_t **allocatedp, uint64_t **deallocatedp) {
  *allocatedp = *deallocatedp = NULL;
  if (ms_be_kind != MS_BE_JEMALLOC) return;
  size_t len = sizeof *allocatedp;
  if (je_ctl("thread.allocatedp", allocatedp, &len, NULL, 0) != 0) *allocatedp = NULL;
  len = sizeof *deallocatedp;
  if (je_ctl("thread.deallocatedp", deallocatedp, &len, NULL, 0) != 0) *deallocatedp = NULL;
  if (!*allocatedp || !*deallocatedp) *allocatedp = *deallocatedp = NULL;
}

void ms_backend_call_counts(uint64_t *allocs, uint64_t *frees) {
  if (ms_be_kind != MS_BE_JEMALLOC) return;
  je_ctl("thread.tcache.flush", NULL, NULL, NULL, 0); /* ours merged; fails harmlessly without a cache */
  uint64_t epoch = 1;
  size_t elen = sizeof epoch;
  if (je_ctl("epoch", &epoch, &elen, &epoch, elen) != 0) return;
#define MS_A "stats.arenas." MS_ARENAS_ALL
  uint64_t req = je_stat(MS_A ".small.nrequests") + je_stat(MS_A ".large.nrequests");
  uint64_t live = je_stat(MS_A ".small.nmalloc") - je_stat(MS_A ".small.ndalloc") + je_stat(MS_A ".large.nmalloc") -
                  je_stat(MS_A ".large.ndalloc");
#undef MS_A
  /* Both are at most the true counts (unmerged requests are missing, cached blocks count as
   * live): the frees' estimate can dip when a thread cache fills, so the highest value read is
   * kept, still a lower bound, and a counter that never goes back. */
  static uint64_t frees_seen;
  uint64_t f = req >= live ? req - live : 0, seen = __atomic_load_n(&frees_seen, __ATOMIC_RELAXED);
  while (f > seen && !__atomic_compare_exchange_n(&frees_seen, &seen, f, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  *allocs = req;
  *frees = f > seen ? f : seen;
}

/* jemalloc's activity_callback_thunk_t (its experimental API has no public header for it). */
typedef struct {
  void (*fn)(void *uctx, uint64_t allocated, uint64_t deallocated);
  void *uctx;
} je_activity_thunk;

int ms_backend_activity_callback(void (*fn)(void *uctx, uint64_t allocated, uint64_t deallocated), void *uctx) {
  if (ms_be_kind != MS_BE_JEMALLOC) return -1;
  je_activity_thunk th = {fn, uctx};
  return je_ctl("experimental.thread.activity_callback", NULL, NULL, &th, sizeof th) == 0 ? 0 : -1;
}
