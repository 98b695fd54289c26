/* Readable memory of this process, from /proc/self/maps (util/maps.c): no stdio, no heap. */
#ifndef MEMSHIM_UTIL_MAPS_H
#define MEMSHIM_UTIL_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "raw_mem.h"

typedef struct {
  uintptr_t lo, hi;
} ms_range;

typedef struct {
  ms_raw_buf buf;
  ms_range *v; /* sorted by address */
  size_t n;
} ms_maps;

/* The readable mappings, less [vvar] and [vsyscall] (kernel pages some kernels refuse to read):
 * 0, or -1 (nothing to free). */
int ms_maps_read(ms_maps *m);
void ms_maps_free(ms_maps *m);
/* The readable mapping holding addr, or NULL. */
const ms_range *ms_maps_find(const ms_maps *m, uintptr_t addr);
/* [lo, hi) clipped to the readable memory that starts at lo (contiguous mappings); lo when none. */
uintptr_t ms_maps_readable_end(const ms_maps *m, uintptr_t lo, uintptr_t hi);
/* Lowercase hex digits at *s (advanced past them), as /proc writes addresses. */
uintptr_t ms_parse_hex(const char **s);

#endif
