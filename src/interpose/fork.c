/* fork: our locks and our thread are handled around it by pthread_atfork (core/init.c); this
 * entry point adds the one thing atfork cannot: a warning, once, when a process forks while a
 * thread pool that breaks in the child has started. That is the HF tokenizers hazard (upstream
 * issue #1495: a Rust thread pool started before fork is broken in the child) and an OpenMP
 * runtime's pool. Forking with other threads is common and healthy (redis BGSAVE, node's
 * child_process, threaded Python): said only at MEMSHIM_VERBOSE=1. */

#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "../core/state.h"
#include "../policy/monitor.h"
#include "../util/export.h"
#include "../util/log.h"
#include "../util/proc.h"

static pid_t (*ms_real_fork)(void);
static int ms_fork_warned;


/* A loaded runtime whose worker threads do not survive fork, or NULL. */
static const char *const ms_pool_libs[][2] = {
  {"tokenizers", "HF tokenizers"}, /* tokenizers.cpython-*.so, the Rust core's Python module */
  {"libgomp", "OpenMP (libgomp)"},
  {"libiomp", "OpenMP (libiomp)"},
  {"libomp", "OpenMP (libomp)"},
};

static int ms_find_pool(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  const char *path = info->dlpi_name, *base = path ? strrchr(path, '/') : NULL;
  base = base ? base + 1 : path;
  if (!base || !*base) return 0;
  for (size_t i = 0; i < sizeof ms_pool_libs / sizeof ms_pool_libs[0]; i++) {
    if (strncmp(base, ms_pool_libs[i][0], strlen(ms_pool_libs[i][0])) == 0) {
      *(const char **)arg = ms_pool_libs[i][1];
      return 1;
    }
  }
  return 0;
}

static void ms_fork_warn(void) {
  const char *pool = NULL;
  dl_iterate_phdr(ms_find_pool, &pool);
  int level = pool ? MS_LOG_ERROR : MS_LOG_INFO;
  if (level > ms_log_level()) return;
  int threads = ms_proc_live_threads() - ms_monitor_running();
  if (threads <= 1 || __atomic_exchange_n(&ms_fork_warned, 1, __ATOMIC_RELAXED)) return;
  if (pool)
    ms_log_error("fork() while %d threads run and %s is loaded: a thread pool it started is broken in the "
                 "child; set TOKENIZERS_PARALLELISM=false (tokenizers) or fork before first use",
                 threads, pool);
  else
    ms_log_info("fork() while %d threads run (no known thread pool loaded)", threads);
}

MS_EXPORT pid_t fork(void) {
  if (ms_enabled && ms_initialized && !__atomic_load_n(&ms_fork_warned, __ATOMIC_RELAXED)) ms_fork_warn();
  if (!ms_real_fork) ms_real_fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
  return ms_real_fork();
}
