#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>

#include "../util/elf_sym.h"
#include "../util/log.h"
#include "../util/sys.h"
#include "stack_table.h"

/* libunwind's local-only API, by the names libunwind.so.8 exports on x86-64 (the header's
 * unw_* macros map to these). Opaque types: we only pass them through. */
#define MS_LIBUNWIND "libunwind.so.8"
typedef int (*ms_unw_backtrace_fn)(void **buf, int size);
typedef int (*ms_unw_set_caching_fn)(void *as, int policy);
enum { MS_UNW_CACHE_PER_THREAD = 2 }; /* UNW_CACHE_PER_THREAD */

MS_TLS int ms_tls_in_unwinder;

static ms_unw_backtrace_fn ms_unw_backtrace; /* set once, then read without a lock */
static int ms_unwind_state;                  /* 0 not tried, 1 ready, -1 unavailable */
static pthread_mutex_t ms_unwind_lock = PTHREAD_MUTEX_INITIALIZER;

/* Our own text: [lo, hi). Frames there are the allocation entry points and the profiler. */
static uintptr_t ms_self_lo, ms_self_hi;

/* ---- libunwind's validation pipe ----
 * libunwind 1.6 checks that an address is readable by writing one byte from it into a pipe,
 * which it opens at initialisation, keeps in a static pair of descriptors, and reopens whenever
 * a read from it fails. Left alone, that is two descriptors in the host's table for the life of
 * the process at the lowest free numbers: visible to a host that counts its descriptors
 * (CPython's test_subprocess), closed by a daemon's close-everything loop, and then reused by
 * the daemon's own files, which libunwind would read from, write into, and close. So the pipe
 * exists only while libunwind runs for us: memshim's pipe2 hands libunwind a pipe moved to the
 * top of the descriptor range (at most 1024), and the backtrace that caused it closes it at its
 * end. libunwind keeps the closed numbers; its next read from them fails and it asks for a new
 * pipe. Should the host have taken those numbers meanwhile, the backtrace is skipped (the sample
 * has no stack) rather than let libunwind touch them. */
static int ms_pipe_fds[2] = {-1, -1}; /* atomic: the numbers libunwind holds */
static int ms_pipe_live;              /* atomic: pipes of ours open right now */
static MS_TLS int ms_tls_pipe[2] = {-1, -1}; /* the pipe this thread's backtrace caused */

int ms_unwind_pipe(int fds[2], int flags) {
  int raw[2], hi[2] = {-1, -1};
  if (ms_sys_pipe2(raw, flags | O_CLOEXEC) != 0) return -1;
  struct rlimit rl;
  long top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024 ? (long)rl.rlim_cur : 1024;
  long base = top > 64 ? top - 32 : top / 2; /* room for concurrent backtraces */
  for (int i = 0; i < 2; i++) {
    hi[i] = ms_sys_fcntl(raw[i], F_DUPFD_CLOEXEC, base); /* same pipe: O_NONBLOCK is shared */
    ms_sys_close(raw[i]);
  }
  if (hi[0] < 0 || hi[1] < 0) { /* no room up there: libunwind's validation fails instead */
    if (hi[0] >= 0) ms_sys_close(hi[0]);
    if (hi[1] >= 0) ms_sys_close(hi[1]);
    errno = EMFILE;
    return -1;
  }
  if (ms_tls_pipe[0] >= 0) { /* a second reopen in one backtrace: the first pair is done with */
    ms_sys_close(ms_tls_pipe[0]);
    ms_sys_close(ms_tls_pipe[1]);
    __atomic_sub_fetch(&ms_pipe_live, 1, __ATOMIC_RELEASE);
  }
  __atomic_add_fetch(&ms_pipe_live, 1, __ATOMIC_ACQ_REL);
  ms_tls_pipe[0] = fds[0] = hi[0];
  ms_tls_pipe[1] = fds[1] = hi[1];
  __atomic_store_n(&ms_pipe_fds[0], hi[0], __ATOMIC_RELEASE);
  __atomic_store_n(&ms_pipe_fds[1], hi[1], __ATOMIC_RELEASE);
  return 0;
}

/* False when the host now owns a number libunwind holds (while no pipe of ours is open). One
 * poll() with no events tells both at once: POLLNVAL marks a descriptor that is not open. */
