/* The metrics file (moved here from report/prometheus.c: the formatter stays a writer, the
 * schedule is the core's): MEMSHIM_METRICS_FILE written every MEMSHIM_METRICS_INTERVAL by a
 * monitor job and once at exit, atomically (temp file in the same directory + rename), without
 * allocating: formatted into a stack buffer, written with write(2). Runs on the monitor thread
 * or in the destructor, under the recursion guard. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../include/memshim.h"
#include "../config/options.h"
#include "../gpu/gpu.h"
#include "monitor.h"
#include "../profile/collect.h"
#include "../report/out.h"
#include "../report/prometheus.h"
#include "../util/guard.h"
#include "../util/log.h"
#include "../util/sys.h"
#include "../util/proc.h"
#include "reporting.h"
#include "state.h"

int ms_metrics_write_file(const char *path) {
  memshim_stats_t st;
  memshim_stats(&st, sizeof st);
  char program[32];
  ms_proc_comm(program, sizeof program);
  ms_metrics_process lb = {(int)getpid(), program,
                           ms_opt_u64(MS_OPT_MMAP_RESIDENT_MAX) != 0 || ms_opt_u64(MS_OPT_RSS_SOFT_LIMIT) != 0,
                           memshim_version(), memshim_backend(), NULL, ms_reporting_active(),
                           ms_report_write_errors(), NULL};
  struct ms_snap_container container;
  if (ms_report_container(&container)) lb.container = &container;
  ms_metrics_leak leak;
  int has_leak = ms_profile_leak_now(&leak.growth, &leak.steady_sites);
  ms_arena arena; /* the GPU figures, when the process used CUDA */
  ms_arena_init(&arena);
  ms_snapshot gpu;
  memset(&gpu, 0, sizeof gpu);
  if (ms_gpu_collect(&gpu, &arena, ms_in_exit(), false) == 0 && gpu.gpu.present) lb.gpu = &gpu.gpu;
  char text[16384];
  int n = ms_prometheus_format(text, sizeof text, &st, &lb, has_leak ? &leak : NULL);
  ms_arena_release(&arena);
  if (n < 0) { errno = ENOBUFS; return -1; }
  /* The temporary name does not end in .prom, so the textfile collector never reads it half
   * written; rename() within one directory replaces the old file atomically. */
  char tmp[MS_PATH_MAX + 64];
  if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = ms_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return -1;
  int rc = ms_write_full(fd, text, (size_t)n);
  int saved = errno;
  if (close(fd) != 0 && rc == 0) { rc = -1; saved = errno; }
  if (rc == 0 && rename(tmp, path) != 0) { rc = -1; saved = errno; }
  if (rc != 0) unlink(tmp);
  errno = saved;
  return rc;
}

static int ms_metrics_failed; /* log a failing path once, not every interval */

static void ms_metrics_write_now(void) {
  const char *tmpl = ms_opt_str(MS_OPT_METRICS_FILE);
  if (!*tmpl) return;
  char path[MS_PATH_MAX + 32];
  if (ms_path_expand(tmpl, path, sizeof path) != 0) {
    if (!ms_metrics_failed++) ms_log_error("%s=%s: path too long; no metrics", ms_option_env(MS_OPT_METRICS_FILE), tmpl);
    return;
  }
  ms_guard_enter();
  if (ms_metrics_write_file(path) != 0) {
    if (!ms_metrics_failed++) ms_log_error("metrics file %s: %s", path, strerror(errno));
  } else {
    ms_metrics_failed = 0;
  }
  ms_guard_leave();
}

ms_job_next ms_metrics_job(uint64_t now_ms) {
  (void)now_ms;
  ms_metrics_write_now();
  return (ms_job_next){ms_opt_u64(MS_OPT_METRICS_INTERVAL), true};
}

bool ms_metrics_on(void) { return *ms_opt_str(MS_OPT_METRICS_FILE) != 0; }

void ms_metrics_at_exit(void) { ms_metrics_write_now(); }
