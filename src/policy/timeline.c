/* The timeline (moved here from report/: the policy's monitor records it, reports only write
 * it): process series sampled by a monitor job every MEMSHIM_SNAPSHOT_INTERVAL (RSS, heap live,
 * heap retained, file-mapped resident) in bounded memory — when the buffer is full every other
 * point is dropped and the stride doubles, so a long run keeps an even, coarser picture. Events
 * are not copied: a report reads the policy's own event ring (events.c).
 *
 * The job exists only when reports are written (profiling, or MEMSHIM_REPORT set): the core
 * calls ms_timeline_init then. A process that asked for no report gets no job (and, with no
 * other job, no thread from us). */
#include "timeline.h"

#include <pthread.h>
#include <string.h>

#include "../backend/accounting.h"
#include "../backend/backend.h"
#include "../config/options.h"
#include "../util/log.h"
#include "../util/proc.h"
#include "../util/job.h"
#include "policy.h"

#define MS_TIMELINE_MAX 512

static ms_timeline_gpu_fn ms_tl_gpu; /* src/gpu's series, set by the core */
void ms_timeline_set_gpu(ms_timeline_gpu_fn fn) { __atomic_store_n(&ms_tl_gpu, fn, __ATOMIC_RELEASE); }

static pthread_mutex_t ms_tl_mu = PTHREAD_MUTEX_INITIALIZER;
static ms_snap_point ms_points[MS_TIMELINE_MAX]; /* a report copies them as they are */
static unsigned ms_npoints, ms_tl_stride = 1, ms_tl_ticks;
static uint64_t ms_tl_t0, ms_tl_interval;
ms_job_next ms_timeline_job(uint64_t now_ms) {
  ms_snap_point p = {.t_ms = now_ms > ms_tl_t0 ? now_ms - ms_tl_t0 : 0, .rss = ms_proc_rss()};
  ms_counters c;
  ms_counters_read(&c);
  p.heap_live = c.live_bytes;
  ms_backend_stats st;
  if (ms_be.stats(&st) == 0) p.heap_retained = st.retained;
  ms_policy_counters pc;
  ms_policy_counters_read(&pc);
  p.mmap_resident = pc.mmap_resident;
  ms_timeline_gpu_fn gpu = __atomic_load_n(&ms_tl_gpu, __ATOMIC_ACQUIRE);
  p.has_gpu = gpu && gpu(&p.gpu_tracked, &p.gpu_used);
  pthread_mutex_lock(&ms_tl_mu);
  if (ms_tl_ticks++ % ms_tl_stride == 0) {
    if (ms_npoints == MS_TIMELINE_MAX) { /* keep every other point, double the stride */
      unsigned j = 0;
      for (unsigned i = 0; i < ms_npoints; i += 2) ms_points[j++] = ms_points[i];
      ms_npoints = j;
      ms_tl_stride *= 2;
    }
    ms_points[ms_npoints++] = p;
  }
  pthread_mutex_unlock(&ms_tl_mu);
  return (ms_job_next){ms_tl_interval, true};
}

void ms_timeline_init(void) {
  ms_tl_t0 = ms_monitor_now_ms();
  ms_tl_interval = ms_opt_u64(MS_OPT_SNAPSHOT_INTERVAL);
}

int ms_timeline_collect(ms_snapshot *s, ms_arena *a) {
  s->interval_ms = ms_tl_interval;
  if (!s->time_ms) s->time_ms = ms_monitor_now_ms() - ms_tl_t0; /* no profiler clock */
  ms_snap_point *pts = ms_arena_alloc(a, MS_TIMELINE_MAX * sizeof *pts);
  ms_policy_event *ev = ms_arena_alloc(a, MS_EVENTS_KEPT * sizeof *ev);
  ms_snap_event *out = ms_arena_alloc(a, MS_EVENTS_KEPT * sizeof *out);
  if (!pts || !ev || !out) return -1;
  pthread_mutex_lock(&ms_tl_mu);
  unsigned n = ms_npoints;
  memcpy(pts, ms_points, n * sizeof *pts);
  pthread_mutex_unlock(&ms_tl_mu);
  s->points = pts;
  s->npoints = n;
  /* the ring holds the latest MS_EVENTS_KEPT; those before this process's clock start (a fork
   * child's parent's) are left out */
  unsigned ne = ms_policy_events_read(0, ev, MS_EVENTS_KEPT), k = 0;
  for (unsigned i = 0; i < ne; i++) {
    if (ev[i].t_ms < ms_tl_t0) continue;
    char *trig = ms_arena_alloc(a, sizeof ev[i].trigger + 1);
    if (!trig) return -1;
    memcpy(trig, ev[i].trigger, sizeof ev[i].trigger);
    out[k++] = (ms_snap_event){.t_ms = ev[i].t_ms - ms_tl_t0, .bytes = ev[i].bytes,
                               .kind = ms_policy_event_kind_name(ev[i].kind), .trigger = trig};
  }
  s->events = out;
  s->nevents = k;
  return 0;
}

/* fork child: its own clock and series (the parent's points describe the parent). */
void ms_timeline_atfork_child(void) {
  pthread_mutex_init(&ms_tl_mu, NULL);
  ms_npoints = 0;
  ms_tl_stride = 1;
  ms_tl_ticks = 0;
  ms_tl_t0 = ms_monitor_now_ms();
}
