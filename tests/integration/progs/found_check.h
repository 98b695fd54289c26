/* Shared by the found_* test programs (C and C++): CHECK, and memshim's counters read through
 * dlsym("memshim_stat") so that the programs run with or without the shim preloaded. */
#ifndef FOUND_CHECK_H
#define FOUND_CHECK_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FOUND_NAME
#error "define FOUND_NAME (the program's name) before including found_check.h"
#endif

static int failures, checks;
#define CHECK(cond, ...)                                                        \
  do {                                                                          \
    checks++;                                                                   \
    if (!(cond)) {                                                              \
      failures++;                                                               \
      fprintf(stderr, FOUND_NAME ":%d: check failed: %s: ", __LINE__, #cond);   \
      fprintf(stderr, __VA_ARGS__);                                             \
      fputc('\n', stderr);                                                      \
    }                                                                           \
  } while (0)

typedef int (*found_stat_fn)(const char *, uint64_t *);
static found_stat_fn stat_fn; /* NULL when memshim is not loaded */

static void found_init(void) { stat_fn = (found_stat_fn)dlsym(RTLD_DEFAULT, "memshim_stat"); }

/* calls.alloc counts every call with the glibc backend (its wrappers count), but only the blocks
 * jemalloc handed out with jemalloc (its own request statistics): a failed call differs. */
#include <string.h>
static int found_counts_failed_calls(void) {
  const char *(*backend)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "memshim_backend");
  return backend && strcmp(backend(), "glibc") == 0;
}

static uint64_t stat_of(const char *name) {
  uint64_t v = 0;
  if (stat_fn && stat_fn(name, &v) != 0) {
    fprintf(stderr, FOUND_NAME ": memshim_stat(%s) failed\n", name);
    exit(1);
  }
  return v;
}

/* Counter deltas around one call: the alloc and free calls memshim saw. */
static uint64_t mark_allocs, mark_frees;
static void mark(void) { mark_allocs = stat_of("calls.alloc"); mark_frees = stat_of("calls.free"); }
static void expect_calls(const char *what, uint64_t allocs, uint64_t frees) {
  if (!stat_fn) return;
  uint64_t a = stat_of("calls.alloc") - mark_allocs, f = stat_of("calls.free") - mark_frees;
  CHECK(a == allocs && f == frees, "%s: memshim counted %llu allocs, %llu frees; expected %llu, %llu", what,
        (unsigned long long)a, (unsigned long long)f, (unsigned long long)allocs, (unsigned long long)frees);
}

static int aligned_to(void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static int found_report(void) {
  printf(FOUND_NAME ": %d checks, %d failed, counters %s\n", checks, failures, stat_fn ? "checked" : "not loaded");
  return failures ? 1 : 0;
}

#endif
