/* Device figures from NVML, the thresholds (MEMSHIM_GPU_WARN_PCT, MEMSHIM_GPU_ACTION_PCT), the
 * pressure callbacks and out-of-memory handling. All of it runs on the thread whose allocation
 * just returned from the driver: no thread of memshim's, no CUDA call (NVML reads the figures).
 *
 * A threshold is a share of the device's total memory used by all processes (NVML), checked
 * after each successful device allocation. Crossing it upwards fires once; it fires again only
 * after usage has fallen MS_GPU_REARM_PCT points below it (threshold.c). Between NVML reads (at
 * most one per MS_GPU_NVML_MAX_AGE_MS, and always before a decision) usage is estimated as the
 * last NVML figure plus what memshim saw allocated since. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../include/memshim.h"
#include "../config/options.h"
#include "../util/guard.h"
#include "../util/log.h"
#include "../util/export.h"
#include "driver.h"
#include "gpu_internal.h"
#include "nvml.h"
#include "pressure.h"

#define MS_GPU_CALLBACKS 8

static ms_gpu_event ms_events[MS_GPU_EVENTS];
static unsigned ms_nevents; /* total recorded; the ring keeps the latest MS_GPU_EVENTS */
static uint64_t ms_last_oom_report_ms;
static bool ms_oom_reported, ms_no_nvml_said;

static struct {
  memshim_gpu_pressure_fn fn;
  void *user_data;
} ms_callbacks[MS_GPU_CALLBACKS];
static unsigned ms_ncallbacks;

/* ---- NVML figures per device ---- */

/* Map a CUDA ordinal to NVML's index through the UUID (they differ with CUDA_VISIBLE_DEVICES or
 * CUDA_DEVICE_ORDER), then read totals and this process's figure. Without the lock: NVML and
 * the driver may take a while. */
void ms_gpu_nvml_refresh(int dev, bool keep_if_gone) {
  if (!ms_nvml_ready()) return;
  pthread_mutex_lock(&ms_gpu_mu);
  int slot = ms_gpu_devs[dev].nvml_slot;
  pthread_mutex_unlock(&ms_gpu_mu);
  char name[96] = "";
  if (slot == 0) {
    char uuid[64];
    if (!ms_cu_driver_uuid(dev, uuid, sizeof uuid)) return; /* the driver cannot say yet: ask next time */
    int idx = ms_nvml_index_by_uuid(uuid);
    slot = idx < 0 ? -1 : idx + 1;
    if (idx >= 0) ms_nvml_name((unsigned)idx, name, sizeof name);
    else ms_log_debug("gpu: device %d (%s): no NVML device with this UUID (a MIG instance?); no NVML figures", dev, uuid);
  }
  if (slot < 0) {
    pthread_mutex_lock(&ms_gpu_mu);
    ms_gpu_devs[dev].nvml_slot = -1;
    pthread_mutex_unlock(&ms_gpu_mu);
    return;
  }
  uint64_t total = 0, used = 0, proc = 0;
  bool mem = ms_nvml_memory((unsigned)(slot - 1), &total, &used);
  int found = ms_nvml_process_used((unsigned)(slot - 1), (uint32_t)getpid(), &proc);
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_dev *d = &ms_gpu_devs[dev];
  if (keep_if_gone && found != 1 && d->proc_known) { /* at exit: the runtime may have destroyed its context */
    pthread_mutex_unlock(&ms_gpu_mu);
    return;
  }
  if (d->nvml_slot == 0) {
    d->nvml_slot = slot;
    snprintf(d->name, sizeof d->name, "%s", name);
  }
  d->mem_known = mem;
  if (mem) {
    d->total = total;
    d->dev_used = used;
  }
  if (found == 0 && !d->pid_missing_said) {
    d->pid_missing_said = true;
    ms_log_info("gpu: device %d: NVML lists no process with pid %d (a container's PID namespace?): no per-process "
                "figure and no residual for it", dev, (int)getpid());
  }
  d->proc_known = found == 1;
  d->proc_used = found == 1 ? proc : 0;
  d->nvml_t_ms = ms_gpu_now_ms();
  d->tracked_at_nvml = d->live + d->pool;
  pthread_mutex_unlock(&ms_gpu_mu);
}

/* ---- events ---- */

