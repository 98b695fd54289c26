#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../config/options.h"
#include "guard.h"
#include "sys.h"
#include "../config/path_template.h"

static int ms_log_lvl;
static long ms_started_at;

long ms_start_time(void) {
  if (!ms_started_at) ms_started_at = (long)time(NULL);
  return ms_started_at;
}

int ms_path_expand(const char *tmpl, char *out, unsigned long outlen) {
  ms_path_vars v = {getpid(), (long)geteuid(), getenv("TMPDIR"), ms_start_time()};
  return ms_path_template_expand(tmpl, &v, out, outlen, NULL, 0);
}

/* MEMSHIM_LOG: opened at the first line to write, never before. The descriptor is checked
 * before every write (still open, same device and inode): a daemon that closes every
 * descriptor and opens its database gets that descriptor number back, and a line of ours must
 * never land in its file. A stale descriptor is forgotten (not closed: it is the host's now)
 * and the log reopened. */
static int ms_log_fd = -1;
static dev_t ms_log_dev;
static ino_t ms_log_ino;
static bool ms_log_failed; /* said once that the log cannot be opened: stderr from then on */
static pthread_mutex_t ms_log_lock = PTHREAD_MUTEX_INITIALIZER; /* the descriptor's check and reopen */

static bool ms_log_fd_is_ours(void) {
  struct stat st;
  return ms_log_fd >= 0 && ms_sys_fstat(ms_log_fd, &st) == 0 && st.st_dev == ms_log_dev && st.st_ino == ms_log_ino;
}

/* The descriptor to write a line to: the log file, or stderr. */
static int ms_log_target(void) {
  const char *path = ms_opt_str(MS_OPT_LOG);
  if (!*path || ms_log_failed) return 2;
  if (ms_log_fd_is_ours()) return ms_log_fd;
  ms_log_fd = -1;
  char expanded[MS_PATH_MAX + 32];
  const char *why = "path too long";
  if (ms_path_expand(path, expanded, sizeof expanded) == 0) {
    int fd = ms_sys_open(expanded, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat st;
    if (fd >= 0 && ms_sys_fstat(fd, &st) == 0) {
      ms_log_fd = fd;
      ms_log_dev = st.st_dev;
      ms_log_ino = st.st_ino;
      return fd;
    }
    if (fd >= 0) ms_sys_close(fd);
    why = strerror(errno);
  }
  ms_log_failed = true;
  char line[MS_PATH_MAX + 160];
  int n = snprintf(line, sizeof line, "memshim[%d]: MEMSHIM_LOG=%s: %s; logging to stderr\n", (int)ms_sys_getpid(),
                   path, why);
  if (n > 0) ms_sys_write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  return 2;
}

void ms_log_init(void) {
  ms_start_time();
  ms_log_lvl = (int)ms_opt_u64(MS_OPT_VERBOSE);
}

/* A child writes to its own file when the path holds %p; either way it checks again. */
void ms_log_after_fork_child(void) {
  pthread_mutex_init(&ms_log_lock, NULL);
  /* A child starts now: its %t is not its parent's. With the parent's, a reused pid made the
   * same report name twice (a long-lived server's workers over hours; the stress tier's children
   * in a run), and a report file is never overwritten, so the second one was lost. */
  ms_started_at = (long)time(NULL);
  if (strstr(ms_opt_str(MS_OPT_LOG), "%p") || strstr(ms_opt_str(MS_OPT_LOG), "%t")) {
    ms_log_fd = -1; /* the parent's file: not ours to close in the child's name */
    ms_log_failed = false;
  }
}

int ms_log_level(void) { return ms_log_lvl; }

void ms_vlog(int level, const char *fmt, va_list ap) {
  if (level > ms_log_lvl) return;
  ms_guard_enter();
  char line[1024];
  int n = snprintf(line, sizeof line, "memshim[%d]: ", (int)ms_sys_getpid());
  int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  if (m < 0) m = 0;
  n += m;
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  pthread_mutex_lock(&ms_log_lock);
  ms_sys_write(ms_log_target(), line, (size_t)n);
  pthread_mutex_unlock(&ms_log_lock);
  ms_guard_leave();
}

void ms_log(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ms_vlog(level, fmt, ap);
  va_end(ap);
}
