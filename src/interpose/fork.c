/* fork: our locks and our thread are handled around it by pthread_atfork (core/init.c); this
 * file adds the two things atfork cannot: no thread inside libunwind at the fork (its locks are
 * not ours to reset: the wait must come before every fork handler, profile/unwind.h), and a
 * warning when a forked child is about to hit a thread pool that fork broke.
 *
 * Forking with threads is common and healthy (redis BGSAVE, node's child_process, threaded
 * Python, an OpenMP program that forks to exec a helper): said only at MEMSHIM_VERBOSE=1, at the
 * fork. The hazard is real in one case we can see: GNU OpenMP (libgomp) keeps its pool's threads
 * in its state and does not rebuild it after fork, so a child that did not exec and enters a
 * parallel region waits forever for threads that do not exist. We interpose the entry points
 * GCC emits for a parallel region (GOMP_parallel & co., forwarding to the real ones) and warn
 * there, once, in such a child; a child that execs or exits never gets there and says nothing.
 * LLVM's libomp and Intel's libiomp rebuild their pool in their own atfork child handler, and HF
 * tokenizers disables its pool in the child and says so itself: verbose only. */

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "../core/state.h"
#include "../core/monitor.h"
#include "../profile/unwind.h"
#include "../util/export.h"
#include "../util/log.h"
#include "../util/proc.h"
#include "fork.h"

static pid_t (*ms_real_fork)(void);
static int ms_fork_said;   /* the verbose line, once per process */
static int ms_gomp_used;   /* this process entered a libgomp parallel region */
static int ms_gomp_broken; /* a fork copied libgomp's started pool into this child: no exec yet */
static int ms_gomp_warned;

/* A loaded runtime with a thread pool, for the verbose line. */
static const char *const ms_pool_libs[][2] = {
  {"tokenizers", "HF tokenizers"}, /* tokenizers.cpython-*.so, the Rust core's Python module */
  {"libgomp", "OpenMP (libgomp)"}, /* also a wheel's vendored libgomp-<hash>.so.1 */
  {"libiomp", "OpenMP (libiomp)"},
  {"libomp", "OpenMP (libomp)"},
};

/* The naming rules are apart from dl_iterate_phdr and dladdr so that tests/unit/test_fork.c can
 * check them on paths. */
const char *ms_fork_pool_name(const char *path) {
  const char *base = path ? strrchr(path, '/') : NULL;
  base = base ? base + 1 : path;
  if (!base || !*base) return NULL;
  for (size_t i = 0; i < sizeof ms_pool_libs / sizeof ms_pool_libs[0]; i++)
    if (strncmp(base, ms_pool_libs[i][0], strlen(ms_pool_libs[i][0])) == 0) return ms_pool_libs[i][1];
  return NULL;
}

bool ms_fork_is_libgomp(const char *path) {
  const char *base = path ? strrchr(path, '/') : NULL;
  base = base ? base + 1 : path ? path : "";
  return strncmp(base, "libgomp", 7) == 0;
}

static int ms_find_pool(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  const char *pool = ms_fork_pool_name(info->dlpi_name);
  if (!pool) return 0;
  *(const char **)arg = pool;
  return 1;
}

static void ms_fork_say(void) {
  if (__atomic_exchange_n(&ms_fork_said, 1, __ATOMIC_RELAXED)) return;
  int threads = ms_proc_live_threads() - ms_monitor_running();
  if (threads <= 1) {
    __atomic_store_n(&ms_fork_said, 0, __ATOMIC_RELAXED); /* said at the first fork with threads */
    return;
  }
  const char *pool = NULL;
  dl_iterate_phdr(ms_find_pool, &pool);
  if (pool)
    ms_log_info("fork() while %d threads run and %s is loaded (memshim warns in a child that enters a "
                "libgomp parallel region without exec)", threads, pool);
  else
    ms_log_info("fork() while %d threads run (no known thread pool loaded)", threads);
}

