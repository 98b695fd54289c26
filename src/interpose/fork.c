/* fork: our locks are taken and released around it by pthread_atfork (core/init.c); this
 * entry point adds the one thing atfork cannot: a warning, once, when a process forks while
 * it runs several threads. That is the HF tokenizers hazard (upstream issue #1495): a Rust
 * thread pool started before fork is broken in the child. */

#include <dlfcn.h>
#include <sys/types.h>
#include <unistd.h>

#include "../util/log.h"
#include "../core/state.h"
#include "../policy/monitor.h"
#include "../util/proc.h"
#include "../util/export.h"


static pid_t (*ms_real_fork)(void);
static int ms_fork_warned;

void ms_fork_init(void);
void ms_fork_init(void) { ms_real_fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork"); }

MS_EXPORT pid_t fork(void) {
  if (ms_enabled && ms_initialized && !__atomic_load_n(&ms_fork_warned, __ATOMIC_RELAXED)) {
    int threads = ms_proc_threads() - ms_monitor_running();
    if (threads > 1 && !__atomic_exchange_n(&ms_fork_warned, 1, __ATOMIC_RELAXED))
      ms_log_error("fork() while %d threads run: thread pools started before fork (HF tokenizers, "
                   "OpenMP) are broken in the child; set TOKENIZERS_PARALLELISM=false or fork before "
                   "first use",
                   threads);
  }
  if (!ms_real_fork) ms_real_fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
  return ms_real_fork();
}
