/* Every C allocation entry point, checked against what glibc documents. Runs the same with
 * or without libmemshim.so preloaded (the test runs it both ways, so the expectations are
 * themselves checked against glibc). When memshim is loaded (found with dlsym), every entry
 * point must also move memshim's call counters: that proves it was interposed.
 * Prints "found_entry: N checks, counters checked|not loaded"; exit status 1 on any failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#define FOUND_NAME "found_entry"
#include "found_check.h"

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 31 + seed);
}
static int same(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(i * 31 + seed)) return 0;
  return 1;
}

/* volatile: keeps the compiler from reasoning about impossible sizes at compile time. */
static volatile size_t huge = SIZE_MAX;
static volatile size_t half = SIZE_MAX / 2 + 2;

static void test_malloc_free(void) {
  mark();
  void *p = malloc(100);
  expect_calls("malloc", 1, 0);
  CHECK(p != NULL, "malloc(100)");
  CHECK(aligned_to(p, 16), "malloc result %p not 16-aligned", p);
  CHECK(malloc_usable_size(p) >= 100, "usable %zu < 100", malloc_usable_size(p));
  memset(p, 0xab, 100);
  mark();
  free(p);
  expect_calls("free", 0, 1);

  mark();
  free(NULL);
  expect_calls("free(NULL)", 0, 0);
  CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu", malloc_usable_size(NULL));

  /* malloc(0): a unique pointer that free accepts. */
  void *z1 = malloc(0), *z2 = malloc(0);
  CHECK(z1 && z2 && z1 != z2, "malloc(0) gave %p and %p", z1, z2);
  free(z1);
  free(z2);

  for (size_t n = 1; n <= (64u << 20); n = n * 3 + 1) {
    unsigned char *q = malloc(n);
    CHECK(q && malloc_usable_size(q) >= n, "malloc(%zu) usable %zu", n, q ? malloc_usable_size(q) : 0);
    if (q) { q[0] = 1; q[n - 1] = 2; }
    free(q);
  }

  errno = 0;
  mark();
  p = malloc(huge);
  CHECK(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX) = %p errno %d", p, errno);
  /* the call is counted (glibc backend) or not (jemalloc counts blocks); no block is */
  expect_calls("malloc(SIZE_MAX)", found_counts_failed_calls() ? 1 : 0, 0);
}

static void test_calloc(void) {
  mark();
  unsigned char *p = calloc(1000, 7);
  expect_calls("calloc", 1, 0);
  CHECK(p != NULL, "calloc(1000, 7)");
  int zero = 1;
  for (size_t i = 0; p && i < 7000; i++) zero &= p[i] == 0;
  CHECK(zero, "calloc memory not zeroed");
  free(p);
  /* Reuse of a dirtied block must still come back zeroed. */
  for (int round = 0; round < 50; round++) {
    unsigned char *d = malloc(4096);
    memset(d, 0xff, 4096);
    free(d);
    unsigned char *c = calloc(4096, 1);
    int z = 1;
    for (size_t i = 0; i < 4096; i++) z &= c[i] == 0;
    CHECK(z, "calloc after free not zeroed (round %d)", round);
    free(c);
  }
  void *big = calloc(1, 32u << 20);
  CHECK(big && ((unsigned char *)big)[(32u << 20) - 1] == 0, "calloc 32 MiB");
  free(big);

  errno = 0;
  mark();
  void *o = calloc(half, 2);
  CHECK(o == NULL && errno == ENOMEM, "calloc overflow = %p errno %d", o, errno);
  expect_calls("calloc overflow", 0, 0);
  errno = 0;
  o = calloc(huge, huge);
  CHECK(o == NULL && errno == ENOMEM, "calloc(SIZE_MAX, SIZE_MAX) = %p errno %d", o, errno);
  void *z = calloc(0, 0);
  CHECK(z != NULL, "calloc(0, 0) is NULL");
  free(z);
}

static void test_realloc(void) {
  mark();
  unsigned char *p = realloc(NULL, 10); /* = malloc */
  expect_calls("realloc(NULL, n)", 1, 0);
  CHECK(p != NULL, "realloc(NULL, 10)");
  fill(p, 10, 1);
  size_t n = 10;
  /* Grow through every size class boundary up to 8 MiB, contents kept. */
  while (n < (8u << 20)) {
    size_t m = n * 2 + 3;
    mark();
    unsigned char *q = realloc(p, m);
    expect_calls("realloc grow", 1, 1);
    CHECK(q != NULL, "realloc grow to %zu", m);
    if (!q) return;
    CHECK(same(q, n, 1), "realloc grow %zu -> %zu lost contents", n, m);
    CHECK(malloc_usable_size(q) >= m, "usable %zu < %zu", malloc_usable_size(q), m);
    fill(q, m, 1);
    p = q;
    n = m;
  }
  /* Shrink back down, contents kept. */
  while (n > 16) {
    size_t m = n / 3;
    unsigned char *q = realloc(p, m);
    CHECK(q != NULL, "realloc shrink to %zu", m);
    if (!q) return;
    CHECK(same(q, m, 1), "realloc shrink %zu -> %zu lost contents", n, m);
    p = q;
    n = m;
  }
  /* A failing realloc leaves the block alone. */
  errno = 0;
  void *f = realloc(p, huge);
  CHECK(f == NULL && errno == ENOMEM, "realloc(p, SIZE_MAX) = %p errno %d", f, errno);
  CHECK(same(p, n, 1), "failed realloc damaged the block");
  /* realloc(p, 0) frees p and returns NULL (glibc). */
  mark();
  void *r = realloc(p, 0);
  CHECK(r == NULL, "realloc(p, 0) = %p", r);
  expect_calls("realloc(p, 0)", 0, 1);

  /* reallocarray */
  unsigned char *a = reallocarray(NULL, 10, 10);
  CHECK(a != NULL, "reallocarray(NULL, 10, 10)");
  fill(a, 100, 7);
  unsigned char *b = reallocarray(a, 1000, 10);
  CHECK(b && same(b, 100, 7), "reallocarray grow lost contents");
  errno = 0;
  mark();
  void *c = reallocarray(b, half, 2);
  CHECK(c == NULL && errno == ENOMEM, "reallocarray overflow = %p errno %d", c, errno);
  expect_calls("reallocarray overflow", 0, 0);
  CHECK(same(b, 100, 7), "reallocarray overflow damaged the block");
  free(b);
}

