#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
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
/* The step-by-step API (unw_getcontext, unw_init_local, unw_step, unw_get_reg) for the one walk
 * that needs stack pointers, not just return addresses (ms_unwind_caller_sp). */
typedef struct { uint64_t opaque[127]; } ms_unw_cursor; /* unw_cursor_t: UNW_TDEP_CURSOR_LEN words */
typedef int (*ms_unw_getcontext_fn)(ucontext_t *uc);
typedef int (*ms_unw_init_local_fn)(ms_unw_cursor *c, ucontext_t *uc);
typedef int (*ms_unw_step_fn)(ms_unw_cursor *c);
typedef int (*ms_unw_get_reg_fn)(ms_unw_cursor *c, int reg, uint64_t *val);
enum { MS_UNW_REG_SP = 7, MS_UNW_REG_IP = 16 }; /* UNW_X86_64_RSP, UNW_X86_64_RIP */
static struct {
  ms_unw_getcontext_fn getcontext;
  ms_unw_init_local_fn init_local;
  ms_unw_step_fn step;
  ms_unw_get_reg_fn get_reg;
} ms_unw_walk; /* set once by ms_unwind_load; all or none */
enum { MS_UNW_CACHE_PER_THREAD = 2 }; /* UNW_CACHE_PER_THREAD */

MS_TLS int ms_tls_in_unwinder;

static ms_unw_backtrace_fn ms_unw_backtrace; /* set once, then read without a lock */
static int ms_unwind_state;                  /* 0 not tried, 1 ready, -1 unavailable */
static pthread_mutex_t ms_unwind_lock = PTHREAD_MUTEX_INITIALIZER;

/* Our own text: [lo, hi). Frames there are the allocation entry points and the profiler. */
static uintptr_t ms_self_lo, ms_self_hi;

/* ---- libunwind's validation pipe ----
 * libunwind checks that an address is readable by writing one byte from it into a pipe, which it
 * opens at initialisation and keeps in one static pair of descriptors for the whole process
 * (every thread's backtraces use it), and which it reopens (closing the pair it had, then pipe2)
 * whenever a read from it fails. Left alone, that is two descriptors in the host's table for the
 * life of the process at the lowest free numbers: visible to a host that counts its descriptors
 * (CPython's test_subprocess), closed by a daemon's close-everything loop, and then reused by the
 * daemon's own files, which libunwind would read from, write into, and close.
 *
 * So the pipes exist only while some thread is inside libunwind for us (a session):
 * - memshim's pipe2 (called by libunwind while ms_tls_in_unwinder is set) makes the pipe at the
 *   top of the descriptor range (at most 1024) and learns where libunwind keeps its pair: the
 *   array it passed to pipe2. Every number it hands out stays open for the whole session:
 *   memshim's close, called by libunwind, leaves them alone. Threads that reopen at once each
 *   close the pair they read, which another thread may have just been given, or may be writing
 *   into: were those numbers really closed, a pipe could lose its read end under a writer
 *   (SIGPIPE) or its number could be handed out again in the middle of a reopen.
 * - ms_unw_users counts the threads inside libunwind; the last one to leave closes the session's
 *   pipes and sets libunwind's pair to -1, under MS_UNW_CLOSING, which keeps new backtraces out
 *   meanwhile. libunwind's next read from -1 fails and it asks for a new pipe. It never touches a
 *   number it held before, so a host that took those numbers meanwhile is safe, and no system
 *   call is needed per backtrace to find out. */
#define MS_UNW_CLOSING (1u << 31)
#define MS_SESSION_FDS 128
static unsigned ms_unw_users;              /* atomic: threads inside libunwind (+ MS_UNW_CLOSING) */
static int ms_session_fds[MS_SESSION_FDS]; /* every pipe end handed to libunwind this session */
static unsigned ms_nsession;               /* atomic for ms_unwinder_leave's unlocked look */
static int *ms_unw_pair;                   /* libunwind's static pair, as passed to pipe2 */
static int ms_pipe_busy;                   /* atomic: the three above being changed */