MS_EXPORT pid_t fork(void) {
  if (ms_enabled && ms_initialized && ms_log_level() >= MS_LOG_INFO && !__atomic_load_n(&ms_fork_said, __ATOMIC_RELAXED))
    ms_fork_say();
  /* libgomp's pool has threads only after a parallel region with more than one thread. */
  bool gomp_pool = ms_enabled && __atomic_load_n(&ms_gomp_used, __ATOMIC_RELAXED) &&
                   ms_proc_live_threads() - ms_monitor_running() > 1;
  if (!ms_real_fork) ms_real_fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
  bool unwind_gated = ms_unwind_fork_prepare();
  pid_t pid = ms_real_fork();
  ms_unwind_fork_done(unwind_gated, pid == 0);
  if (pid == 0 && gomp_pool) ms_gomp_broken = 1;
  return pid;
}

/* ---- the parallel-region entry points of GCC's OpenMP ABI (libgomp_g.h) ---- */

/* The real entry point: next in the global scope, else in a runtime loaded RTLD_LOCAL (a Python
 * extension's libgomp, a wheel's vendored libgomp-<hash>.so.1). Also tells whether it is
 * libgomp's (LLVM's libomp exports the same names and survives fork). */
static int ms_find_omp(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  const char *path = info->dlpi_name, *base = path ? strrchr(path, '/') : NULL;
  base = base ? base + 1 : path;
  if (!base || (strncmp(base, "libgomp", 7) && strncmp(base, "libomp", 6) && strncmp(base, "libiomp", 7))) return 0;
  *(const char **)arg = path;
  return 1;
}

typedef struct {
  void *fn;    /* the runtime's definition */
  int is_gomp; /* it is libgomp's */
} ms_gomp_real;

static void ms_gomp_resolve(const char *name, ms_gomp_real *r) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) {
    const char *path = NULL;
    dl_iterate_phdr(ms_find_omp, &path);
    void *h = path ? dlopen(path, RTLD_LAZY | RTLD_NOLOAD) : NULL;
    if (h) f = dlsym(h, name); /* the handle stays: the runtime is loaded anyway */
  }
  if (!f) {
    ms_log_error("%s called, but no OpenMP runtime that defines it is loaded", name);
    abort();
  }
  Dl_info info;
  r->is_gomp = ms_fork_is_libgomp(dladdr(f, &info) && info.dli_fname ? info.dli_fname : "");
  __atomic_store_n(&r->fn, f, __ATOMIC_RELEASE);
}

/* Before every parallel region: resolve the real entry point once, remember that libgomp's pool
 * may have started, and warn once in a child that fork left with a broken pool. */
static void *ms_gomp_enter(const char *name, ms_gomp_real *r) {
  if (!__atomic_load_n(&r->fn, __ATOMIC_ACQUIRE)) ms_gomp_resolve(name, r);
  if (r->is_gomp) {
    if (!__atomic_load_n(&ms_gomp_used, __ATOMIC_RELAXED)) __atomic_store_n(&ms_gomp_used, 1, __ATOMIC_RELAXED);
    if (ms_gomp_broken && !__atomic_exchange_n(&ms_gomp_warned, 1, __ATOMIC_RELAXED))
      ms_log_error("OpenMP (libgomp) parallel region (%s) in a child forked after the parent's thread pool "
                   "started, without exec: libgomp does not rebuild its pool after fork, so this may hang. "
                   "Fork before the first parallel region, exec in the child, or start workers with spawn",
                   name);
  }
  return r->fn;
}

/* Each definition is spelled out, as tests/integration/lib_exports.sh reads them; each forwards
 * the same arguments to the same signature (GCC's libgomp_g.h). */
#define MS_GOMP(name, types) ((void(*) types)ms_gomp_enter(#name, &ms_real_##name))
typedef void (*ms_omp_fn)(void *);
#define MS_LOOP_TYPES (ms_omp_fn, void *, unsigned, long, long, long, long, unsigned)
#define MS_LOOP_RT_TYPES (ms_omp_fn, void *, unsigned, long, long, long, unsigned)

