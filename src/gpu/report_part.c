/* The GPU part of a report (ms_gpu_collect) and of the timeline (ms_gpu_timeline_sample): a copy
 * of src/gpu's state into the report model (report/snapshot.h), from the caller's arena. */
#include <string.h>

#include "../profile/collect.h"
#include "../profile/leak.h"
#include "gpu.h"
#include "gpu_internal.h"
#include "pressure.h"

/* NVML's figures of every device used whose figures were read min_age_ms or more before now
 * (min_age_ms 0: all of them; now is then not read). */
static void ms_refresh_used_older(bool keep_if_gone, uint64_t now, uint64_t min_age_ms) {
  for (int dev = 0; dev < MS_GPU_DEVICES; dev++) {
    pthread_mutex_lock(&ms_gpu_mu);
    bool stale = ms_gpu_devs[dev].used && now - ms_gpu_devs[dev].nvml_t_ms >= min_age_ms;
    pthread_mutex_unlock(&ms_gpu_mu);
    if (stale) ms_gpu_nvml_refresh(dev, keep_if_gone);
  }
}

void ms_gpu_refresh_used(bool at_exit) { ms_refresh_used_older(at_exit, 0, 0); }

static ms_snap_mem ms_mem_of(const ms_gpu_ctr *c, int64_t growth) {
  return (ms_snap_mem){.present = c->alloc_count != 0, .live_bytes = c->live, .live_count = c->live_count,
                       .allocated_bytes = c->alloc, .allocated_count = c->alloc_count, .peak_live_bytes = c->peak,
                       .growth_bytes = growth};
}

static const char *const ms_event_kinds[] = {"warn", "action", "oom"};

typedef struct {
  uint32_t id;
  uint8_t api;
  ms_snap_mem device, pinned;
} ms_gpu_site_copy;

