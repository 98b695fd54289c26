/* Between the files of src/policy/. */
#ifndef MEMSHIM_POLICY_INTERNAL_H
#define MEMSHIM_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"

/* Milliseconds since t0 (CLOCK_MONOTONIC), for the logs. */
static inline double ms_elapsed_ms(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* mmap_cap.c: the file-mapping cap. init reads MEMSHIM_MMAP_RESIDENT_MAX and has file mappings
 * tracked when the cap or the soft limit (soft_limit) acts on them. */
void ms_mmap_cap_init(uint64_t purge_interval_ms, bool soft_limit);
/* A file mapping is tracked under the cap: its job needs the monitor thread. */
bool ms_mmap_cap_wants_thread(void);
bool ms_mmap_cap_waiting(void);
/* Above the RSS soft limit by excess bytes: drop that much of the tracked file pages. */
void ms_mmap_cap_shed(uint64_t excess);
/* A look's decisions (pure). With growth of rate bytes/ms and an estimate of the tracked
 * resident bytes: drop every droppable page unmeasured (fast growth about to pass the cap),
 * measure and drop to three quarters of the cap (at the cap, or the periodic full measure), or
 * nothing. Then the delay to the next look; rate fades and idle_ms backs off while nothing grew. */
typedef enum { MS_MMAP_NONE = 0, MS_MMAP_MEASURE, MS_MMAP_DROP_ALL } ms_mmap_action;
ms_mmap_action ms_mmap_cap_decide(uint64_t rate, uint64_t estimate, uint64_t cap, bool full_due);
uint64_t ms_mmap_next_look(uint64_t *rate, uint64_t *idle_ms, bool grew, uint64_t estimate, uint64_t cap);

/* container.c: the cgroup limit, found once (on the first call from a thread that sees the heap
 * at the watch floor; NULL while another thread looks, or when there is none). */
#define MS_HEAP_WATCH_FLOOR (32ull << 20)
#include "../util/cgroup.h"
void ms_container_init(void);
bool ms_container_wanted(void);
const ms_cgroup *ms_container_find(void);
/* The look is done (whatever it found). */
bool ms_container_looked(void);
bool ms_container_limit(uint64_t *limit);
void ms_container_atfork_child(void);

/* heap_decide.c: a pressure crossing (container.c's job), pure. over: the crossing's state, kept
 * by the caller. Returns MS_PRESSURE_BY_USAGE or MS_PRESSURE_BY_PSI when a crossing starts (usage
 * at pct of limit or more; PSI some avg10 at MS_PSI_STALL or more), -1 when it ends (usage
 * MS_PRESSURE_HYST_PCT points below the mark, or unreadable, and PSI below the stall), else 0. */
#define MS_PSI_STALL 1000      /* hundredths of a percent: 10% of the last 10 s */
#define MS_PRESSURE_HYST_PCT 5 /* a crossing ends this many points below the mark */
enum { MS_PRESSURE_BY_USAGE = 1, MS_PRESSURE_BY_PSI = 2 };
int ms_pressure_decide(bool *over, uint64_t limit, uint64_t pct, const ms_cgroup_state *st);

/* events.c */
void ms_policy_event_push(ms_event_kind kind, uint64_t bytes, const char *trigger);
void ms_policy_events_atfork_prepare(void);
void ms_policy_events_atfork_parent(void);
void ms_policy_events_atfork_child(void);

/* heap_decide.c: when to purge the heap, as a pure function of what the policy saw. */
#define MS_LARGE_FREE_BYTES (1ull << 20) /* heap live fell by this much between looks: "a large free" */
#define MS_PURGE_MIN_BYTES (1ull << 20)  /* idle and soft-limit purges skip less than this */

typedef struct {
  uint64_t retained_max;   /* 0 = off */
  uint64_t idle_ms;        /* 0 = off */
  uint64_t rss_soft_limit; /* 0 = off */
  bool free_stays_counted; /* glibc: free chunks malloc_trim returned stay in the retained figure */
  /* Purge during an unload, not only once it stopped falling: looks come from the freeing
   * threads, and a program that goes quiet after its unload gives no later look. */
  bool purge_while_falling;
} ms_heap_cfg;

typedef struct {
  uint64_t last_live;          /* heap live at the previous look */
  uint64_t last_large_free_ms; /* when live last fell by MS_LARGE_FREE_BYTES or more */
  uint64_t falling_bytes;      /* how far live fell over the current run of large frees */
  uint64_t retained_floor;     /* retained a purge could not return (glibc's free chunks stay counted) */
  bool idle_done;              /* the idle purge ran since the last large free */
  bool over_limit;             /* RSS is above the soft limit */
} ms_heap_state;

typedef struct {
  uint64_t now_ms, live, retained, rss;
} ms_heap_obs;

typedef enum { MS_TRIGGER_NONE = 0, MS_TRIGGER_RETAINED, MS_TRIGGER_IDLE, MS_TRIGGER_RSS, MS_TRIGGER_UNLOAD } ms_heap_trigger;

typedef struct {
  ms_heap_trigger trigger;
  int crossed; /* +1 RSS went above the soft limit, -1 came back below, 0 neither */
} ms_heap_decision;

void ms_heap_state_init(ms_heap_state *st, uint64_t now_ms, uint64_t live);
ms_heap_decision ms_heap_decide(const ms_heap_cfg *cfg, ms_heap_state *st, const ms_heap_obs *obs);
/* After a purge: what it saw and is still counted as retained cannot be returned. */
void ms_heap_after_purge(const ms_heap_cfg *cfg, ms_heap_state *st, uint64_t retained_before,
                         uint64_t retained_after);
/* Something is under way that a later look must finish: an unload still falling, RSS over the
 * soft limit, an idle purge not yet done. */
bool ms_heap_pending(const ms_heap_cfg *cfg, const ms_heap_state *st);
const char *ms_heap_trigger_name(ms_heap_trigger t);

#endif
