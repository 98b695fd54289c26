/* The stats of memshim_stats_t, each named once: memshim_stat's dotted name (core/api.c) and,
 * where exported, its Prometheus metric (prometheus.c; docs/metrics.md lists them). */
#ifndef MEMSHIM_REPORT_STATS_H
#define MEMSHIM_REPORT_STATS_H

#include <stddef.h>

#include "../../include/memshim.h"

typedef struct {
  const char *name;   /* memshim_stat: "heap.live" */
  size_t offset;      /* in memshim_stats_t; every field is a uint64_t */
  const char *metric; /* "memshim_heap_live_bytes"; NULL = not exported */
  const char *type;   /* "gauge" or "counter" */
  const char *help;   /* the metric's HELP line */
} ms_stat_def;

/* In exposition order: the metrics file lists them as the table does. */
extern const ms_stat_def ms_stat_table[];
extern const size_t ms_stat_count;

#endif
