/* Prometheus text exposition (see prometheus.h): a formatter only; the file and its schedule are
 * the core's (core/metrics.c). Nothing here allocates. */
#include "prometheus.h"
#include "stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


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

/* Per device: one HELP/TYPE per metric, one sample per device (label device = the CUDA ordinal).
 * NVML's figures only where NVML measured them. */
static void ms_prometheus_gpu(ms_text_buf *o, const char *labels, const ms_snap_gpu *g) {
  static const struct {
    const char *name, *type, *help;
  } defs[] = {
    {"memshim_gpu_tracked_bytes", "gauge", "Device bytes memshim tracks: live allocations plus pool-reserved."},
    {"memshim_gpu_pool_reserved_bytes", "gauge", "Device bytes freed into stream-ordered pools, not reused or trimmed."},
    {"memshim_gpu_host_pinned_bytes", "gauge", "Host-pinned bytes allocated through CUDA (RAM, not VRAM)."},
    {"memshim_gpu_total_bytes", "gauge", "Device memory size (NVML)."},
    {"memshim_gpu_nvml_used_bytes", "gauge", "Device bytes NVML counts for this process."},
    {"memshim_gpu_residual_bytes", "gauge", "NVML's per-process figure minus tracked: context, kernels, libraries' own memory."},
  };
  static const char *const kinds[3] = {"warn", "action", "oom"};
  for (size_t m = 0; m < sizeof defs / sizeof defs[0]; m++) {
    bool header = false;
    for (unsigned i = 0; i < g->ndevices; i++) {
      const ms_snap_gpu_device *d = &g->devices[i];
      long long v;
      switch (m) {
        case 0: v = (long long)d->tracked_bytes; break;
        case 1: v = (long long)d->pool_reserved_bytes; break;
        case 2: v = (long long)d->host_pinned_bytes; break;
        case 3: if (!d->total_bytes) continue; v = (long long)d->total_bytes; break;
        case 4: if (d->nvml_process != MS_SNAP_NVML_LISTED) continue; v = (long long)d->nvml_used_bytes; break;
        default: if (d->nvml_process != MS_SNAP_NVML_LISTED) continue; v = d->residual_bytes; break;
      }
      if (!header) ms_text_printf(o, "# HELP %s %s\n# TYPE %s %s\n", defs[m].name, defs[m].help, defs[m].name, defs[m].type);
      header = true;
      ms_text_printf(o, "%s{%s,device=\"%u\"} %lld\n", defs[m].name, labels, (unsigned)d->index, v);
    }
  }
  ms_text_printf(o, "# HELP memshim_gpu_events_total Threshold crossings (warn, action) and out-of-memory failures.\n"
                    "# TYPE memshim_gpu_events_total counter\n");
  for (unsigned i = 0; i < g->ndevices; i++)
    for (int k = 0; k < 3; k++)
      ms_text_printf(o, "memshim_gpu_events_total{%s,device=\"%u\",kind=\"%s\"} %llu\n", labels,
                     (unsigned)g->devices[i].index, kinds[k], (unsigned long long)g->devices[i].events_total[k]);
  char runtime[64];
  ms_escape_label(runtime, sizeof runtime, g->runtime ? g->runtime : "?");
  ms_text_printf(o, "# HELP memshim_gpu_tracked_growth_bytes Steady growth of device bytes since the warm-up, summed over call sites.\n"
                    "# TYPE memshim_gpu_tracked_growth_bytes gauge\nmemshim_gpu_tracked_growth_bytes{%s} %lld\n"
                    "# HELP memshim_gpu_info CUDA runtime seen in this process.\n"
                    "# TYPE memshim_gpu_info gauge\nmemshim_gpu_info{%s,runtime=\"%s\",nvml=\"%s\"} 1\n",
                 labels, (long long)g->tracked_growth_bytes, labels, runtime, g->nvml ? "true" : "false");
}

