/* Prometheus textfile writer (see prometheus.h). Runs on the monitor thread or in the destructor,
 * under the recursion guard; nothing here allocates. */
#include "prometheus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../config/options.h"
#include "../core/guard.h"
#include "../core/log.h"
#include "out.h"
#include "../policy/monitor.h"
#include "../profile/leak.h"
#include "../profile/profile.h"
#include "../profile/profile_internal.h"
#include "../util/proc.h"
#include "../core/state.h"
#include "report.h"

/* One row per metric: the exposition is generated from this table, docs/metrics.md lists it. */
typedef struct {
  const char *name;
  const char *type; /* "gauge" or "counter" */
  size_t offset;    /* in memshim_stats_t */
  const char *help;
} ms_metric_def;

#define MS_STAT(field) offsetof(memshim_stats_t, field)
static const ms_metric_def ms_metric_table[] = {
  {"memshim_heap_live_bytes", "gauge", MS_STAT(heap_live), "Heap bytes the program holds (allocated, not freed)."},
  {"memshim_heap_peak_bytes", "gauge", MS_STAT(heap_peak), "Highest heap_live observed."},
  {"memshim_heap_retained_bytes", "gauge", MS_STAT(backend_retained),
   "Heap bytes freed by the program but still resident: what a purge can give back."},
  {"memshim_heap_resident_bytes", "gauge", MS_STAT(backend_resident), "Resident bytes of the heap allocator (0 with the glibc backend)."},
  {"memshim_rss_bytes", "gauge", MS_STAT(rss), "Process resident set size."},
  {"memshim_mmap_tracked_bytes", "gauge", MS_STAT(mmap_tracked), "Bytes of file mappings memshim tracks."},
  {"memshim_mmap_resident_bytes", "gauge", MS_STAT(mmap_resident), "Resident bytes of tracked file mappings, last measured."},
  {"memshim_mmap_dropped_bytes_total", "counter", MS_STAT(mmap_dropped), "File-mapped bytes dropped under MEMSHIM_MMAP_RESIDENT_MAX."},
  {"memshim_purges_total", "counter", MS_STAT(purges), "Heap purges done (policy and memshim_trim)."},
  {"memshim_purge_returned_bytes_total", "counter", MS_STAT(purged_bytes), "Resident bytes heap purges gave back to the OS."},
  {"memshim_alloc_calls_total", "counter", MS_STAT(alloc_calls), "Allocation calls."},
  {"memshim_free_calls_total", "counter", MS_STAT(free_calls), "Free calls with a non-NULL pointer."},
  {"memshim_threads", "gauge", MS_STAT(threads), "Threads that allocated and are still running."},
};

/* Formatting into the caller's fixed buffer (not ms_out, which writes to a file descriptor):
 * the text is complete or marked overflowed, so a partial metrics file is never written. */
typedef struct {
  char *buf;
  size_t len, used;
  int overflow;
} ms_text_buf;

static void ms_text_printf(ms_text_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ms_text_printf(ms_text_buf *o, const char *fmt, ...) {
  if (o->overflow) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->len - o->used) { o->overflow = 1; return; }
  o->used += (size_t)n;
}

/* A label value: backslash, double quote and newline escaped, as the format requires. */
static void ms_escape_label(char *dst, size_t len, const char *src) {
  size_t n = 0;
  for (; *src && n + 3 < len; src++) {
    if (*src == '\\' || *src == '"') { dst[n++] = '\\'; dst[n++] = *src; }
    else if (*src == '\n') { dst[n++] = '\\'; dst[n++] = 'n'; }
    else dst[n++] = *src;
  }
  dst[n] = 0;
}

/* Per device: one HELP/TYPE per metric, one sample per device (label device="N", the CUDA
 * ordinal). NVML figures only where NVML measured them. */
