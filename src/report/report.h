/* Reports: a copy of the profiler's state taken without holding its locks while writing
 * (ms_report), and the writers that format it. Files are created by report.c. */
#ifndef MEMSHIM_REPORT_H
#define MEMSHIM_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "../profile/leak.h"
#include "out.h"
#include "timeline.h"

typedef struct {
  uint32_t id, depth;
  const uintptr_t *frames; /* return addresses, innermost first (immutable, owned by the table) */
  int64_t live_bytes, live_count;
  uint64_t alloc_bytes, alloc_count, peak_bytes;
  int64_t growth; /* since the end of the warm-up */
} ms_report_site;

typedef struct {
  const char *reason;
  uint64_t time_ms;
  int pid, ppid;
  char comm[64];
  long start_time;
  const char *backend;
  uint64_t sample_bytes;
  unsigned stack_depth;
  uint32_t sites_count;
  uint64_t sampled_live; /* sampled pointers remembered now */
  uint64_t memory_bytes; /* the profiler's own tables (stack table + pointer map + filter) */
  ms_report_site *sites; /* sorted by live bytes, descending */
  uint32_t nsites;
  int64_t live_bytes, live_count;
  uint64_t alloc_bytes, alloc_count, peak_bytes;
  uint64_t interval_ms;
  ms_timeline_point *points;
  unsigned npoints;
  ms_policy_event *events;
  unsigned nevents;
  ms_leak_result leak;
  ms_leak_site *leak_sites;
  bool has_limit;
  uint64_t limit_bytes;
} ms_report;

/* "pass", "fail" or "none". */
const char *ms_report_verdict(const ms_report *r);
/* Site by id in r->sites, NULL if absent. */
const ms_report_site *ms_report_find_site(const ms_report *r, uint32_t id);

/* The writers; the symbolizer must have been begun (ms_symbolize_begin). */
void ms_report_write_json(const ms_report *r, ms_out *o);
void ms_report_write_text(const ms_report *r, ms_out *o);
void ms_report_write_collapsed(const ms_report *r, ms_out *o);

/* Profiler side: take a report of this process now and write the configured formats.
 * reason: "exit", "signal", "interval", "api". Serialised; logs failures, never fatal.
 * Returns the leak verdict's growth over the limit (true = the gate failed). */
bool ms_report_now(const char *reason);
/* fork child: files already written belong to the parent. */
void ms_report_atfork_child(void);
void ms_report_atfork_prepare(void);
void ms_report_atfork_parent(void);

#endif
