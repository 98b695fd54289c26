/* glibc's own malloc API, kept meaningful whichever backend serves the heap.
 *
 * Under jemalloc, glibc's definitions act on glibc's unused arenas: malloc_trim(0) (seed 003's
 * workaround, `ctypes.CDLL(None).malloc_trim(0)`) would free nothing and mallinfo2 would read
 * zeros. Here malloc_trim purges the backend through the policy (counted, logged, an event)
 * and says whether memory was released; mallinfo2/mallinfo/malloc_stats/malloc_info describe the
 * backend's heap in glibc's terms (docs/design.md, "glibc's malloc API"). The __libc_* names
 * are aliases of the allocation entry points (interpose/malloc.c). */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "../core/state.h"
#include "../policy/policy.h"
#include "../util/export.h"

MS_EXPORT int malloc_trim(size_t pad) {
  (void)pad; /* jemalloc keeps no top-of-heap pad; glibc's trim is asked for everything too */
  return ms_policy_trim("malloc_trim");
}

/* The backend's heap in glibc's fields: arena = bytes the heap holds in pages (live objects,
 * fragmentation and freed pages not yet returned), uordblks = live bytes, fordblks = the rest,
 * keepcost = what a trim would return now. */
static struct mallinfo2 ms_mallinfo2(void) {
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  ms_heap_figures h;
  ms_heap_figures_read(&h);
  mi.arena = h.held;
  mi.uordblks = h.live;
  mi.fordblks = h.held > h.live ? h.held - h.live : 0;
  mi.keepcost = h.returnable;
  mi.ordblks = 1;
  return mi;
}

MS_EXPORT struct mallinfo2 mallinfo2(void) {
  if (ms_be.native_mallinfo2) return ms_be.native_mallinfo2();
  return ms_mallinfo2();
}

static int ms_clamp_int(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

MS_EXPORT struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi = {
    .arena = ms_clamp_int(m2.arena), .ordblks = ms_clamp_int(m2.ordblks), .smblks = ms_clamp_int(m2.smblks),
    .hblks = ms_clamp_int(m2.hblks), .hblkhd = ms_clamp_int(m2.hblkhd), .usmblks = ms_clamp_int(m2.usmblks),
    .fsmblks = ms_clamp_int(m2.fsmblks), .uordblks = ms_clamp_int(m2.uordblks),
    .fordblks = ms_clamp_int(m2.fordblks), .keepcost = ms_clamp_int(m2.keepcost),
  };
  return mi;
}

/* glibc prints per-arena and total figures to stderr; one "arena" stands for the backend. */
MS_EXPORT void malloc_stats(void) {
  if (ms_be.native_malloc_stats) {
    ms_be.native_malloc_stats();
    return;
  }
  struct mallinfo2 mi = ms_mallinfo2();
  fprintf(stderr,
          "Arena 0:\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
          "Total (incl. mmap):\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
          "max mmap regions = %10u\nmax mmap bytes   = %10lu\n",
          mi.arena, mi.uordblks, mi.arena, mi.uordblks, 0u, 0ul);
}

/* glibc's XML layout, one heap, totals only. */
MS_EXPORT int malloc_info(int options, FILE *fp) {
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  if (ms_be.native_malloc_info) return ms_be.native_malloc_info(options, fp);
  struct mallinfo2 mi = ms_mallinfo2();
  fprintf(fp,
          "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n</sizes>\n"
          "<total type=\"fast\" count=\"0\" size=\"0\"/>\n<total type=\"rest\" count=\"1\" size=\"%zu\"/>\n"
          "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
          "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</heap>\n"
          "<total type=\"fast\" count=\"0\" size=\"0\"/>\n<total type=\"rest\" count=\"1\" size=\"%zu\"/>\n"
          "<total type=\"mmap\" count=\"0\" size=\"0\"/>\n<system type=\"current\" size=\"%zu\"/>\n"
          "<system type=\"max\" size=\"%zu\"/>\n<aspace type=\"total\" size=\"%zu\"/>\n"
          "<aspace type=\"mprotect\" size=\"%zu\"/>\n</malloc>\n",
          mi.fordblks, mi.arena, mi.arena, mi.arena, mi.arena, mi.fordblks, mi.arena, mi.arena, mi.arena,
          mi.arena);
  return 0;
}