static void ms_prometheus_gpu(ms_text_buf *o, const char *labels, const ms_report_gpu *g) {
  static const struct {
    const char *name, *type, *help;
  } defs[] = {
    {"memshim_gpu_tracked_bytes", "gauge", "Device bytes memshim tracks: live allocations plus pool-reserved."},
    {"memshim_gpu_pool_reserved_bytes", "gauge", "Device bytes freed into stream-ordered pools, not reused or trimmed."},
    {"memshim_gpu_host_pinned_bytes", "gauge", "Host-pinned bytes allocated through CUDA (not VRAM)."},
    {"memshim_gpu_total_bytes", "gauge", "Device memory size (NVML)."},
    {"memshim_gpu_nvml_used_bytes", "gauge", "Device bytes NVML counts for this process."},
    {"memshim_gpu_residual_bytes", "gauge", "NVML's per-process figure minus tracked: context, kernels, libraries' own memory."},
  };
  static const char *const kinds[3] = {"warn", "action", "oom"};
  for (size_t m = 0; m < sizeof defs / sizeof defs[0]; m++) {
    bool header = false;
    for (unsigned i = 0; i < g->ndevices; i++) {
      const ms_report_gpu_device *d = &g->devices[i];
      long long v;
      switch (m) {
        case 0: v = d->tracked_bytes; break;
        case 1: v = d->pool_reserved_bytes; break;
        case 2: v = d->host_pinned_bytes; break;
        case 3: if (!d->total_bytes) continue; v = (long long)d->total_bytes; break;
        case 4: if (!d->nvml_process) continue; v = (long long)d->nvml_used_bytes; break;
        default: if (!d->nvml_process) continue; v = d->residual_bytes; break;
      }
      if (!header) ms_text_printf(o, "# HELP %s %s\n# TYPE %s %s\n", defs[m].name, defs[m].help, defs[m].name, defs[m].type);
      header = true;
      ms_text_printf(o, "%s{%s,device=\"%d\"} %lld\n", defs[m].name, labels, d->index, v);
    }
  }
  ms_text_printf(o, "# HELP memshim_gpu_events_total Threshold crossings (warn, action) and out-of-memory failures per device.\n"
                    "# TYPE memshim_gpu_events_total counter\n");
  for (unsigned i = 0; i < g->ndevices; i++)
    for (int k = 0; k < 3; k++)
      ms_text_printf(o, "memshim_gpu_events_total{%s,device=\"%d\",kind=\"%s\"} %llu\n", labels, g->devices[i].index,
                     kinds[k], (unsigned long long)g->devices[i].events_total[k]);
  char runtime[64];
  ms_escape_label(runtime, sizeof runtime, g->runtime);
  ms_text_printf(o, "# HELP memshim_gpu_tracked_growth_bytes Steady growth of device bytes since the warm-up, summed over call sites.\n"
                    "# TYPE memshim_gpu_tracked_growth_bytes gauge\nmemshim_gpu_tracked_growth_bytes{%s} %lld\n"
                    "# HELP memshim_gpu_info CUDA runtime seen in this process.\n"
                    "# TYPE memshim_gpu_info gauge\nmemshim_gpu_info{%s,runtime=\"%s\",nvml=\"%s\"} 1\n",
                 labels, (long long)g->tracked_growth, labels, runtime, g->nvml ? "true" : "false");
}