int ms_gpu_collect(ms_snapshot *s, ms_arena *a, bool at_exit, bool with_sites) {
  if (!__atomic_load_n(&ms_gpu_seen_flag, __ATOMIC_ACQUIRE)) return 0;
  uint64_t now = ms_gpu_now_ms();
  if (!s->time_ms) s->time_ms = now;
  if (!(at_exit && __atomic_load_n(&ms_gpu_nvml_frozen, __ATOMIC_ACQUIRE))) ms_gpu_refresh_used(at_exit);
  uint64_t warm = ms_leak_warmup_end(now);
  ms_snap_gpu_device *devs = ms_arena_alloc(a, MS_GPU_DEVICES * sizeof *devs);
  ms_gpu_event *ev = ms_arena_alloc(a, MS_GPU_EVENTS * sizeof *ev);
  ms_snap_gpu_event *events = ms_arena_alloc(a, MS_GPU_EVENTS * sizeof *events);
  ms_snap_gpu_holder *holders = ms_arena_alloc(a, MS_GPU_EVENTS * MS_GPU_HOLDERS * sizeof *holders);
  if (!devs || !ev || !events || !holders) return -1;
  ms_snap_gpu *g = &s->gpu;

  pthread_mutex_lock(&ms_gpu_mu);
  uint32_t n;
  const uint32_t *ids = ms_gpu_site_list(&n);
  ms_gpu_site_copy *copy = with_sites && n ? ms_arena_alloc(a, n * sizeof *copy) : NULL;
  if (with_sites && n && !copy) {
    pthread_mutex_unlock(&ms_gpu_mu);
    return -1;
  }
  unsigned nd = 0;
  for (int dev = 0; dev < MS_GPU_DEVICES; dev++) {
    const ms_gpu_dev *d = &ms_gpu_devs[dev];
    if (!d->used) continue;
    int64_t tracked = d->live + d->pool;
    devs[nd] = (ms_snap_gpu_device){
      .index = (uint32_t)dev, .name = ms_arena_strdup(a, d->name), .total_bytes = d->mem_known ? d->total : 0,
      .nvml_used_bytes = d->proc_known ? d->proc_used : 0, .tracked_bytes = tracked > 0 ? (uint64_t)tracked : 0,
      .pool_reserved_bytes = d->pool > 0 ? (uint64_t)d->pool : 0, .host_pinned_bytes = d->pinned > 0 ? (uint64_t)d->pinned : 0,
      .residual_bytes = d->proc_known ? (int64_t)d->proc_used - tracked : 0,
      .nvml_process = d->proc_known ? MS_SNAP_NVML_LISTED : MS_SNAP_NVML_NOT_LISTED};
    memcpy(devs[nd].events_total, d->events_total, sizeof devs[nd].events_total);
    g->nvml |= d->mem_known;
    nd++;
  }
  ms_gpu_snapshot_locked(now, true);
  g->tracked_growth_bytes = ms_gpu_steady_growth_locked(warm);
  s->total_device = ms_mem_of(&ms_gpu_total_device, 0);
  s->total_host_pinned = ms_mem_of(&ms_gpu_total_pinned, 0);
  unsigned ne = ms_gpu_events_copy_locked(ev, MS_GPU_EVENTS);
  for (uint32_t i = 0; copy && i < n; i++) {
    const ms_gpu_site_rec *r = ms_gpu_site_rec_get(ids[i]);
    if (!r) continue;
    copy[i] = (ms_gpu_site_copy){ids[i], r->api, ms_mem_of(&r->device, now >= warm ? ms_gpu_growth_locked(warm, i) : 0),
                                 ms_mem_of(&r->pinned, 0)};
  }
  char runtime[sizeof ms_gpu_runtime];
  memcpy(runtime, ms_gpu_runtime, sizeof runtime);
  pthread_mutex_unlock(&ms_gpu_mu);

  for (unsigned i = 0; i < ne; i++) {
    ms_snap_gpu_holder *h = &holders[i * MS_GPU_HOLDERS];
    for (unsigned k = 0; k < ev[i].nholders; k++) h[k] = (ms_snap_gpu_holder){ev[i].holder_ids[k], ev[i].holder_bytes[k]};
    events[i] = (ms_snap_gpu_event){.t_ms = ev[i].t_ms, .bytes = ev[i].bytes, .kind = ms_event_kinds[ev[i].kind],
                                    .device = (uint32_t)ev[i].device, .top_sites = h, .ntop_sites = ev[i].nholders};
  }
  g->present = true;
  g->runtime = ms_arena_strdup(a, *runtime ? runtime : "driver only");
  g->devices = devs;
  g->ndevices = nd;
  g->events = events;
  g->nevents = ne;
  if (!copy) return 0;
  uint32_t *id_list = ms_arena_alloc(a, n * sizeof *id_list), *index = ms_arena_alloc(a, n * sizeof *index);
  if (!id_list || !index) return -1;
  for (uint32_t i = 0; i < n; i++) id_list[i] = copy[i].id;
  ms_snap_site *sites = ms_profile_sites_for(s, a, id_list, n, index);
  if (!sites) return -1;
  for (uint32_t i = 0; i < n; i++) {
    ms_snap_site *o = &sites[index[i]];
    o->device = copy[i].device;
    o->host_pinned = copy[i].pinned;
    o->device_api = ms_gpu_api_name(copy[i].api);
  }
  return 0;
}

bool ms_gpu_timeline_sample(uint64_t *tracked, uint64_t *used) {
  if (!__atomic_load_n(&ms_gpu_allocated, __ATOMIC_ACQUIRE)) return false;
  uint64_t now = ms_gpu_now_ms();
  ms_refresh_used_older(false, now, 1000);
  *tracked = *used = 0;
  pthread_mutex_lock(&ms_gpu_mu);
  for (int dev = 0; dev < MS_GPU_DEVICES; dev++) {
    const ms_gpu_dev *d = &ms_gpu_devs[dev];
    *tracked += (uint64_t)(d->live + d->pool > 0 ? d->live + d->pool : 0);
    *used += d->proc_known ? d->proc_used : 0;
  }
  ms_gpu_snapshot_locked(now, false); /* the device-growth series gets points while nothing changes too */
  pthread_mutex_unlock(&ms_gpu_mu);
  return true;
}
