/* pipe, pipe2, close: the system call, as glibc makes it, except for libunwind running for
 * memshim's profiler (ms_tls_in_unwinder): its memory-validation pipe must not live in the
 * host's descriptor table between backtraces, and its ends stay open while any backtrace runs
 * (profile/unwind.c, ms_unwind_pipe and ms_unwind_close). */
#include <unistd.h>

#include "../profile/unwind.h"
#include "../util/export.h"
#include "../util/sys.h"

MS_EXPORT int pipe2(int fds[2], int flags) {
  if (ms_unlikely(ms_tls_in_unwinder)) return ms_unwind_pipe(fds, flags);
  return ms_sys_pipe2(fds, flags);
}

MS_EXPORT int pipe(int fds[2]) { return pipe2(fds, 0); }

/* glibc's own close under its exported second name: a cancellation point, as the host expects. */
extern int __close(int fd);

MS_EXPORT int close(int fd) {
  if (ms_unlikely(ms_tls_in_unwinder) && ms_unwind_close(fd) == 0) return 0;
  return __close(fd);
}