static bool ms_unwinder_enter(void) {
  int fd0 = __atomic_load_n(&ms_pipe_fds[0], __ATOMIC_ACQUIRE);
  if (fd0 >= 0 && !__atomic_load_n(&ms_pipe_live, __ATOMIC_ACQUIRE)) {
    struct pollfd p[2] = {{fd0, 0, 0}, {__atomic_load_n(&ms_pipe_fds[1], __ATOMIC_ACQUIRE), 0, 0}};
    if (syscall(SYS_poll, p, 2, 0) < 0 || !(p[0].revents & POLLNVAL) || !(p[1].revents & POLLNVAL)) return false;
  }
  ms_tls_in_unwinder++;
  return true;
}

static void ms_unwinder_leave(void) {
  ms_tls_in_unwinder--;
  if (ms_tls_pipe[0] < 0) return;
  ms_sys_close(ms_tls_pipe[0]);
  ms_sys_close(ms_tls_pipe[1]);
  ms_tls_pipe[0] = ms_tls_pipe[1] = -1;
  __atomic_sub_fetch(&ms_pipe_live, 1, __ATOMIC_RELEASE);
}

/* Another thread's backtrace may have held a pipe at the fork: the child has a copy of it and
 * no thread that will close it (the forking thread itself is never inside a backtrace). */
void ms_unwind_atfork_child(void) {
  if (__atomic_load_n(&ms_pipe_live, __ATOMIC_RELAXED) > 0) {
    ms_sys_close(ms_pipe_fds[0]);
    ms_sys_close(ms_pipe_fds[1]);
  }
  __atomic_store_n(&ms_pipe_live, 0, __ATOMIC_RELAXED);
}

static int ms_unwind_load(void) {
  void *h = dlopen(MS_LIBUNWIND, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    ms_log_error("stack capture off: cannot load %s (%s); install libunwind8", MS_LIBUNWIND,
                 why ? why : "not found");
    return -1;
  }
  ms_unw_backtrace_fn bt = (ms_unw_backtrace_fn)dlsym(h, "unw_backtrace");
  ms_unw_set_caching_fn caching = (ms_unw_set_caching_fn)dlsym(h, "_ULx86_64_set_caching_policy");
  void **local_as = (void **)dlsym(h, "_ULx86_64_local_addr_space");
  if (!bt) {
    ms_log_error("stack capture off: %s has no unw_backtrace", MS_LIBUNWIND);
    return -1;
  }
  /* Per-thread caches: no lock shared between allocating threads. */
  if (caching && local_as && ms_unwinder_enter()) { /* libunwind may initialise itself here */
    caching(*local_as, MS_UNW_CACHE_PER_THREAD);
    ms_unwinder_leave();
  }
  ms_elf_text_range((uintptr_t)&ms_unwind, &ms_self_lo, &ms_self_hi);
  __atomic_store_n(&ms_unw_backtrace, bt, __ATOMIC_RELEASE);
  return 0;
}

int ms_unwind_init(void) {
  int st = __atomic_load_n(&ms_unwind_state, __ATOMIC_ACQUIRE);
  if (st) return st > 0 ? 0 : -1;
  pthread_mutex_lock(&ms_unwind_lock);
  if (!ms_unwind_state) __atomic_store_n(&ms_unwind_state, ms_unwind_load() == 0 ? 1 : -1, __ATOMIC_RELEASE);
  st = ms_unwind_state;
  pthread_mutex_unlock(&ms_unwind_lock);
  return st > 0 ? 0 : -1;
}

unsigned ms_unwind(uintptr_t *out, unsigned max) {
  ms_unw_backtrace_fn bt = __atomic_load_n(&ms_unw_backtrace, __ATOMIC_ACQUIRE);
  if (!bt) return 0;
  void *buf[MS_MAX_DEPTH + 16];
  if (max > MS_MAX_DEPTH) max = MS_MAX_DEPTH;
  if (!ms_unwinder_enter()) return 0;
  int n = bt(buf, (int)(max + 16));
  ms_unwinder_leave();
  int i = 0;
  while (i < n && (uintptr_t)buf[i] >= ms_self_lo && (uintptr_t)buf[i] < ms_self_hi) i++;
  unsigned k = 0;
  for (; i < n && k < max; i++) out[k++] = (uintptr_t)buf[i];
  return k;
}
