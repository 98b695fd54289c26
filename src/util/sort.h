/* An in-place heap sort, for cold paths that must not allocate: glibc's qsort takes a merge
 * buffer from the heap (through memshim's own malloc) when the array is large. */
#ifndef MEMSHIM_UTIL_SORT_H
#define MEMSHIM_UTIL_SORT_H

#include <stddef.h>
#include <string.h>

static inline void ms_sort_swap(char *a, char *b, size_t size) {
  char t[64];
  while (size) {
    size_t n = size < sizeof t ? size : sizeof t;
    memcpy(t, a, n);
    memcpy(a, b, n);
    memcpy(b, t, n);
    a += n, b += n, size -= n;
  }
}

static inline void ms_sort_sift(char *v, size_t root, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  for (size_t child; (child = 2 * root + 1) < n; root = child) {
    if (child + 1 < n && cmp(v + child * size, v + (child + 1) * size) < 0) child++;
    if (cmp(v + root * size, v + child * size) >= 0) return;
    ms_sort_swap(v + root * size, v + child * size, size);
  }
}

/* Sort n elements of `size` bytes by cmp (qsort's contract; not stable). */
static inline void ms_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  char *v = base;
  for (size_t i = n / 2; i-- > 0;) ms_sort_sift(v, i, n, size, cmp);
  for (size_t end = n; end-- > 1;) {
    ms_sort_swap(v, v + end * size, size);
    ms_sort_sift(v, 0, end, size, cmp);
  }
}

#endif
