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

#include "../core/monitor.h"
#include "../util/export.h"

struct __user_cap_header_struct;
struct __user_cap_data_struct;

/* The body of NAME(ARGS): the next definition of NAME (libc's), called with the monitor
 * stopped. TYPES: its parameter types. */
#define MS_CALL_WITHOUT_MONITOR(NAME, TYPES, ARGS)                                \
  do {                                                                            \
    static int(*real) TYPES;                                                      \
    if (!real) real = (int(*) TYPES)dlsym(RTLD_NEXT, #NAME);                      \
    if (!real) {                                                                  \
      errno = ENOSYS;                                                             \
      return -1;                                                                  \
    }                                                                             \
    ms_monitor_suspend();                                                         \
    int rc = real ARGS, saved = errno;                                            \
    ms_monitor_resume();                                                          \
    errno = saved;                                                                \
    return rc;                                                                    \
  } while (0)

MS_EXPORT int setuid(uid_t uid) { MS_CALL_WITHOUT_MONITOR(setuid, (uid_t), (uid)); }
MS_EXPORT int setgid(gid_t gid) { MS_CALL_WITHOUT_MONITOR(setgid, (gid_t), (gid)); }
MS_EXPORT int seteuid(uid_t uid) { MS_CALL_WITHOUT_MONITOR(seteuid, (uid_t), (uid)); }
MS_EXPORT int setegid(gid_t gid) { MS_CALL_WITHOUT_MONITOR(setegid, (gid_t), (gid)); }
MS_EXPORT int setreuid(uid_t r, uid_t e) { MS_CALL_WITHOUT_MONITOR(setreuid, (uid_t, uid_t), (r, e)); }
MS_EXPORT int setregid(gid_t r, gid_t e) { MS_CALL_WITHOUT_MONITOR(setregid, (gid_t, gid_t), (r, e)); }
MS_EXPORT int setresuid(uid_t r, uid_t e, uid_t s) {
  MS_CALL_WITHOUT_MONITOR(setresuid, (uid_t, uid_t, uid_t), (r, e, s));
}
MS_EXPORT int setresgid(gid_t r, gid_t e, gid_t s) {
  MS_CALL_WITHOUT_MONITOR(setresgid, (gid_t, gid_t, gid_t), (r, e, s));
}
MS_EXPORT int setgroups(size_t n, const gid_t *list) {
  MS_CALL_WITHOUT_MONITOR(setgroups, (size_t, const gid_t *), (n, list));
}
MS_EXPORT int initgroups(const char *user, gid_t group) {
  MS_CALL_WITHOUT_MONITOR(initgroups, (const char *, gid_t), (user, group));
}
MS_EXPORT int capset(struct __user_cap_header_struct *hdr, struct __user_cap_data_struct *data) {
  MS_CALL_WITHOUT_MONITOR(capset, (struct __user_cap_header_struct *, struct __user_cap_data_struct *), (hdr, data));
}
MS_EXPORT int unshare(int flags) { MS_CALL_WITHOUT_MONITOR(unshare, (int), (flags)); }
MS_EXPORT int setns(int fd, int nstype) { MS_CALL_WITHOUT_MONITOR(setns, (int, int), (fd, nstype)); }
