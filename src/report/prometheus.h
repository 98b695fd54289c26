/* Fleet metrics in the Prometheus text exposition format, for node_exporter's textfile
 * collector: the formatter. core/metrics.c writes MEMSHIM_METRICS_FILE with it. */
#ifndef MEMSHIM_PROMETHEUS_H
#define MEMSHIM_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../include/memshim.h"
#include "snapshot.h"

/* What one exposition needs beyond memshim_stats_t. */
typedef struct {
  int pid;
  const char *program;      /* /proc/self/comm; escaped as a label value */
  bool mmap_resident_known; /* file-mapped residency is measured only with a cap or soft limit */
  const char *version, *backend; /* memshim_info labels */
  const ms_snap_gpu *gpu;        /* per-device GPU metrics when the process used CUDA, else NULL */
  bool reports;                  /* reports are on: memshim_report_write_errors_total is shown */
  unsigned long report_write_errors; /* report files it could not create or write */
  const struct ms_snap_container *container; /* the memory cgroup, once found, else NULL */
} ms_metrics_process;

/* The leak gate's running verdict, when the profiler is on and has snapshots past the warm-up. */
typedef struct {
  int64_t growth;        /* steady growth of live bytes since the warm-up, summed over sites */
  unsigned steady_sites; /* call sites counted in it */
} ms_metrics_leak;

/* Format the exposition into buf (leak NULL: no leak metrics). Returns its length, or -1 when it
 * does not fit. */
int ms_prometheus_format(char *buf, size_t len, const memshim_stats_t *st, const ms_metrics_process *lb,
                         const ms_metrics_leak *leak);

#endif
