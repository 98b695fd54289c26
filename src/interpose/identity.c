/* Identity and namespace changes: setuid & co., setgroups, initgroups, capset, unshare, setns.
 *
 * glibc applies the setuid family and setgroups to every thread of the process and aborts when
 * one of them fails: a thread of ours that kept other credentials (setpriv keeps capabilities
 * with capset on its own thread only) would kill the host. unshare(CLONE_NEWUSER) and setns()
 * into a mount or user namespace need a single-threaded process. So the monitor thread is
 * stopped and joined before each of these calls; it comes back with the next activity, with
 * the credentials and namespaces the process has then. */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <sys/types.h>
#include <unistd.h>

#include "../policy/monitor.h"
#include "../util/export.h"

struct __user_cap_header_struct;
struct __user_cap_data_struct;

/* Define NAME(PARAMS) that suspends the monitor around the next definition of NAME. */
#define MS_WITHOUT_MONITOR(NAME, PARAMS, ARGS)                                    \
  MS_EXPORT int NAME PARAMS {                                                     \
    static int(*real) PARAMS;                                                     \
    if (!real) real = (int(*) PARAMS)dlsym(RTLD_NEXT, #NAME);                     \
    if (!real) {                                                                  \
      errno = ENOSYS;                                                             \
      return -1;                                                                  \
    }                                                                             \
    ms_monitor_suspend();                                                         \
    int rc = real ARGS, saved = errno;                                            \
    ms_monitor_resume();                                                          \
    errno = saved;                                                                \
    return rc;                                                                    \
  }

MS_WITHOUT_MONITOR(setuid, (uid_t uid), (uid))
MS_WITHOUT_MONITOR(setgid, (gid_t gid), (gid))
MS_WITHOUT_MONITOR(seteuid, (uid_t uid), (uid))
MS_WITHOUT_MONITOR(setegid, (gid_t gid), (gid))
MS_WITHOUT_MONITOR(setreuid, (uid_t r, uid_t e), (r, e))
MS_WITHOUT_MONITOR(setregid, (gid_t r, gid_t e), (r, e))
MS_WITHOUT_MONITOR(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
MS_WITHOUT_MONITOR(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
MS_WITHOUT_MONITOR(setgroups, (size_t n, const gid_t *list), (n, list))
MS_WITHOUT_MONITOR(initgroups, (const char *user, gid_t group), (user, group))
MS_WITHOUT_MONITOR(capset, (struct __user_cap_header_struct * hdr, struct __user_cap_data_struct *data), (hdr, data))
MS_WITHOUT_MONITOR(unshare, (int flags), (flags))
MS_WITHOUT_MONITOR(setns, (int fd, int nstype), (fd, nstype))