static void test_aligned(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t a = sizeof(void *); a <= (1u << 21); a <<= 1) {
    void *p = NULL;
    mark();
    int rc = posix_memalign(&p, a, 24);
    expect_calls("posix_memalign", 1, 0);
    CHECK(rc == 0 && p && aligned_to(p, a), "posix_memalign(%zu) rc %d p %p", a, rc, p);
    CHECK(p && malloc_usable_size(p) >= 24, "posix_memalign usable");
    free(p);

    mark();
    void *q = aligned_alloc(a, 3 * a);
    expect_calls("aligned_alloc", 1, 0);
    CHECK(q && aligned_to(q, a), "aligned_alloc(%zu) = %p", a, q);
    free(q);

    mark();
    void *m = memalign(a, 100);
    expect_calls("memalign", 1, 0);
    CHECK(m && aligned_to(m, a), "memalign(%zu) = %p", a, m);
    free(m);
  }
  /* Small alignments glibc accepts for aligned_alloc and memalign. */
  for (size_t a = 1; a < sizeof(void *); a <<= 1) {
    void *q = aligned_alloc(a, 10);
    CHECK(q != NULL, "aligned_alloc(%zu, 10)", a);
    free(q);
  }
  /* memalign rounds a non-power-of-two alignment up. */
  void *m = memalign(48, 10);
  CHECK(m && aligned_to(m, 64), "memalign(48) = %p", m);
  free(m);

  /* valloc / pvalloc: page aligned; pvalloc rounds the size up to pages. */
  mark();
  void *v = valloc(10);
  expect_calls("valloc", 1, 0);
  CHECK(v && aligned_to(v, page), "valloc = %p", v);
  free(v);
  mark();
  void *pv = pvalloc(page + 1);
  expect_calls("pvalloc", 1, 0);
  CHECK(pv && aligned_to(pv, page) && malloc_usable_size(pv) >= 2 * page, "pvalloc = %p usable %zu", pv,
        pv ? malloc_usable_size(pv) : 0);
  free(pv);

  /* Errors. posix_memalign: EINVAL for a non-power-of-two or sub-pointer alignment, ENOMEM
   * for an impossible size; *out is untouched and errno is not the channel. */
  void *sentinel = (void *)0x1234, *p = sentinel;
  mark();
  int rc = posix_memalign(&p, 24, 10);
  CHECK(rc == EINVAL && p == sentinel, "posix_memalign(24) rc %d", rc);
  rc = posix_memalign(&p, 4, 10);
  CHECK(rc == EINVAL && p == sentinel, "posix_memalign(4) rc %d", rc);
  rc = posix_memalign(&p, 0, 10);
  CHECK(rc == EINVAL && p == sentinel, "posix_memalign(0) rc %d", rc);
  expect_calls("posix_memalign EINVAL", 0, 0);
  rc = posix_memalign(&p, 64, huge);
  CHECK(rc == ENOMEM && p == sentinel, "posix_memalign(64, SIZE_MAX) rc %d", rc);
  /* aligned_alloc with a non-power-of-two alignment: EINVAL in memshim, jemalloc and glibc
   * >= 2.38; Debian 12's glibc 2.36 still rounds it up like memalign, so only check it here. */
  errno = 0;
  void *q = aligned_alloc(24, 48);
  if (stat_fn) CHECK(q == NULL && errno == EINVAL, "aligned_alloc(24) = %p errno %d", q, errno);
  else free(q);
  errno = 0;
  q = aligned_alloc(64, huge);
  CHECK(q == NULL && errno == ENOMEM, "aligned_alloc(64, SIZE_MAX) = %p errno %d", q, errno);
  errno = 0;
  q = memalign(64, huge);
  CHECK(q == NULL && errno == ENOMEM, "memalign(64, SIZE_MAX) = %p errno %d", q, errno);
  errno = 0;
  q = valloc(huge);
  CHECK(q == NULL && errno == ENOMEM, "valloc(SIZE_MAX) = %p errno %d", q, errno);
  errno = 0;
  q = pvalloc(huge);
  CHECK(q == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX) = %p errno %d", q, errno);
}

/* heap.live follows a big block in and out (memshim only). */
static void test_live_bytes(void) {
  if (!stat_fn) return;
  size_t n = 48u << 20;
  uint64_t before = stat_of("heap.live");
  void *p = malloc(n);
  uint64_t during = stat_of("heap.live");
  free(p);
  uint64_t after = stat_of("heap.live");
  CHECK(during >= before + n, "heap.live %llu -> %llu after malloc(%zu)", (unsigned long long)before,
        (unsigned long long)during, n);
  CHECK(after + n <= during, "heap.live %llu -> %llu after free", (unsigned long long)during,
        (unsigned long long)after);
}

int main(void) {
  found_init();
  test_malloc_free();
  test_calloc();
  test_realloc();
  test_aligned();
  test_live_bytes();
  return found_report();
}
