/* jemalloc inside libmemshim.so: Debian's libjemalloc_pic.a, its public names renamed to
 * ms_je_<name> at build time (cmake/jemalloc_static.sh) and all its symbols local. The macros
 * (MALLOCX_ALIGN, MALLOCX_ZERO) come from jemalloc's own header. */
#ifndef MEMSHIM_JEMALLOC_STATIC_H
#define MEMSHIM_JEMALLOC_STATIC_H

#include <jemalloc/jemalloc.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)
void *ms_je_malloc(size_t size);
void ms_je_free(void *p);
void *ms_je_calloc(size_t n, size_t size);
void *ms_je_realloc(void *p, size_t size);
void *ms_je_mallocx(size_t size, int flags);
void *ms_je_rallocx(void *p, size_t size, int flags);
size_t ms_je_xallocx(void *p, size_t size, size_t extra, int flags);
size_t ms_je_sallocx(const void *p, int flags);
void ms_je_dallocx(void *p, int flags);
void ms_je_sdallocx(void *p, size_t size, int flags);
size_t ms_je_nallocx(size_t size, int flags);
int ms_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int ms_je_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int ms_je_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
void ms_je_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);
/* jemalloc's internal sized free without flags: the fast path its own operator delete(void *,
 * size_t) uses (sdallocx with flags 0 checks them first). */
void je_je_sdallocx_noflags(void *p, size_t size);
#pragma GCC visibility pop

#endif