static void ms_event_record_locked(int kind, int dev, uint64_t bytes) {
  ms_gpu_event *e = &ms_events[ms_nevents++ % MS_GPU_EVENTS];
  memset(e, 0, sizeof *e);
  e->t_ms = ms_gpu_now_ms();
  e->kind = kind;
  e->device = dev;
  e->bytes = bytes;
  e->nholders = ms_gpu_top_sites(e->holder_ids, e->holder_bytes, MS_GPU_HOLDERS);
  ms_gpu_devs[dev].events_total[kind]++;
}

unsigned ms_gpu_events_copy_locked(ms_gpu_event *out, unsigned cap) {
  unsigned have = ms_nevents < MS_GPU_EVENTS ? ms_nevents : MS_GPU_EVENTS;
  unsigned k = have < cap ? have : cap;
  for (unsigned i = 0; i < k; i++) out[i] = ms_events[(ms_nevents - k + i) % MS_GPU_EVENTS];
  return k;
}

static void ms_size_text(char *buf, size_t len, uint64_t v) {
  if (v >= (1ull << 30)) snprintf(buf, len, "%.2f GiB", (double)v / (1ull << 30));
  else snprintf(buf, len, "%.1f MiB", (double)v / (1ull << 20));
}

/* "8.00 GiB in leaky_cache (prog+0x11d5), 1.0 MiB in ..." for the log. */
static void ms_holders_text(char *buf, size_t len, const ms_gpu_event *e) {
  char names[MS_GPU_HOLDERS][160];
  unsigned n = e->nholders < 3 ? e->nholders : 3;
  ms_gpu_describe_sites(e->holder_ids, n, names);
  size_t used = 0;
  buf[0] = 0;
  for (unsigned i = 0; i < n && used < len; i++) {
    char sz[32];
    ms_size_text(sz, sizeof sz, (uint64_t)e->holder_bytes[i]);
    int w = snprintf(buf + used, len - used, "%s%s in %s", i ? "; " : "", sz, names[i]);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (!n) snprintf(buf, len, "(none tracked)");
}

/* ---- thresholds ---- */

static void ms_gpu_fire_action(int dev, uint64_t used, uint64_t total) {
  pthread_mutex_lock(&ms_gpu_mu);
  unsigned n = ms_ncallbacks;
  __typeof__(ms_callbacks[0]) cbs[MS_GPU_CALLBACKS];
  memcpy(cbs, ms_callbacks, sizeof cbs);
  pthread_mutex_unlock(&ms_gpu_mu);
  ms_gpu_report_now("gpu_action");
  /* The program's own code: not under memshim's guard, so what it allocates is its own. */
  for (unsigned i = 0; i < n; i++) cbs[i].fn(dev, used, total, cbs[i].user_data);
}

void ms_gpu_after_alloc(int dev) {
  static MS_TLS int in_check; /* a callback that allocates does not check again */
  uint64_t warn_pct = ms_opt_u64(MS_OPT_GPU_WARN_PCT), action_pct = ms_opt_u64(MS_OPT_GPU_ACTION_PCT);
  if ((!warn_pct && !action_pct) || in_check) return;
  in_check = 1;
  dev = ms_gpu_dev_index(dev);
  if (!ms_nvml_ready()) {
    if (!__atomic_exchange_n(&ms_no_nvml_said, true, __ATOMIC_RELAXED))
      ms_log_info("gpu: NVML is not available: MEMSHIM_GPU_WARN_PCT and MEMSHIM_GPU_ACTION_PCT are not checked");
    in_check = 0;
    return;
  }
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_dev *d = &ms_gpu_devs[dev];
  uint64_t now = ms_gpu_now_ms();
  bool fresh_needed = ms_gpu_needs_fresh(d, now, warn_pct, action_pct);
  pthread_mutex_unlock(&ms_gpu_mu);
  if (fresh_needed) ms_gpu_nvml_refresh(dev, false);
  pthread_mutex_lock(&ms_gpu_mu);
  uint64_t used = ms_gpu_used_estimate(d), total = d->total;
  int warn = d->mem_known ? ms_gpu_threshold_step(&d->warn_fired, used, total, warn_pct) : 0;
  int action = d->mem_known ? ms_gpu_threshold_step(&d->action_fired, used, total, action_pct) : 0;
  ms_gpu_event ev = {0};
  if (warn) {
    ms_event_record_locked(MS_GPU_EVENT_WARN, dev, used);
    ev = ms_events[(ms_nevents - 1) % MS_GPU_EVENTS];
  }
  if (action) ms_event_record_locked(MS_GPU_EVENT_ACTION, dev, used);
  int64_t tracked = d->live + d->pool;
  char name[96];
  snprintf(name, sizeof name, "%s", d->name);
  pthread_mutex_unlock(&ms_gpu_mu);
  if (warn) {
    char u[32], t[32], tr[32], who[640];
    ms_size_text(u, sizeof u, used);
    ms_size_text(t, sizeof t, total);
    ms_size_text(tr, sizeof tr, tracked > 0 ? (uint64_t)tracked : 0);
    ms_holders_text(who, sizeof who, &ev);
    ms_log_error("GPU %d%s%s%s: %s of %s used (%.0f%% >= MEMSHIM_GPU_WARN_PCT=%llu); this process holds %s tracked; "
                 "top call sites: %s",
                 dev, *name ? " (" : "", name, *name ? ")" : "", u, t, total ? 100.0 * (double)used / (double)total : 0.0,
                 (unsigned long long)warn_pct, tr, who);
  }
  if (action) {
    ms_log_error("GPU %d: %.0f%% used >= MEMSHIM_GPU_ACTION_PCT=%llu: writing a report and calling %u pressure callback(s)",
                 dev, total ? 100.0 * (double)used / (double)total : 0.0, (unsigned long long)action_pct, ms_ncallbacks);
    ms_gpu_fire_action(dev, used, total);
  }
  in_check = 0;
}

void ms_gpu_out_of_memory(int dev, uint64_t size, uint32_t site, int api) {
  (void)site;
  if (dev < 0) dev = ms_cu_driver_current_device();
  dev = ms_gpu_dev_index(dev);
  ms_gpu_nvml_refresh(dev, false);
  pthread_mutex_lock(&ms_gpu_mu);
  ms_event_record_locked(MS_GPU_EVENT_OOM, dev, size);
  ms_gpu_event ev = ms_events[(ms_nevents - 1) % MS_GPU_EVENTS];
  const ms_gpu_dev *d = &ms_gpu_devs[dev];
  uint64_t used = d->dev_used, total = d->total;
  bool known = d->mem_known;
  uint64_t now = ms_gpu_now_ms();
  bool write = ms_gpu_oom_report_due(ms_oom_reported, ms_last_oom_report_ms, now);
  if (write) {
    ms_oom_reported = true;
    ms_last_oom_report_ms = now;
  }
  pthread_mutex_unlock(&ms_gpu_mu);
  if (!write) return; /* a retry loop: one line and one report per second */
  char sz[32], u[32], t[32], who[640], state[96] = "";
  ms_size_text(sz, sizeof sz, size);
  if (known) {
    ms_size_text(u, sizeof u, used);
    ms_size_text(t, sizeof t, total);
    snprintf(state, sizeof state, " (%s of %s used)", u, t);
  }
  ms_holders_text(who, sizeof who, &ev);
  ms_log_error("%s of %s on GPU %d failed: out of memory%s; top holders: %s", ms_gpu_api_name(api), sz, dev, state, who);
  ms_gpu_report_now("gpu_oom");
}

void ms_gpu_pressure_reset_locked(void) {
  ms_nevents = 0;
  ms_oom_reported = false;
}

/* ---- public API ---- */

MS_EXPORT int memshim_on_gpu_pressure(memshim_gpu_pressure_fn callback, void *user_data) {
  if (!callback) return -1;
  int rc = -1;
  pthread_mutex_lock(&ms_gpu_mu);
  for (unsigned i = 0; i < ms_ncallbacks; i++)
    if (ms_callbacks[i].fn == callback && ms_callbacks[i].user_data == user_data) rc = 0;
  if (rc != 0 && ms_ncallbacks < MS_GPU_CALLBACKS) {
    ms_callbacks[ms_ncallbacks].fn = callback;
    ms_callbacks[ms_ncallbacks].user_data = user_data;
    ms_ncallbacks++;
    rc = 0;
  }
  pthread_mutex_unlock(&ms_gpu_mu);
  return rc;
}
