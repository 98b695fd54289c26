/* Helpers of the test programs that use the fake CUDA libraries. */
#ifndef FAKE_CONSUMER_COMMON_H
#define FAKE_CONSUMER_COMMON_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fake_cuda.h"

#define MIB (1ull << 20)
#define CHECK(cond, ...)                    \
  do {                                      \
    if (!(cond)) {                          \
      fprintf(stderr, "FAILED: " __VA_ARGS__); \
      fprintf(stderr, "\n");                \
      exit(2);                              \
    }                                       \
  } while (0)

/* The fake driver's counters (it may be loaded RTLD_LOCAL by the runtime: look it up by handle). */
static inline void fake_stats(fakecuda_stats_t *st) {
  void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  void (*f)(fakecuda_stats_t *) = h ? (void (*)(fakecuda_stats_t *))dlsym(h, "fakecuda_stats") : NULL;
  memset(st, 0, sizeof *st);
  if (f) f(st);
}

static inline void print_fake_stats(void) {
  fakecuda_stats_t st;
  fake_stats(&st);
  printf("fake live=%llu pool=%llu pinned=%llu contexts=%llu cuinit=%llu memgetinfo=%llu gpa4=%llu gpa5=%llu v1=%llu v3=%llu\n",
         st.live_bytes, st.pool_reserved, st.pinned_bytes, st.contexts_created, st.cuinit_calls, st.memgetinfo_calls,
         st.gpa4_calls, st.gpa5_calls, st.v1_allocs, st.v3_allocs);
  fflush(stdout);
}

/* Where a function pointer lives: "libmemshim.so" when memshim handed out its wrapper. */
static inline const char *module_of(const void *fn) {
  Dl_info info;
  if (!fn || !dladdr(fn, &info) || !info.dli_fname) return "?";
  const char *slash = strrchr(info.dli_fname, '/');
  return slash ? slash + 1 : info.dli_fname;
}

#endif
