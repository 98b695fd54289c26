/* The raw system-call layer for memshim's own cold paths (symbolizing, reports, tables, the
 * monitor). Nothing here goes through the names memshim exports to the host (mmap, munmap,
 * malloc): memshim's own work never shows up in its own registry or counters, and never waits
 * on a lock the host's calls hold. Every function sets errno like its libc twin. */
#ifndef MEMSHIM_UTIL_SYS_H
#define MEMSHIM_UTIL_SYS_H

#include <fcntl.h>
#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline void *ms_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  return r == -1 ? MAP_FAILED : (void *)r;
}
static inline int ms_sys_munmap(void *addr, size_t len) { return (int)syscall(SYS_munmap, addr, len); }
static inline int ms_sys_madvise(void *addr, size_t len, int advice) {
  return (int)syscall(SYS_madvise, addr, len, advice);
}
/* A descriptor of ours never stays at 0, 1 or 2: a host that closed one of those for a moment
 * (CPython's test_subprocess closes its stdin, stdout and stderr around a spawn) gets it back
 * with dup2, which would silently replace our file, and our close would then end its stdout. */
static inline int ms_sys_open(const char *path, int flags, int mode) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
  if (fd < 0 || fd > 2) return fd;
  int high = (int)syscall(SYS_fcntl, fd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 3);
  syscall(SYS_close, fd);
  return high;
}
static inline ssize_t ms_sys_read(int fd, void *buf, size_t len) { return syscall(SYS_read, fd, buf, len); }
static inline ssize_t ms_sys_pread(int fd, void *buf, size_t len, off_t off) {
  return syscall(SYS_pread64, fd, buf, len, off);
}
static inline ssize_t ms_sys_write(int fd, const void *buf, size_t len) { return syscall(SYS_write, fd, buf, len); }
static inline int ms_sys_close(int fd) { return (int)syscall(SYS_close, fd); }
static inline int ms_sys_fstat(int fd, struct stat *st) { return (int)syscall(SYS_fstat, fd, st); }
static inline pid_t ms_sys_getpid(void) { return (pid_t)syscall(SYS_getpid); }
static inline pid_t ms_sys_gettid(void) { return (pid_t)syscall(SYS_gettid); }
static inline int ms_sys_fcntl(int fd, int cmd, long arg) { return (int)syscall(SYS_fcntl, fd, cmd, arg); }
static inline int ms_sys_pipe2(int fds[2], int flags) { return (int)syscall(SYS_pipe2, fds, flags); }
static inline int ms_sys_tgkill(pid_t pid, pid_t tid, int sig) { return (int)syscall(SYS_tgkill, pid, tid, sig); }

/* Sleep while *word == seen, at most timeout_ms (UINT64_MAX = no limit). */
static inline void ms_sys_futex_wait(uint32_t *word, uint32_t seen, uint64_t timeout_ms) {
  struct timespec ts = {(time_t)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000000L};
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, timeout_ms == UINT64_MAX ? NULL : &ts, NULL, 0);
}
static inline void ms_sys_futex_wake(uint32_t *word, int n) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif
