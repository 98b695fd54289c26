/* Identity and namespace changes made while memshim's thread exists (proven before each call).
 *   trust_identity setpriv       setpriv's sequence: PR_SET_KEEPCAPS, setresuid(65534), our thread
 *                                back, CAP_SETGID raised on this thread only (raw capset, as a
 *                                library may do), then setresgid(65534). glibc applies setresgid
 *                                to every thread and aborts if one fails: a thread of ours
 *                                without CAP_SETGID would kill the process. Needs root.
 *   trust_identity unshare N     N nested unshare(CLONE_NEWUSER) (needs a single-threaded
 *                                process), each with our thread up right before; maps the
 *                                caller to root in each new namespace, as unshare -r does.
 *   trust_identity setns N       N setns(mnt namespace) into our own mount namespace (needs a
 *                                process whose fs struct is not shared: no other thread). Root. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "trust_util.h"

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    trust_fail("write %s: %s", path, strerror(errno));
  close(fd);
}

static void setpriv_hazard(void) {
  trust_monitor_up(1, "monitor before setresuid");
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) trust_fail("PR_SET_KEEPCAPS: %s", strerror(errno));
  if (setresuid(65534, 65534, 65534) != 0) trust_fail("setresuid(65534): %s", strerror(errno));
  printf("ok: setresuid(65534) with our thread present\n");

  /* Effective capabilities are gone, permitted ones kept: raise CAP_SETGID on this thread
   * only, with the raw system call (no libc wrapper sees it). */
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) != 0) trust_fail("capget: %s", strerror(errno));
  data[0].effective |= 1u << CAP_SETGID;
  if (syscall(SYS_capset, &hdr, data) != 0) trust_fail("capset: %s", strerror(errno));

  /* Our thread comes back with the next activity; it was created before the capset, so it
   * lacks CAP_SETGID: exactly the thread glibc's setresgid would fail on. */
  trust_wait_threads(2, 2u << 20, 20000, "monitor back before setresgid");
  printf("ok: threads before setresgid: %d (main + memshim's, ours without CAP_SETGID)\n", trust_threads());
  if (setresgid(65534, 65534, 65534) != 0) trust_fail("setresgid(65534): %s", strerror(errno));
  gid_t r, e, s;
  getresgid(&r, &e, &s);
  if (r != 65534 || e != 65534 || s != 65534) trust_fail("gids %u %u %u after setresgid", r, e, s);
  printf("ok: setresgid(65534) succeeded, no abort (uid %u gid %u)\n", (unsigned)getuid(), (unsigned)getgid());
}

static void unshare_user(int n) {
  char map[64];
  trust_monitor_up(1, "monitor before unshare");
  for (int i = 0; i < n; i++) {
    trust_wait_threads(2, 2u << 20, 20000, "monitor up before unshare");
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER) != 0) trust_fail("unshare(CLONE_NEWUSER) #%d with our thread present: %s", i + 1, strerror(errno));
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    write_file("/proc/self/gid_map", map);
  }
  printf("ok: %d nested unshare(CLONE_NEWUSER), each with our thread present; uid %u now\n", n, (unsigned)getuid());
}

static void setns_mnt(int n) {
  int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0) trust_fail("open /proc/self/ns/mnt: %s", strerror(errno));
  trust_monitor_up(1, "monitor before setns");
  for (int i = 0; i < n; i++) {
    trust_wait_threads(2, 2u << 20, 20000, "monitor up before setns");
    if (setns(fd, CLONE_NEWNS) != 0) trust_fail("setns(mnt) #%d with our thread present: %s", i + 1, strerror(errno));
  }
  close(fd);
  printf("ok: %d setns(CLONE_NEWNS), each with our thread present\n", n);
}

int main(int argc, char **argv) {
  if (argc < 2) trust_fail("usage: trust_identity setpriv|unshare N|setns N");
  int n = argc > 2 ? atoi(argv[2]) : 1;
  if (!strcmp(argv[1], "setpriv")) setpriv_hazard();
  else if (!strcmp(argv[1], "unshare")) unshare_user(n);
  else if (!strcmp(argv[1], "setns")) setns_mnt(n);
  else trust_fail("unknown mode %s", argv[1]);
  return 0;
}
