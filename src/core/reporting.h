/* Report triggers and files (reporting.c): the core decides when a report is taken (exit, the
 * report signal, MEMSHIM_REPORT_INTERVAL), asks the collectors to fill a snapshot and hands it
 * to the writers. */
#ifndef MEMSHIM_CORE_REPORTING_H
#define MEMSHIM_CORE_REPORTING_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/job.h"

/* Constructor, after ms_profile_init: when profiling or MEMSHIM_REPORT is set, the timeline's
 * clock and the signal handler; init.c's job table then schedules the report jobs. */
void ms_reporting_init(void);
/* Reports are written by this process (its jobs need the monitor thread). */
bool ms_reporting_active(void);
/* ... and MEMSHIM_REPORT_INTERVAL is set. */
bool ms_reporting_interval_on(void);
/* The jobs: signal and API requests, leak and GPU triggers (report_triggers, every
 * MEMSHIM_SNAPSHOT_INTERVAL), and the periodic report (report_interval). */
ms_job_next ms_report_trigger_job(uint64_t now_ms);
ms_job_next ms_report_interval_job(uint64_t now_ms);
/* Take a report of this process now and write the configured formats. reason: "exit",
 * "signal", "interval", "api". Serialised; logs failures, never fatal. Returns true when the
 * leak verdict is "fail". */
bool ms_report_now(const char *reason);
/* The JSON report of this process now, written to path from the calling thread (the public
 * memshim_report_json): path created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, never replaced;
 * removed again when writing fails. Written whatever MEMSHIM_REPORT says. Caller holds the
 * recursion guard. Returns 0, or the errno of the failure (EEXIST, ENOMEM, ...). */
int ms_report_json_to(const char *path, const char *reason);
/* "function (module+0xoffset)" of each stack-table site's innermost frame, for log lines (src/gpu's
 * threshold and out-of-memory lines); serialised with reports (the symbolizer is not thread-safe). */
void ms_report_describe_sites(const uint32_t *ids, unsigned n, char (*out)[160]);
/* The exit report, once, in the owning process (steps of init.c's exit sequence). last: from
 * the destructor; under MEMSHIM_LEAK_SCAN the report waits for it (before: the monitor stops). */
void ms_reporting_exit(bool last);
/* The exit report's leak check failed (with MEMSHIM_LEAK_CHECK_EXIT on): the sequence's last step
 * turns exit status 0 into 1. */
bool ms_reporting_exit_failed(void);
void ms_reporting_atfork_prepare(void);
void ms_reporting_atfork_parent(void);
void ms_reporting_atfork_child(void);

/* The memory cgroup's part of a report or the metrics (policy/container.c), false (out zeroed)
 * while none was found. */
struct ms_snap_container;
bool ms_report_container(struct ms_snap_container *out);

/* Report files this process could not create or write (counted; said at MEMSHIM_VERBOSE=1 for the
 * default directory). */
unsigned long ms_report_write_errors(void);

#endif
