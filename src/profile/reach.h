/* The reachability scan: at exit, the heap blocks no pointer reaches any more, as LeakSanitizer
 * defines a leak. Exact mode only (every block must be known: a pointer held inside a block
 * that was not recorded would go unseen). docs/profiling.md, "Unreachable at exit".
 *
 * Roots: the writable segments of every loaded module but memshim's own, every thread's stack
 * from its stack pointer up (the other threads are stopped by a signal whose handler leaves
 * their registers on their stacks and waits), each thread's static TLS and thread control
 * block, and glibc's DTV (the dynamic TLS blocks it points to are heap blocks). A block reached
 * from a root is scanned in turn; any aligned word that falls inside a live block reaches it.
 * What stays unreached is leaked: directly, or indirectly when another leaked block points to
 * it. The scan never takes a lock a stopped thread may hold, and reads only memory that
 * /proc/self/maps says is readable. */
#ifndef MEMSHIM_PROFILE_REACH_H
#define MEMSHIM_PROFILE_REACH_H

#include <stdbool.h>
#include <stdint.h>

#include "../report/snapshot.h" /* ms_snap_lost, ms_snap_unreach_site: the report's own counters */

typedef struct {
  bool scanned;        /* the scan ran to the end: the figures below are a verdict */
  const char *why_not; /* when not scanned */
  uint64_t blocks;     /* live blocks looked at */
  ms_snap_lost lost;
  unsigned threads;    /* threads stopped (the scanning thread not counted) */
  const ms_snap_unreach_site *sites; /* sites with unreachable blocks, most direct bytes first */
  unsigned nsites;
} ms_reach_result;

/* True when this process scans at exit (MEMSHIM_LEAK_SCAN on, or native and the process is no
 * Python interpreter). Decided once, at profiler start; the profiler then runs in exact mode. */
bool ms_reach_wanted(void);
void ms_reach_decide(void);
/* Run the scan now (at exit: the caller holds the recursion guard, the monitor is stopped). The
 * result stays valid until the process ends. */
void ms_reach_run(void);
/* The last scan's result, or NULL when none ran. */
const ms_reach_result *ms_reach_last(void);

#endif
