/* MEMSHIM_METRICS_FILE: Prometheus metrics for node_exporter's textfile collector (metrics.c). */
#ifndef MEMSHIM_CORE_METRICS_H
#define MEMSHIM_CORE_METRICS_H

/* Write the current metrics to path (already expanded) atomically. Returns 0 or -1 (errno set). */
int ms_metrics_write_file(const char *path);
#include <stdbool.h>

#include "../util/job.h"

/* MEMSHIM_METRICS_FILE is set: ms_metrics_job writes it every MEMSHIM_METRICS_INTERVAL
 * (init.c's job table). */
bool ms_metrics_on(void);
ms_job_next ms_metrics_job(uint64_t now_ms);
/* Destructor: the final write. */
void ms_metrics_at_exit(void);

#endif
