/* Fleet metrics: MEMSHIM_METRICS_FILE in the Prometheus text exposition format, for
 * node_exporter's textfile collector. Written every MEMSHIM_METRICS_INTERVAL by a monitor job and
 * once at exit, atomically (temp file in the same directory + rename), without allocating:
 * formatted into a stack buffer, written with write(2). */
#ifndef MEMSHIM_PROMETHEUS_H
#define MEMSHIM_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../include/memshim.h"

struct ms_report_gpu;

/* What one exposition needs beyond memshim_stats_t. */
typedef struct {
  int pid;
  const char *program;      /* /proc/self/comm; escaped as a label value */
  bool mmap_resident_known; /* file-mapped residency is measured only with a cap or soft limit */
  const struct ms_report_gpu *gpu; /* GPU figures when the process used CUDA, else NULL */
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

/* Write the current metrics to path (already expanded) atomically. Returns 0 or -1 (errno set). */
int ms_metrics_write_file(const char *path);

/* Constructor: when MEMSHIM_METRICS_FILE is set, schedule the periodic write. */
void ms_metrics_init(void);
/* Destructor: the final write. */
void ms_metrics_at_exit(void);

#endif
