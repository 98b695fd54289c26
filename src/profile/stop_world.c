/* Stopping every other thread of the process for a moment, the way a conservative collector
 * does (stop_world.h): a free real-time signal whose handler records where the thread stands and
 * waits on a futex. Raw system calls only; nothing here allocates or takes a lock. */
#include "stop_world.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "../config/options.h"
#include "../util/maps.h"
#include "../util/sys.h"

#define MS_STOP_MAX 4096
/* Static: a late handler may still read them after the scan has ended. */
static ms_stopped_thread ms_stop[MS_STOP_MAX];
static unsigned ms_nstop;
static uint32_t ms_stop_go, ms_stop_count;
static int ms_stop_sig = -1;           /* the signal in use, -1 between stops */
static struct sigaction ms_stop_old; /* its disposition before */

uintptr_t ms_thread_pointer(void) {
  uintptr_t tp;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}

/* Runs on each stopped thread: its registers are in the signal frame the kernel pushed just
 * above this handler's own frame, so the scan from `here` up covers them. */
static void ms_stop_handler(int sig, siginfo_t *info, void *uc) {
  (void)sig, (void)info, (void)uc;
  int saved = errno;
  pid_t tid = ms_sys_gettid();
  volatile uintptr_t here = 0;
  for (unsigned i = 0; i < ms_nstop; i++) {
    if (ms_stop[i].tid != tid) continue;
    ms_stop[i].sp = (uintptr_t)&here;
    ms_stop[i].tp = ms_thread_pointer();
    __atomic_store_n(&ms_stop[i].answered, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&ms_stop_count, 1, __ATOMIC_ACQ_REL);
    ms_sys_futex_wake(&ms_stop_count, 1);
    while (!__atomic_load_n(&ms_stop_go, __ATOMIC_ACQUIRE)) ms_sys_futex_wait(&ms_stop_go, 0, UINT64_MAX);
    break;
  }
  errno = saved;
}

/* A real-time signal nobody handles: ours for the scan's length. Never the report signal, even
 * when reports are off and it is free: while the scan holds it, /proc/PID/status shows it caught,
 * and `memshim snapshot` would take the scan's handler for the report handler. */
static int ms_stop_signal(struct sigaction *old) {
  int report_sig = (int)ms_opt_u64(MS_OPT_REPORT_SIGNAL);
  for (int sig = SIGRTMAX; sig >= SIGRTMIN + 2; sig--) {
    if (sig == report_sig) continue;
    if (sigaction(sig, NULL, old) != 0) continue;
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_DFL) return sig;
  }
  return -1;
}