int ms_prometheus_format(char *buf, size_t len, const memshim_stats_t *st, const ms_metrics_process *lb,
                         const ms_metrics_leak *leak) {
  ms_text_buf o = {buf, len, 0, 0};
  char program[64];
  ms_escape_label(program, sizeof program, lb->program ? lb->program : "");
  char labels[128];
  snprintf(labels, sizeof labels, "pid=\"%d\",program=\"%s\"", lb->pid, program);
  for (size_t i = 0; i < sizeof ms_metric_table / sizeof ms_metric_table[0]; i++) {
    const ms_metric_def *m = &ms_metric_table[i];
    if (m->offset == MS_STAT(mmap_resident) && !lb->mmap_resident_known) continue; /* no fake 0 */
    uint64_t v;
    memcpy(&v, (const char *)st + m->offset, sizeof v);
    ms_text_printf(&o, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %llu\n", m->name, m->help, m->name, m->type, m->name,
                  labels, (unsigned long long)v);
  }
  if (leak) {
    ms_text_printf(&o, "# HELP memshim_leak_growth_bytes Steady growth of live heap bytes since the warm-up "
                      "(profiler's leak gate, summed over growing call sites).\n"
                      "# TYPE memshim_leak_growth_bytes gauge\nmemshim_leak_growth_bytes{%s} %lld\n"
                      "# HELP memshim_leak_growing_sites Call sites whose live bytes grow steadily since the warm-up.\n"
                      "# TYPE memshim_leak_growing_sites gauge\nmemshim_leak_growing_sites{%s} %u\n",
                  labels, (long long)leak->growth, labels, leak->steady_sites);
  }
  if (lb->gpu) ms_prometheus_gpu(&o, labels, lb->gpu);
  ms_text_printf(&o, "# HELP memshim_info memshim version and heap backend of this process.\n"
                    "# TYPE memshim_info gauge\nmemshim_info{%s,version=\"%s\",backend=\"%s\"} 1\n",
                labels, memshim_version(), memshim_backend());
  if (o.overflow) return -1;
  return (int)o.used;
}

/* The profiler's growth analysis over its snapshots (the same the exit report uses). Returns 0
 * when there is no verdict yet: profiling off, or too few snapshots after the warm-up. */
static int ms_metrics_leak_read(ms_metrics_leak *out) {
  if (!ms_profile_active) return 0;
  ms_leak_result res;
  ms_leak_store_analyze(ms_leak_warmup_end(ms_profile_now_ms()), ms_profile_sample_bytes(), NULL, 0, &res);
  if (!res.checked) return 0;
  out->growth = res.growth;
  out->steady_sites = res.nsteady;
  return 1;
}

int ms_metrics_write_file(const char *path) {
  memshim_stats_t st;
  memshim_stats(&st, sizeof st);
  char program[32];
  ms_proc_comm(program, sizeof program);
  ms_metrics_process lb = {(int)getpid(), program,
                           ms_opt_u64(MS_OPT_MMAP_RESIDENT_MAX) != 0 || ms_opt_u64(MS_OPT_RSS_SOFT_LIMIT) != 0, NULL};
  ms_metrics_leak leak;
  int has_leak = ms_metrics_leak_read(&leak);
  const ms_report_gpu_source *gpu = ms_report_gpu_source_get();
  uint64_t now = ms_profile_now_ms();
  ms_report_gpu *g = gpu ? gpu->collect(now, now, ms_in_exit()) : NULL;
  lb.gpu = g;
  char text[16384];
  int n = ms_prometheus_format(text, sizeof text, &st, &lb, has_leak ? &leak : NULL);
  if (g) gpu->release(g);
  if (n < 0) { errno = ENOBUFS; return -1; }
  /* The temporary name does not end in .prom, so the textfile collector never reads it half
   * written; rename() within one directory replaces the old file atomically. */
  char tmp[MS_PATH_MAX + 64];
  if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
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
    if (!ms_metrics_failed++) ms_log_error("MEMSHIM_METRICS_FILE=%s: path too long; no metrics", tmpl);
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

static void ms_metrics_job(uint64_t now_ms) {
  (void)now_ms;
  ms_metrics_write_now();
}

void ms_metrics_init(void) {
  if (!*ms_opt_str(MS_OPT_METRICS_FILE)) return;
  if (ms_monitor_add_job("metrics", ms_opt_u64(MS_OPT_METRICS_INTERVAL), ms_metrics_job) != 0)
    ms_log_error("metrics: no monitor job slot left; the metrics file is written at exit only");
}

void ms_metrics_at_exit(void) { ms_metrics_write_now(); }