static ms_gomp_real ms_real_GOMP_parallel, ms_real_GOMP_parallel_start, ms_real_GOMP_parallel_reductions,
    ms_real_GOMP_parallel_sections, ms_real_GOMP_parallel_loop_static, ms_real_GOMP_parallel_loop_dynamic,
    ms_real_GOMP_parallel_loop_guided, ms_real_GOMP_parallel_loop_nonmonotonic_dynamic,
    ms_real_GOMP_parallel_loop_nonmonotonic_guided, ms_real_GOMP_parallel_loop_runtime,
    ms_real_GOMP_parallel_loop_nonmonotonic_runtime, ms_real_GOMP_parallel_loop_maybe_nonmonotonic_runtime;

MS_EXPORT void GOMP_parallel(ms_omp_fn fn, void *data, unsigned nthreads, unsigned flags) {
  MS_GOMP(GOMP_parallel, (ms_omp_fn, void *, unsigned, unsigned))(fn, data, nthreads, flags);
}
MS_EXPORT void GOMP_parallel_start(ms_omp_fn fn, void *data, unsigned nthreads) {
  MS_GOMP(GOMP_parallel_start, (ms_omp_fn, void *, unsigned))(fn, data, nthreads);
}
MS_EXPORT unsigned GOMP_parallel_reductions(ms_omp_fn fn, void *data, unsigned nthreads, unsigned flags) {
  void *f = ms_gomp_enter("GOMP_parallel_reductions", &ms_real_GOMP_parallel_reductions);
  return ((unsigned (*)(ms_omp_fn, void *, unsigned, unsigned))f)(fn, data, nthreads, flags);
}
MS_EXPORT void GOMP_parallel_sections(ms_omp_fn fn, void *data, unsigned nthreads, unsigned count, unsigned flags) {
  MS_GOMP(GOMP_parallel_sections, (ms_omp_fn, void *, unsigned, unsigned, unsigned))(fn, data, nthreads, count, flags);
}
MS_EXPORT void GOMP_parallel_loop_static(ms_omp_fn fn, void *data, unsigned nthreads, long start, long end, long incr,
                                         long chunk, unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_static, MS_LOOP_TYPES)(fn, data, nthreads, start, end, incr, chunk, flags);
}
MS_EXPORT void GOMP_parallel_loop_dynamic(ms_omp_fn fn, void *data, unsigned nthreads, long start, long end, long incr,
                                          long chunk, unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_dynamic, MS_LOOP_TYPES)(fn, data, nthreads, start, end, incr, chunk, flags);
}
MS_EXPORT void GOMP_parallel_loop_guided(ms_omp_fn fn, void *data, unsigned nthreads, long start, long end, long incr,
                                         long chunk, unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_guided, MS_LOOP_TYPES)(fn, data, nthreads, start, end, incr, chunk, flags);
}
MS_EXPORT void GOMP_parallel_loop_nonmonotonic_dynamic(ms_omp_fn fn, void *data, unsigned nthreads, long start,
                                                       long end, long incr, long chunk, unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_nonmonotonic_dynamic, MS_LOOP_TYPES)(fn, data, nthreads, start, end, incr, chunk, flags);
}
MS_EXPORT void GOMP_parallel_loop_nonmonotonic_guided(ms_omp_fn fn, void *data, unsigned nthreads, long start,
                                                      long end, long incr, long chunk, unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_nonmonotonic_guided, MS_LOOP_TYPES)(fn, data, nthreads, start, end, incr, chunk, flags);
}
MS_EXPORT void GOMP_parallel_loop_runtime(ms_omp_fn fn, void *data, unsigned nthreads, long start, long end, long incr,
                                          unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_runtime, MS_LOOP_RT_TYPES)(fn, data, nthreads, start, end, incr, flags);
}
MS_EXPORT void GOMP_parallel_loop_nonmonotonic_runtime(ms_omp_fn fn, void *data, unsigned nthreads, long start,
                                                       long end, long incr, unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_nonmonotonic_runtime, MS_LOOP_RT_TYPES)(fn, data, nthreads, start, end, incr, flags);
}
MS_EXPORT void GOMP_parallel_loop_maybe_nonmonotonic_runtime(ms_omp_fn fn, void *data, unsigned nthreads, long start,
                                                             long end, long incr, unsigned flags) {
  MS_GOMP(GOMP_parallel_loop_maybe_nonmonotonic_runtime, MS_LOOP_RT_TYPES)(fn, data, nthreads, start, end, incr, flags);
}
