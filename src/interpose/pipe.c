/* pipe, pipe2: the system call itself, as glibc makes it, except for libunwind running for
 * memshim's profiler (ms_tls_in_unwinder): its memory-validation pipe must not live in the
 * host's descriptor table between backtraces (profile/unwind.c, ms_unwind_pipe). */
#include <unistd.h>

#include "../profile/unwind.h"
#include "../util/export.h"
#include "../util/sys.h"

MS_EXPORT int pipe2(int fds[2], int flags) {
  if (ms_unlikely(ms_tls_in_unwinder)) return ms_unwind_pipe(fds, flags);
  return ms_sys_pipe2(fds, flags);
}

MS_EXPORT int pipe(int fds[2]) { return pipe2(fds, 0); }