static uint64_t ms_now_ms(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What a thread that did not answer is doing (/proc/self/task/TID/syscall: "nr args... sp pc"
 * while it sleeps in a system call, "running" otherwise): MS_THREAD_GONE (it has ended),
 * MS_THREAD_ASLEEP (*sp set) or MS_THREAD_RUNNING. */
enum { MS_THREAD_GONE, MS_THREAD_ASLEEP, MS_THREAD_RUNNING };
static int ms_thread_state(pid_t tid, uintptr_t *sp) {
  char path[64], buf[256];
  int n = 0;
  memcpy(path, "/proc/self/task/", 16);
  n = 16;
  char digits[16];
  int k = 0;
  for (unsigned v = (unsigned)tid; v || !k; v /= 10) digits[k++] = (char)('0' + v % 10);
  while (k) path[n++] = digits[--k];
  memcpy(path + n, "/syscall", 9);
  int fd = ms_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return MS_THREAD_GONE;
  ssize_t len = ms_sys_read(fd, buf, sizeof buf - 1);
  ms_sys_close(fd);
  if (len <= 0) return MS_THREAD_GONE; /* ended between the open and the read */
  buf[len] = 0;
  const char *p = buf;
  for (int field = 0; field < 7; field++) { /* skip nr and the six arguments */
    while (*p && *p != ' ') p++;
    if (!*p) return MS_THREAD_RUNNING;
    p++;
  }
  if (p[0] != '0' || p[1] != 'x') return MS_THREAD_RUNNING;
  p += 2;
  *sp = ms_parse_hex(&p);
  return MS_THREAD_ASLEEP;
}

int ms_world_stop(void) {
  ms_nstop = 0;
  int sig = ms_stop_signal(&ms_stop_old);
  if (sig < 0) return -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = ms_stop_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  __atomic_store_n(&ms_stop_go, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&ms_stop_count, 0, __ATOMIC_RELEASE);
  int fd = ms_sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (sigaction(sig, &sa, NULL) != 0) {
    ms_sys_close(fd);
    return -1;
  }
  ms_stop_sig = sig;

  pid_t pid = ms_sys_getpid(), self = ms_sys_gettid();
  char dents[4096];
  long n;
  while ((n = syscall(SYS_getdents64, fd, dents, sizeof dents)) > 0) {
    for (long off = 0; off < n;) {
      struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(dents + off);
      off += d->reclen;
      if (d->name[0] < '0' || d->name[0] > '9') continue;
      pid_t tid = 0;
      for (const char *c = d->name; *c; c++) tid = tid * 10 + (*c - '0');
      if (tid == self || ms_nstop == MS_STOP_MAX) continue;
      ms_stop[ms_nstop++] = (ms_stopped_thread){.tid = tid};
    }
  }
  ms_sys_close(fd);
  unsigned sent = 0;
  for (unsigned i = 0; i < ms_nstop; i++) {
    if (ms_sys_tgkill(pid, ms_stop[i].tid, sig) == 0) sent++;
    else ms_stop[i].tid = -1; /* gone: nothing to scan */
  }
  /* Until each thread answered, or is accounted for otherwise: one that blocks the signal is
   * taken where it sleeps in the kernel, one that ended meanwhile needs nothing. One that runs
   * with every signal blocked is most often on its way out (glibc blocks them before it frees
   * the thread's resources): it is waited for, 2 s at most (a loaded machine), and counted as
   * unknown after that. */
  uint64_t deadline = ms_now_ms() + 2000;
  for (unsigned round = 0;; round++) {
    uint32_t seen = __atomic_load_n(&ms_stop_count, __ATOMIC_ACQUIRE);
    int unknown = 0;
    if (seen < sent && round) /* the first look leaves the signals a moment to land */
      for (unsigned i = 0; i < ms_nstop; i++) {
        if (ms_stop[i].tid < 0 || ms_stop[i].sp || __atomic_load_n(&ms_stop[i].answered, __ATOMIC_ACQUIRE)) continue;
        uintptr_t sp = 0;
        int state = ms_thread_state(ms_stop[i].tid, &sp);
        if (state == MS_THREAD_GONE) ms_stop[i].tid = -1;
        else if (state == MS_THREAD_ASLEEP) ms_stop[i].sp = sp;
        else unknown++;
      }
    else if (seen < sent)
      unknown = (int)(sent - seen);
    if (!unknown || ms_now_ms() >= deadline) return unknown;
    ms_sys_futex_wait(&ms_stop_count, seen, round ? 5 : 20);
  }
}

void ms_world_start(void) {
  int sig = ms_stop_sig;
  if (sig < 0) return;
  __atomic_store_n(&ms_stop_go, 1, __ATOMIC_RELEASE);
  ms_sys_futex_wake(&ms_stop_go, 1 << 30);
  /* A thread that blocks the signal still has it pending: ignoring the signal discards it, so
   * the default action (ending the process) never meets it once the old disposition is back. */
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(sig, &ign, NULL);
  sigaction(sig, &ms_stop_old, NULL);
  ms_stop_sig = -1;
}

unsigned ms_world_threads(const ms_stopped_thread **threads) {
  *threads = ms_stop;
  return ms_nstop;
}
