/* A bump allocator for building a snapshot: chunks straight from the kernel (util/raw_mem.h),
 * never through the heap memshim serves, released all at once. Used by the library's collectors
 * (no allocation through ourselves on the report path) and by the CLI's JSON loader alike. */
#ifndef MEMSHIM_UTIL_ARENA_H
#define MEMSHIM_UTIL_ARENA_H

#include <stddef.h>

typedef struct ms_arena_chunk ms_arena_chunk;
typedef struct {
  ms_arena_chunk *head;
  size_t used, size; /* in the head chunk */
} ms_arena;

void ms_arena_init(ms_arena *a);
/* Zeroed, 16-byte aligned; NULL when out of memory. 0 bytes gives a valid non-NULL pointer to
 * nothing (never to be dereferenced), so an empty array needs no special case. */
void *ms_arena_alloc(ms_arena *a, size_t bytes);
/* n elements of size bytes each, as ms_arena_alloc (n == 0: non-NULL, no element); NULL also
 * when n * size overflows. */
void *ms_arena_array(ms_arena *a, size_t n, size_t size);
/* A copy of s (NULL reads as ""). */
char *ms_arena_strdup(ms_arena *a, const char *s);
void ms_arena_release(ms_arena *a);

#endif
