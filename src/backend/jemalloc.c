/* jemalloc backend. Plain malloc/free/calloc/realloc go to jemalloc's own exported
 * entry points (function pointers resolved once: they keep jemalloc's thread-cache fast
 * paths); aligned, zeroed and sized variants use its x-API, which we link directly.
 * Until the pointers are resolved, the x-API serves everything (same heap). */

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "../util/elf_sym.h"
#include "backend.h"

#define MS_ARENAS_ALL "4096" /* MALLCTL_ARENAS_ALL */

/* The x-API does not set errno; the malloc contract (which the entry points rely on) does. */
static void *je_enomem(void *p) {
  if (!p) errno = ENOMEM;
  return p;
}
static void *je_early_malloc(size_t size) { return je_enomem(mallocx(size ? size : 1, 0)); }
static void je_early_free(void *p) { dallocx(p, 0); }
static void *je_early_calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) return je_enomem(NULL);
  return je_enomem(mallocx(total ? total : 1, MALLOCX_ZERO));
}
static void *je_early_realloc(void *p, size_t size) { return je_enomem(rallocx(p, size, 0)); }

static void *je_aligned(size_t align, size_t size) { return mallocx(size ? size : 1, MALLOCX_ALIGN(align)); }
static void je_free_sized(void *p, size_t size) { sdallocx(p, size ? size : 1, 0); }
static void je_free_aligned_sized(void *p, size_t align, size_t size) {
  sdallocx(p, size ? size : 1, MALLOCX_ALIGN(align));
}
static size_t je_usable_size(void *p) { return sallocx(p, 0); }

static int je_purge(void) {
  mallctl("arena." MS_ARENAS_ALL ".purge", NULL, NULL, NULL, 0);
  return -1; /* jemalloc does not say; the policy compares its statistics */
}

static uint64_t je_stat(const char *name) {
  size_t v = 0, len = sizeof v;
  if (mallctl(name, &v, &len, NULL, 0) != 0) return 0;
  return v;
}

static int je_stats(ms_backend_stats *out) {
  uint64_t epoch = 1;
  size_t elen = sizeof epoch;
  if (mallctl("epoch", &epoch, &elen, &epoch, elen) != 0) return -1;
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

void ms_backend_jemalloc_early(ms_backend *be) {
  *be = (ms_backend){
    .name = "jemalloc",
    .malloc = je_early_malloc,
    .free = je_early_free,
    .calloc = je_early_calloc,
    .realloc = je_early_realloc,
    .aligned = je_aligned,
    .free_sized = je_free_sized,
    .free_aligned_sized = je_free_aligned_sized,
    .usable_size = je_usable_size,
    .purge = je_purge,
    .stats = je_stats,
  };
}

static void *je_sym(const char *name) { return ms_elf_loaded_sym("libjemalloc.so.2", name); }

void ms_backend_jemalloc_fast(ms_backend *be) {
  /* libjemalloc.so.2 is our DT_NEEDED: its own definitions, looked up in its symbol table (a
   * dlsym would find ours first, and costs a dlopen handle). */
  void *m = je_sym("malloc"), *f = je_sym("free"), *c = je_sym("calloc"), *r = je_sym("realloc");
  if (m && f && c && r) {
    be->malloc = (void *(*)(size_t))m;
    be->calloc = (void *(*)(size_t, size_t))c;
    be->realloc = (void *(*)(void *, size_t))r;
    __atomic_store_n(&be->free, (void (*)(void *))f, __ATOMIC_RELEASE);
  }
  /* jemalloc's own C++ operators: new with its fast path and its new-handler/bad_alloc
   * handling, sized delete without the x-API's flag checks. Same heap as above. */
  void *op_new = je_sym("_Znwm"), *op_delete_sized = je_sym("_ZdlPvm");
  if (op_new && op_delete_sized) {
    be->op_new = (void *(*)(size_t))op_new;
    be->free_sized = (void (*)(void *, size_t))op_delete_sized;
  }
}

void ms_backend_thread_counters(uint64_t **allocatedp, uint64_t **deallocatedp) {
  *allocatedp = *deallocatedp = NULL;
  if (ms_be_kind != MS_BE_JEMALLOC) return;
  size_t len = sizeof *allocatedp;
  if (mallctl("thread.allocatedp", allocatedp, &len, NULL, 0) != 0) *allocatedp = NULL;
  len = sizeof *deallocatedp;
  if (mallctl("thread.deallocatedp", deallocatedp, &len, NULL, 0) != 0) *deallocatedp = NULL;
  if (!*allocatedp || !*deallocatedp) *allocatedp = *deallocatedp = NULL;
}
