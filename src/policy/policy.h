/* Memory-return policy as the core sees it. Implemented in src/policy/. */
#ifndef MEMSHIM_POLICY_H
#define MEMSHIM_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/job.h"

/* Constructor: the memory-return jobs, when configured. */
void ms_policy_init(void);
void ms_policy_at_exit(void);
void ms_policy_atfork_prepare(void);
void ms_policy_atfork_parent(void);
void ms_policy_atfork_child(void);

/* Purge the heap now, count it, and return the resident bytes given back. */
uint64_t ms_policy_purge_now(const char *trigger);
/* The same for glibc's malloc_trim: 1 when memory was released, else 0. */
int ms_policy_trim(const char *trigger);
/* The policy's monitor jobs (core/init.c's job table): the heap's under MEMSHIM_RSS_SOFT_LIMIT
 * (ms_policy_heap_threaded), the file-mapping cap's under MEMSHIM_MMAP_RESIDENT_MAX (ms_mmap_cap_on). */
ms_job_next ms_policy_heap_job(uint64_t now_ms);
/* The heap job as the monitor runs it: while no soft limit is set yet, it looks for the
 * container's limit (MEMSHIM_CONTAINER_SOFT_PCT) first. */
ms_job_next ms_policy_heap_monitor_job(uint64_t now_ms);
/* The heap job is the monitor's (MEMSHIM_RSS_SOFT_LIMIT), or may become so (a container limit
 * not looked for yet). */
bool ms_policy_heap_threaded(void);
ms_job_next ms_policy_mmap_job(uint64_t now_ms);
bool ms_mmap_cap_on(void);
/* Some memory-return feature is on (its jobs exist). */
bool ms_policy_active(void);
/* The heap policy is on (MEMSHIM_RETAINED_MAX or MEMSHIM_IDLE_PURGE) and looks inline; under
 * MEMSHIM_RSS_SOFT_LIMIT it is a monitor job instead (RSS grows without calls). */
bool ms_policy_heap_active(void);
/* The heap policy's look, inline on the calling thread (never under the recursion guard):
 * from the allocation slow path (large_free false: only when the look is due) or the free
 * path (a thread freed 8 MiB more: look now). Returns at once while another thread looks. */
void ms_policy_heap_tick(bool large_free);
/* A policy job has work for the monitor thread now: a file mapping is tracked under a cap, or
 * (soft limit) the heap is large enough to watch. Reads the counters then: call it only when
 * the thread is not running. */
bool ms_policy_wants_thread(void);
/* The last ms_policy_wants_thread said "not yet" only because the process is single-threaded
 * and the mapping cap has no work yet: the caller should ask more often. */
bool ms_policy_thread_waits_for_work(void);

typedef struct {
  uint64_t purges, purged_bytes, heap_peak;
  uint64_t mmap_tracked, mmap_resident, mmap_dropped;
} ms_policy_counters;
void ms_policy_counters_read(ms_policy_counters *out);
/* Note a heap_live observation for the peak. */
void ms_policy_note_live(uint64_t live);

/* Events for the timeline (purges, file-mapping drops, soft-limit crossings), kept in a
 * small ring by the policy; readers poll with the last sequence number they saw. */
typedef enum { MS_EVENT_PURGE = 1, MS_EVENT_MMAP_DROP = 2, MS_EVENT_RSS_LIMIT = 3, MS_EVENT_PRESSURE = 4 } ms_event_kind;
typedef struct {
  uint64_t seq;      /* 1, 2, 3, ... */
  uint64_t t_ms;     /* ms_monitor_now_ms() */
  ms_event_kind kind;
  uint64_t bytes;    /* bytes returned / dropped; RSS at a limit crossing */
  char trigger[24];  /* "retained", "idle", "rss_soft_limit", "memshim_trim", "mmap_cap", "cgroup_usage", "psi" ... */
} ms_policy_event;
/* The ring keeps this many of the latest events. */
#define MS_EVENTS_KEPT 64
/* "purge", "mmap_drop", "rss_limit", "pressure". */
const char *ms_policy_event_kind_name(ms_event_kind k);
/* Copy up to n events with seq > after into out (oldest first); returns how many. */
unsigned ms_policy_events_read(uint64_t after, ms_policy_event *out, unsigned n);

/* The container's memory cgroup (container.c, util/cgroup.c), found once the heap is worth
 * watching. The pressure job (core/init.c's job table) writes a pressure report through the
 * core's hook (reason "pressure") once per crossing of MEMSHIM_PRESSURE_REPORT_PCT. */
typedef bool (*ms_pressure_report_fn)(const char *reason);
void ms_policy_set_pressure_report(ms_pressure_report_fn fn);
ms_job_next ms_policy_pressure_job(uint64_t now_ms);
bool ms_policy_pressure_on(void);
typedef struct {
  int version;            /* 1 or 2 */
  uint64_t limit;         /* bytes, 0 = none */
  const char *limit_file; /* "memory.max", "memory.high", "memory.limit_in_bytes"; NULL with none */
  const char *dir;        /* the cgroup whose limit applies */
  uint64_t usage;         /* its usage, read now */
  bool has_usage, has_psi;
  uint64_t oom_kill;
  bool has_file;
  uint64_t file_bytes;    /* page cache part of usage (memory.stat), read now */
  uint32_t psi_some_avg10, psi_full_avg10; /* hundredths of a percent */
  uint64_t pressure_reports; /* written by this process */
} ms_policy_container;
/* False while no cgroup was found (or not looked for yet). */
bool ms_policy_container_read(ms_policy_container *out);

#endif
