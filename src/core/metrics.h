/* MEMSHIM_METRICS_FILE: Prometheus metrics for node_exporter's textfile collector (metrics.c). */
#ifndef MEMSHIM_CORE_METRICS_H
#define MEMSHIM_CORE_METRICS_H

/* Write the current metrics to path (already expanded) atomically. Returns 0 or -1 (errno set). */
int ms_metrics_write_file(const char *path);
/* Constructor: when MEMSHIM_METRICS_FILE is set, schedule the periodic write. */
void ms_metrics_init(void);
/* Destructor: the final write. */
void ms_metrics_at_exit(void);

#endif
