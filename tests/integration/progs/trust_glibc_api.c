/* glibc's malloc API under the preload (either backend).
 *   trust_glibc_api trim       500 MB in 100 KB blocks, freed behind one live block (the heap
 *                              cannot shrink from its top), then malloc_trim(0): prints its return
 *                              value and RSS before allocating, at the peak, after the free, after
 *                              the trim (KiB). Run with MEMSHIM_RETAINED_MAX=off
 *                              MEMSHIM_IDLE_PURGE=off so that only the trim returns memory.
 *   trust_glibc_api mallinfo   mallinfo2/mallinfo with 60 MiB live in 96 KiB blocks, then with half
 *                              freed: figures consistent with the live bytes (checked here).
 *   trust_glibc_api stats      malloc_stats() (to stderr) with 64 MB live.
 *   trust_glibc_api info FILE  malloc_info(0, FILE) with 64 MB live.
 *   trust_glibc_api libc       __libc_malloc/__libc_calloc/__libc_realloc/__libc_memalign/
 *                              __libc_valloc then free(), and malloc then __libc_free. */
#include <malloc.h>

#include "trust_util.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void __libc_free(void *);

#define BLOCK (100u * 1000u)
/* mallinfo's blocks: a jemalloc size class (96 KiB), so live bytes are what was asked for */
#define MI_BLOCK (96u << 10)

static uint64_t rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size = 0, res = 0;
  if (!f || fscanf(f, "%llu %llu", &size, &res) != 2) trust_fail("statm");
  fclose(f);
  return res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

static char **hold_blocks(size_t n) {
  char **b = malloc(n * sizeof *b);
  for (size_t i = 0; i < n; i++) b[i] = trust_alloc(MI_BLOCK);
  return b;
}

static void trim(void) {
  enum { N = 5000 }; /* 500 MB */
  char **b = malloc(N * sizeof *b);
  uint64_t before = rss_kib();
  for (size_t i = 0; i < N; i++) b[i] = trust_alloc(BLOCK);
  char *pin = trust_alloc(1000); /* after the blocks: glibc's heap top cannot move below it */
  uint64_t peak = rss_kib();
  for (size_t i = 0; i < N; i++) free(b[i]);
  uint64_t freed = rss_kib();
  int r = malloc_trim(0);
  uint64_t after = rss_kib();
  printf("malloc_trim(0) = %d\nrss_kib before %llu peak %llu freed %llu trimmed %llu\n", r,
         (unsigned long long)before, (unsigned long long)peak, (unsigned long long)freed,
         (unsigned long long)after);
  free(pin);
  free(b);
}

#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* mallinfo is what is tested */
static void check_mallinfo(size_t live_expected, const char *when) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo m = mallinfo();
  printf("%s: mallinfo2 arena %zu uordblks %zu fordblks %zu hblkhd %zu keepcost %zu; mallinfo uordblks %d\n", when,
         m2.arena, m2.uordblks, m2.fordblks, m2.hblkhd, m2.keepcost, m.uordblks);
  size_t live = m2.uordblks + m2.hblkhd;
  if (live < live_expected || live > live_expected + (8u << 20))
    trust_fail("%s: uordblks+hblkhd %zu, want live %zu .. +8 MiB", when, live, live_expected);
  if (m2.arena < m2.uordblks) trust_fail("%s: arena %zu < uordblks %zu", when, m2.arena, m2.uordblks);
  if (m2.fordblks > m2.arena) trust_fail("%s: fordblks %zu > arena %zu", when, m2.fordblks, m2.arena);
  if ((size_t)m.uordblks != m2.uordblks || (size_t)m.arena != m2.arena)
    trust_fail("%s: mallinfo (%d, %d) differs from mallinfo2 (%zu, %zu)", when, m.uordblks, m.arena, m2.uordblks,
               m2.arena);
}

static void libc_names(void) {
  void *p = __libc_malloc(1000);
  memset(p, 1, 1000);
  free(p);
  p = __libc_calloc(10, 100);
  free(p);
  p = __libc_realloc(NULL, 100);
  p = __libc_realloc(p, 100000);
  memset(p, 2, 100000);
  free(p);
  p = __libc_memalign(4096, 10000);
  if ((uintptr_t)p % 4096) trust_fail("__libc_memalign(4096) returned %p", p);
  memset(p, 3, 10000);
  free(p);
  p = __libc_valloc(5000);
  free(p);
  p = malloc(3000);
  __libc_free(p);
  /* big ones too (glibc maps those directly; jemalloc serves them from extents) */
  p = __libc_malloc(8u << 20);
  memset(p, 4, 8u << 20);
  free(p);
  printf("ok: __libc_malloc/calloc/realloc/memalign/valloc + free, malloc + __libc_free\n");
}

int main(int argc, char **argv) {
  if (argc < 2) trust_fail("usage: trust_glibc_api trim|mallinfo|stats|info FILE|libc");
  if (!strcmp(argv[1], "trim")) {
    trim();
  } else if (!strcmp(argv[1], "mallinfo")) {
    size_t n = 640; /* 60 MiB */
    size_t base = mallinfo2().uordblks + mallinfo2().hblkhd;
    char **b = hold_blocks(n);
    check_mallinfo(base + n * MI_BLOCK, "60 MiB live");
    for (size_t i = 0; i < n / 2; i++) free(b[i]);
    check_mallinfo(base + (n - n / 2) * MI_BLOCK, "30 MiB live");
    printf("ok: mallinfo2/mallinfo consistent with the live bytes\n");
  } else if (!strcmp(argv[1], "stats")) {
    hold_blocks(640);
    malloc_stats();
  } else if (!strcmp(argv[1], "info") && argc > 2) {
    hold_blocks(640);
    FILE *f = fopen(argv[2], "w");
    if (!f) trust_fail("open %s", argv[2]);
    if (malloc_info(0, f) != 0) trust_fail("malloc_info: %s", strerror(errno));
    fclose(f);
  } else if (!strcmp(argv[1], "libc")) {
    libc_names();
  } else {
    trust_fail("unknown mode %s", argv[1]);
  }
  return 0;
}
