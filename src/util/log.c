#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../config/options.h"
#include "guard.h"

static int ms_log_fd = 2;
static int ms_log_lvl;
static long ms_started_at;

long ms_start_time(void) {
  if (!ms_started_at) ms_started_at = (long)time(NULL);
  return ms_started_at;
}

int ms_path_expand(const char *tmpl, char *out, unsigned long outlen) {
  unsigned long n = 0;
  for (const char *p = tmpl; *p; p++) {
    char tmp[32];
    const char *piece = tmp;
    size_t plen;
    if (p[0] == '%' && p[1] == 'p') {
      plen = (size_t)snprintf(tmp, sizeof tmp, "%d", (int)getpid());
      p++;
    } else if (p[0] == '%' && p[1] == 't') {
      plen = (size_t)snprintf(tmp, sizeof tmp, "%ld", ms_start_time());
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      tmp[0] = '%';
      plen = 1;
      p++;
    } else {
      piece = p;
      plen = 1;
    }
    if (n + plen + 1 > outlen) return -1;
    memcpy(out + n, piece, plen);
    n += plen;
  }
  if (n + 1 > outlen) return -1;
  out[n] = 0;
  return 0;
}

static void ms_log_open(void) {
  const char *path = ms_opt_str(MS_OPT_LOG);
  if (!*path) return;
  char expanded[MS_PATH_MAX + 32];
  if (ms_path_expand(path, expanded, sizeof expanded) != 0) {
    ms_log_error("MEMSHIM_LOG=%s: path too long; logging to stderr", path);
    return;
  }
  int fd = open(expanded, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    ms_log_error("MEMSHIM_LOG=%s: %s; logging to stderr", expanded, strerror(errno));
    return;
  }
  if (ms_log_fd > 2) close(ms_log_fd);
  ms_log_fd = fd;
}

void ms_log_init(void) {
  ms_start_time();
  ms_log_lvl = (int)ms_opt_u64(MS_OPT_VERBOSE);
  ms_log_open();
}

void ms_log_after_fork_child(void) {
  if (strstr(ms_opt_str(MS_OPT_LOG), "%p")) ms_log_open();
}

int ms_log_level(void) { return ms_log_lvl; }

void ms_vlog(int level, const char *fmt, va_list ap) {
  if (level > ms_log_lvl) return;
  ms_guard_enter();
  char line[1024];
  int n = snprintf(line, sizeof line, "memshim[%d]: ", (int)getpid());
  int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  if (m < 0) m = 0;
  n += m;
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w = write(ms_log_fd, line, (size_t)n);
  (void)w;
  ms_guard_leave();
}

void ms_log(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ms_vlog(level, fmt, ap);
  va_end(ap);
}