static void ms_pipe_lock(void) {
  while (__atomic_exchange_n(&ms_pipe_busy, 1, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
}
static void ms_pipe_unlock(void) { __atomic_store_n(&ms_pipe_busy, 0, __ATOMIC_RELEASE); }

/* Moves fd to the top of the descriptor range; -1 (fd closed) when there is no room there. */
static int ms_fd_to_top(int fd) {
  struct rlimit rl;
  long top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024 ? (long)rl.rlim_cur : 1024;
  long base = top > 64 ? top - 32 : top / 2;
  int hi = ms_sys_fcntl(fd, F_DUPFD_CLOEXEC, base);
  ms_sys_close(fd);
  return hi;
}

int ms_unwind_pipe(int fds[2], int flags) {
  int raw[2];
  if (ms_sys_pipe2(raw, flags | O_CLOEXEC) != 0) return -1;
  int hi[2] = {ms_fd_to_top(raw[0]), ms_fd_to_top(raw[1])};
  ms_pipe_lock();
  bool room = ms_nsession + 2 <= MS_SESSION_FDS;
  if (hi[0] >= 0 && hi[1] >= 0 && room) {
    ms_session_fds[ms_nsession] = hi[0];
    ms_session_fds[ms_nsession + 1] = hi[1];
    __atomic_store_n(&ms_nsession, ms_nsession + 2, __ATOMIC_RELEASE);
    ms_unw_pair = fds;
    fds[0] = hi[0];
    fds[1] = hi[1];
    ms_pipe_unlock();
    return 0;
  }
  ms_pipe_unlock();
  /* no room up there, or too many reopens at once: libunwind's validation fails instead */
  for (int i = 0; i < 2; i++)
    if (hi[i] >= 0) ms_sys_close(hi[i]);
  errno = EMFILE;
  return -1;
}

int ms_unwind_close(int fd) {
  ms_pipe_lock();
  bool ours = false;
  for (unsigned i = 0; i < ms_nsession && !ours; i++) ours = ms_session_fds[i] == fd;
  ms_pipe_unlock();
  return ours ? 0 : -2;
}

/* Only with no thread inside libunwind (the caller holds MS_UNW_CLOSING, or is a fork child). */
static void ms_pipe_close_all(void) {
  ms_pipe_lock();
  if (ms_unw_pair)
    for (unsigned i = 0; i < ms_nsession; i++)
      if (ms_unw_pair[0] == ms_session_fds[i]) ms_unw_pair[0] = ms_unw_pair[1] = -1;
  for (unsigned i = 0; i < ms_nsession; i++) ms_sys_close(ms_session_fds[i]);
  __atomic_store_n(&ms_nsession, 0, __ATOMIC_RELEASE);
  ms_pipe_unlock();
}

/* Forks waiting for libunwind to be idle (ms_unwind_fork_prepare). libunwind keeps locks of its
 * own (its memory pools, its caches' set-up) that a backtrace takes: a thread inside one at a
 * fork leaves the lock held in the child for good, and the child's first backtrace that wants it
 * waits forever (seen: a child of a threaded parent under the glibc backend, blocked in
 * __lll_lock_wait on a word in libunwind's .bss). */
static unsigned ms_unw_forks;
static void ms_unwinder_leave(void);

static void ms_unwinder_count_in(void) {
  unsigned v = __atomic_load_n(&ms_unw_users, __ATOMIC_RELAXED);
  for (;;) {
    if (v & MS_UNW_CLOSING) { /* the last user is closing the session's pipes */
      __builtin_ia32_pause();
      v = __atomic_load_n(&ms_unw_users, __ATOMIC_RELAXED);
    } else if (__atomic_compare_exchange_n(&ms_unw_users, &v, v + 1, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
      break;
    }
  }
  ms_tls_in_unwinder++;
}

/* False while a fork waits for libunwind to be idle: the caller takes no backtrace (a sample
 * then gets an empty stack; it is not dropped, exact mode must still see the block). Waiting
 * instead could deadlock: this thread may hold a lock that a fork handler wants. The count goes
 * up before the look (both sequentially consistent): either the fork sees this thread inside,
 * or this thread sees the fork. */
static bool ms_unwinder_enter(void) {
  ms_unwinder_count_in();
  if (!__atomic_load_n(&ms_unw_forks, __ATOMIC_SEQ_CST)) return true;
  ms_unwinder_leave();
  return false;
}

static void ms_unwinder_leave(void) {
  ms_tls_in_unwinder--;
  if (__atomic_sub_fetch(&ms_unw_users, 1, __ATOMIC_ACQ_REL) != 0) return;
  if (!__atomic_load_n(&ms_nsession, __ATOMIC_ACQUIRE)) return; /* the common case: no pipe */
  unsigned zero = 0; /* a thread that entered meanwhile closes it when it leaves */
  if (!__atomic_compare_exchange_n(&ms_unw_users, &zero, MS_UNW_CLOSING, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return;
  ms_pipe_close_all();
  __atomic_store_n(&ms_unw_users, 0, __ATOMIC_RELEASE);
}

/* Another thread's backtrace may have held the pipe at the fork: the child has a copy of it and
 * no thread that will close it (the forking thread itself is never inside a backtrace). */
void ms_unwind_atfork_child(void) {
  __atomic_store_n(&ms_unw_forks, 0, __ATOMIC_RELAXED); /* the forking thread is the child's only one */
  __atomic_store_n(&ms_pipe_busy, 0, __ATOMIC_RELAXED);
  ms_pipe_close_all();
  __atomic_store_n(&ms_unw_users, 0, __ATOMIC_RELAXED);
}

bool ms_unwind_fork_prepare(void) {
  if (__atomic_load_n(&ms_unwind_state, __ATOMIC_ACQUIRE) <= 0) return false; /* libunwind not loaded */
  __atomic_add_fetch(&ms_unw_forks, 1, __ATOMIC_SEQ_CST);
  /* A backtrace takes microseconds; 1 s at most for one descheduled on a loaded machine. */
  for (int i = 0; i < 20000 && (__atomic_load_n(&ms_unw_users, __ATOMIC_SEQ_CST) & ~MS_UNW_CLOSING); i++) {
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
  }
  return true;
}

void ms_unwind_fork_done(bool prepared, bool child) {
  if (child) __atomic_store_n(&ms_unw_forks, 0, __ATOMIC_RELAXED);
  else if (prepared) __atomic_sub_fetch(&ms_unw_forks, 1, __ATOMIC_SEQ_CST);
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
  if (caching && local_as) { /* libunwind may initialise itself here; set once, so not gated */
    ms_unwinder_count_in();
    caching(*local_as, MS_UNW_CACHE_PER_THREAD);
    ms_unwinder_leave();
  }
  ms_unw_walk.getcontext = (ms_unw_getcontext_fn)dlsym(h, "_Ux86_64_getcontext");
  ms_unw_walk.init_local = (ms_unw_init_local_fn)dlsym(h, "_ULx86_64_init_local");
  ms_unw_walk.step = (ms_unw_step_fn)dlsym(h, "_ULx86_64_step");
  ms_unw_walk.get_reg = (ms_unw_get_reg_fn)dlsym(h, "_ULx86_64_get_reg");
  if (!ms_unw_walk.getcontext || !ms_unw_walk.init_local || !ms_unw_walk.step || !ms_unw_walk.get_reg)
    memset(&ms_unw_walk, 0, sizeof ms_unw_walk);
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

bool ms_unwind_caller_frame(uintptr_t lo, uintptr_t hi, uintptr_t *sp, uintptr_t regs[MS_UNWIND_SAVED_REGS]) {
  if (!__atomic_load_n(&ms_unw_backtrace, __ATOMIC_ACQUIRE) || !ms_unw_walk.step) return false;
  ucontext_t uc;
  ms_unw_cursor cursor;
  bool found = false;
  if (!ms_unwinder_enter()) return false;
  if (ms_unw_walk.getcontext(&uc) == 0 && ms_unw_walk.init_local(&cursor, &uc) == 0) {
    for (int depth = 0; depth < 256 && !found && ms_unw_walk.step(&cursor) > 0; depth++) {
      uint64_t ip = 0;
      if (ms_unw_walk.get_reg(&cursor, MS_UNW_REG_IP, &ip) != 0 || ip <= lo || ip > hi) continue;
      uint64_t caller_sp = 0; /* one frame out: the caller's stack pointer once fn returned */
      found = ms_unw_walk.step(&cursor) > 0 && ms_unw_walk.get_reg(&cursor, MS_UNW_REG_SP, &caller_sp) == 0;
      *sp = (uintptr_t)caller_sp;
      /* rbx, rbp, r12-r15 (UNW_X86_64_*): what the caller keeps in them outlives the call */
      static const int saved[MS_UNWIND_SAVED_REGS] = {3, 6, 12, 13, 14, 15};
      for (int r = 0; r < MS_UNWIND_SAVED_REGS; r++) {
        uint64_t v = 0;
        regs[r] = found && ms_unw_walk.get_reg(&cursor, saved[r], &v) == 0 ? (uintptr_t)v : 0;
      }
    }
  }
  ms_unwinder_leave();
  return found;
}
