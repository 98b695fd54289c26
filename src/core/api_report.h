/* The public API's per-measurement part (api_report.c): a JSON report on demand and a peak
 * since a reset, what a test harness needs (python/pytest_memshim). */
#ifndef MEMSHIM_CORE_API_REPORT_H
#define MEMSHIM_CORE_API_REPORT_H

#include <stdint.h>

/* The calling thread's highest (allocated - freed) bytes since its last memshim_peak_reset
 * (jemalloc's thread.peak.read); 0 with the glibc backend. Caller holds the recursion guard. */
uint64_t ms_api_thread_peak(void);

#endif