/* One metric with one unlabelled-beyond-the-process value: HELP, TYPE and the sample. */
static void ms_prom_u64(ms_text_buf *o, const char *name, const char *type, const char *help, const char *labels,
                        unsigned long long v) {
  ms_text_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %llu\n", name, help, name, type, name, labels, v);
}

int ms_prometheus_format(char *buf, size_t len, const memshim_stats_t *st, const ms_metrics_process *lb,
                         const ms_metrics_leak *leak) {
  ms_text_buf o = {buf, len, 0, 0};
  char program[64];
  ms_escape_label(program, sizeof program, lb->program ? lb->program : "");
  char labels[128];
  snprintf(labels, sizeof labels, "pid=\"%d\",program=\"%s\"", lb->pid, program);
  for (size_t i = 0; i < ms_stat_count; i++) {
    const ms_stat_def *m = &ms_stat_table[i];
    if (!m->metric) continue;
    if (m->offset == offsetof(memshim_stats_t, mmap_resident) && !lb->mmap_resident_known) continue; /* no fake 0 */
    uint64_t v;
    memcpy(&v, (const char *)st + m->offset, sizeof v);
    ms_prom_u64(&o, m->metric, m->type, m->help, labels, v);
  }
  if (leak) {
    ms_text_printf(&o, "# HELP memshim_leak_growth_bytes Steady growth of live heap bytes since the warm-up "
                      "(profiler's leak gate, summed over growing call sites).\n"
                      "# TYPE memshim_leak_growth_bytes gauge\nmemshim_leak_growth_bytes{%s} %lld\n"
                      "# HELP memshim_leak_growing_sites Call sites whose live bytes grow steadily since the warm-up.\n"
                      "# TYPE memshim_leak_growing_sites gauge\nmemshim_leak_growing_sites{%s} %u\n",
                  labels, (long long)leak->growth, labels, leak->steady_sites);
  }
  if (lb->reports)
    ms_prom_u64(&o, "memshim_report_write_errors_total", "counter",
                "Report files this process could not create or write.", labels, lb->report_write_errors);
  const struct ms_snap_container *c = lb->container;
  if (c && c->present) {
    ms_prom_u64(&o, "memshim_container_limit_bytes", "gauge",
                "Memory limit of the process's cgroup (the smallest up to the root; 0 = none).", labels, c->limit_bytes);
    if (c->has_usage) {
      ms_prom_u64(&o, "memshim_container_usage_bytes", "gauge", "Memory charged to that cgroup (page cache included).",
                  labels, c->usage_bytes);
      if (c->limit_bytes)
        ms_prom_u64(&o, "memshim_container_headroom_bytes", "gauge", "Limit minus usage.", labels,
                    c->limit_bytes > c->usage_bytes ? c->limit_bytes - c->usage_bytes : 0);
    }
    ms_prom_u64(&o, "memshim_container_oom_kills_total", "counter", "OOM kills in that cgroup (memory.events oom_kill).",
                labels, c->oom_kill);
    if (c->has_psi)
      ms_text_printf(&o, "# HELP memshim_container_memory_stall_percent PSI some avg10: share of the last 10 s some task stalled on memory.\n"
                        "# TYPE memshim_container_memory_stall_percent gauge\nmemshim_container_memory_stall_percent{%s} %u.%02u\n",
                     labels, c->psi_some_avg10_bp / 100, c->psi_some_avg10_bp % 100);
    ms_prom_u64(&o, "memshim_pressure_reports_total", "counter", "Pressure reports this process wrote.", labels,
                c->pressure_reports);
  }
  if (lb->gpu && lb->gpu->present) ms_prometheus_gpu(&o, labels, lb->gpu);
  ms_text_printf(&o, "# HELP memshim_info memshim version and heap backend of this process.\n"
                    "# TYPE memshim_info gauge\nmemshim_info{%s,version=\"%s\",backend=\"%s\"} 1\n",
                labels, lb->version ? lb->version : "?", lb->backend ? lb->backend : "?");
  if (o.overflow) return -1;
  return (int)o.used;
}

