/* jemalloc's own API, served by the jemalloc inside memshim. A process under memshim loads no
 * libjemalloc.so.2, yet code that calls mallocx/sdallocx/mallctl directly (redis built against
 * Debian's jemalloc, folly once it finds mallocx, a Python extension tuning jemalloc with
 * mallctl) must reach the heap that serves malloc: otherwise a block from malloc would be freed
 * into another allocator. These calls bypass memshim's call counters and sampler (as they did
 * when they went to libjemalloc.so.2 directly); live heap bytes still count them, since
 * jemalloc's own per-thread totals do. */
#include <stddef.h>

#include "../backend/jemalloc_static.h"
#include "../util/export.h"

MS_EXPORT void *mallocx(size_t size, int flags) { return ms_je_mallocx(size, flags); }
MS_EXPORT void *rallocx(void *p, size_t size, int flags) { return ms_je_rallocx(p, size, flags); }
MS_EXPORT size_t xallocx(void *p, size_t size, size_t extra, int flags) {
  return ms_je_xallocx(p, size, extra, flags);
}
MS_EXPORT size_t sallocx(const void *p, int flags) { return ms_je_sallocx(p, flags); }
MS_EXPORT void dallocx(void *p, int flags) { ms_je_dallocx(p, flags); }
MS_EXPORT void sdallocx(void *p, size_t size, int flags) { ms_je_sdallocx(p, size, flags); }
MS_EXPORT size_t nallocx(size_t size, int flags) { return ms_je_nallocx(size, flags); }
MS_EXPORT int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
  return ms_je_mallctl(name, oldp, oldlenp, newp, newlen);
}
MS_EXPORT int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) {
  return ms_je_mallctlnametomib(name, mibp, miblenp);
}
MS_EXPORT int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                           size_t newlen) {
  return ms_je_mallctlbymib(mib, miblen, oldp, oldlenp, newp, newlen);
}
MS_EXPORT void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts) {
  ms_je_malloc_stats_print(write_cb, cbopaque, opts);
}
