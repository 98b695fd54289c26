/* The timeline recorder: a bounded series (thinned, never truncated) and the policy's events. */
#include "timeline_rec.h"

#include <pthread.h>
#include <string.h>

#include "../backend/backend.h"
#include "../core/state.h"
#include "../util/proc.h"
#include "report.h"

#define MS_TIMELINE_MAX 512
#define MS_EVENTS_MAX 256

static pthread_mutex_t ms_tl_mu = PTHREAD_MUTEX_INITIALIZER;
static ms_timeline_point ms_points[MS_TIMELINE_MAX];
static unsigned ms_npoints, ms_tl_stride = 1, ms_tl_ticks;
static ms_policy_event ms_events[MS_EVENTS_MAX];
static unsigned ms_nevents; /* total seen; the ring keeps the latest MS_EVENTS_MAX */
static uint64_t ms_events_seq;


void ms_timeline_reset(void) {
  pthread_mutex_lock(&ms_tl_mu);
  ms_npoints = 0;
  ms_tl_stride = 1;
  ms_tl_ticks = 0;
  ms_nevents = 0;
  pthread_mutex_unlock(&ms_tl_mu);
}

void ms_timeline_tick(uint64_t t_ms, uint64_t event_base_ms) {
  ms_timeline_point p = {.t_ms = t_ms, .rss = ms_proc_rss()};
  ms_counters c;
  ms_counters_read(&c);
  p.heap_live = c.live_bytes;
  ms_backend_stats st;
  if (ms_be.stats && ms_be.stats(&st) == 0) p.heap_retained = st.retained;
  ms_policy_counters pc;
  ms_policy_counters_read(&pc);
  p.mmap_resident = pc.mmap_resident;
  const ms_report_gpu_source *gpu = ms_report_gpu_source_get();
  p.has_gpu = gpu && gpu->timeline(&p.gpu_tracked, &p.gpu_used);
  ms_policy_event ev[32];
  unsigned nev = ms_policy_events_read(ms_events_seq, ev, 32);
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
  for (unsigned i = 0; i < nev; i++) {
    ms_policy_event e = ev[i];
    ms_events_seq = e.seq;
    e.t_ms = e.t_ms > event_base_ms ? e.t_ms - event_base_ms : 0;
    ms_events[ms_nevents++ % MS_EVENTS_MAX] = e;
  }
  pthread_mutex_unlock(&ms_tl_mu);
}

unsigned ms_timeline_copy(ms_timeline_point *pts, unsigned cap, ms_policy_event *evs, unsigned ecap,
                          unsigned *nev) {
  pthread_mutex_lock(&ms_tl_mu);
  unsigned n = ms_npoints < cap ? ms_npoints : cap;
  memcpy(pts, ms_points, n * sizeof *pts);
  unsigned have = ms_nevents < MS_EVENTS_MAX ? ms_nevents : MS_EVENTS_MAX;
  unsigned k = have < ecap ? have : ecap;
  unsigned first = ms_nevents - k; /* oldest kept */
  for (unsigned i = 0; i < k; i++) evs[i] = ms_events[(first + i) % MS_EVENTS_MAX];
  *nev = k;
  pthread_mutex_unlock(&ms_tl_mu);
  return n;
}

void ms_timeline_atfork_child(void) { pthread_mutex_init(&ms_tl_mu, NULL); }
