/* Live device memory: which pointer, handle and mapping holds how many bytes for which call
 * site, per device and in pools. One mutex guards it all: device allocations are rare and each
 * costs the driver microseconds to milliseconds, so a lock here is never the bottleneck.
 * Tables live in memory of their own (util/raw_mem.h), never in the profiled heap.
 * This file owns all of src/gpu's state (gpu_internal.h): the other files call it, it calls none
 * of them. */
#include <stdio.h>
#include <string.h>

#include "../config/options.h"
#include "../profile/leak.h"
#include "../profile/profile_internal.h"
#include "../util/chunked.h"
#include "../util/guard.h"
#include "../util/hmap.h"
#include "../util/log.h"
#include "../util/raw_mem.h"
#include "gpu_internal.h"

pthread_mutex_t ms_gpu_mu = PTHREAD_MUTEX_INITIALIZER;
ms_gpu_dev ms_gpu_devs[MS_GPU_DEVICES];
ms_gpu_ctr ms_gpu_total_device, ms_gpu_total_pinned;
bool ms_gpu_allocated;

/* ---- switches, what was seen, the core's hooks, labels ---- */

static bool ms_gpu_enabled;
static ms_gpu_hooks ms_hooks;
bool ms_gpu_seen_flag;
char ms_gpu_runtime[32];
static bool ms_gpu_static_said;
static bool ms_gpu_cudart_noted; /* ms_gpu_runtime starts with "cudart" (it never loses that) */
bool ms_gpu_nvml_frozen;

#define MS_GPU_RT_NAME(id, name, ...) [MS_API_CUDA_##id] = #name,
#define MS_GPU_CU_NAME(id, name, ...) [MS_API_CU_##id] = #name,
static const char *const ms_gpu_api_names[MS_API__COUNT] = {
  MS_CUDA_RUNTIME_FUNCTIONS(MS_GPU_RT_NAME, MS_CUDA_NONE)
  MS_CUDA_DRIVER_FUNCTIONS(MS_GPU_CU_NAME, MS_CUDA_NONE)
};

const char *ms_gpu_api_name(int api) {
  return api >= 0 && api < MS_API__COUNT && ms_gpu_api_names[api] ? ms_gpu_api_names[api] : "?";
}

uint64_t ms_gpu_now_ms(void) { return ms_profile_now_ms(); }

void ms_gpu_init(const ms_gpu_hooks *hooks) {
  ms_hooks = *hooks;
  __atomic_store_n(&ms_gpu_enabled, ms_opt_bool(MS_OPT_GPU), __ATOMIC_RELEASE);
}

bool ms_gpu_on(void) { return __atomic_load_n(&ms_gpu_enabled, __ATOMIC_ACQUIRE); }

bool ms_gpu_reports_active(void) { return ms_hooks.reports_active && ms_hooks.reports_active(); }

bool ms_gpu_report_now(const char *reason) {
  if (!ms_hooks.report_now) return false;
  ms_guard_enter();
  bool r = ms_hooks.report_now(reason);
  ms_guard_leave();
  return r;
}

void ms_gpu_describe_sites(const uint32_t *ids, unsigned n, char (*out)[160]) {
  for (unsigned i = 0; i < n; i++) snprintf(out[i], sizeof out[i], "site %u", ids[i]);
  if (!ms_hooks.describe_sites) return;
  ms_guard_enter();
  ms_hooks.describe_sites(ids, n, out);
  ms_guard_leave();
}

void ms_gpu_seen(void) {
  if (ms_likely(__atomic_load_n(&ms_gpu_seen_flag, __ATOMIC_ACQUIRE))) return;
  __atomic_store_n(&ms_gpu_seen_flag, true, __ATOMIC_RELEASE);
}

/* Called with version 0 on every runtime allocation and driver entry point lookup: once the
 * runtime is known to be a dynamic libcudart, such a call changes nothing and returns without
 * the lock. */
void ms_gpu_note_runtime(int version) {
  if (version == 0 && ms_likely(__atomic_load_n(&ms_gpu_cudart_noted, __ATOMIC_ACQUIRE))) return;
  pthread_mutex_lock(&ms_gpu_mu);
  if (version > 0 && strncmp(ms_gpu_runtime, "cudart ", 7) != 0)
    snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "cudart %d.%d", version / 1000, version % 1000 / 10);
  else if (!*ms_gpu_runtime || !strcmp(ms_gpu_runtime, "static"))
    snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "cudart");
  __atomic_store_n(&ms_gpu_cudart_noted, true, __ATOMIC_RELEASE); /* both branches leave "cudart..." */
  pthread_mutex_unlock(&ms_gpu_mu);
}

void ms_gpu_note_static_runtime(const char *module) {
  pthread_mutex_lock(&ms_gpu_mu);
  bool say = !ms_gpu_static_said;
  ms_gpu_static_said = true;
  if (strncmp(ms_gpu_runtime, "cudart", 6) != 0) snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "static");
  pthread_mutex_unlock(&ms_gpu_mu);
  if (say)
    ms_log_info("gpu: the CUDA runtime is linked statically into %s: its cudaMalloc & co. are not seen, the driver "
                "calls beneath them are; call sites are labelled with driver names",
                module && *module ? module : "the program");
}

/* ---- maps keyed by a non-zero uint64, each entry's first field (util/hmap.h) ---- */

typedef struct {
  uint64_t ptr, size, pool;
  uint32_t site;
  uint8_t dev, kind, api, pad;
} ms_gpu_block;

typedef struct {
  uint64_t handle, size;
  uint32_t site, maps;
  uint8_t dev, api, released, pad;
} ms_gpu_handle;

typedef struct {
  uint64_t va, size, handle;
} ms_gpu_mapping;

static inline uint32_t ms_gmap_home(uint64_t k) { return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32); }
#define MS_GMAP_KEY(e) (*(const uint64_t *)(e))
#define MS_GMAP_EMPTY(e) (MS_GMAP_KEY(e) == 0)
#define MS_GMAP_HOME(e) ms_gmap_home(MS_GMAP_KEY(e))
#define MS_GMAP_EQ(e, k) (MS_GMAP_KEY(e) == (k))
/* A map per entry type. pfx_add: the slot for k (zeroed but for its key when new), NULL when out
 * of memory; an existing entry is returned as is. */
#define MS_GMAP_DEFINE(pfx, entry_t)                                                                         \
  MS_HMAP_DEFINE(pfx, entry_t, uint64_t, MS_GMAP_EMPTY, MS_GMAP_HOME, ms_gmap_home, MS_GMAP_EQ, MS_HMAP_COPY,  \
                 MS_HMAP_ZERO)                                                                               \
  static entry_t *pfx##_add(pfx##_map *m, uint64_t k) {                                                      \
    if (pfx##_needs_room(m) && pfx##_grow(m, 256, ms_raw_alloc, ms_raw_free) != 0) return NULL;              \
    entry_t *e = pfx##_put(m, k);                                                                            \
    if (MS_GMAP_EMPTY(e)) {                                                                                  \
      memcpy(e, &k, sizeof k);                                                                               \
      pfx##_claim(m, e);                                                                                     \
    }                                                                                                        \
    return e;                                                                                                \
  }
MS_GMAP_DEFINE(ms_gblk, ms_gpu_block)
MS_GMAP_DEFINE(ms_ghdl, ms_gpu_handle)
MS_GMAP_DEFINE(ms_gmapping, ms_gpu_mapping)

static ms_gblk_map ms_blocks;
static ms_ghdl_map ms_handles;
static ms_gmapping_map ms_mappings;

/* ---- stream-ordered pools: bytes freed into a pool stay reserved until reused or trimmed ---- */

#define MS_GPU_POOLS 32
typedef struct {
  uint64_t pool; /* CUmemoryPool handle; 0 = the device's current pool (cuMemAllocAsync) */
  int dev;
  int64_t reserved;
  bool used;
} ms_gpu_pool;
static ms_gpu_pool ms_pools[MS_GPU_POOLS];

static ms_gpu_pool *ms_pool_get(uint64_t pool, int dev) {
  ms_gpu_pool *free_slot = NULL;
  for (unsigned i = 0; i < MS_GPU_POOLS; i++) {
    if (ms_pools[i].used && ms_pools[i].pool == pool && ms_pools[i].dev == dev) return &ms_pools[i];
    if (!ms_pools[i].used && !free_slot) free_slot = &ms_pools[i];
  }
  if (free_slot) *free_slot = (ms_gpu_pool){pool, dev, 0, true};
  return free_slot; /* NULL: more than 32 pools; their reserve is not shown apart */
}

/* ---- sites ---- */

MS_CHUNKED_DEFINE(ms_gsites, ms_gpu_site_rec, 12, 1024) /* by the profiler's site id: 4096 a chunk, 4M ids */
static ms_gsites_store ms_site_recs;
static uint32_t *ms_site_list;
static uint32_t ms_site_list_n, ms_site_list_cap;

ms_gpu_site_rec *ms_gpu_site_rec_get(uint32_t id) { return ms_gsites_get(&ms_site_recs, id, NULL); }

const uint32_t *ms_gpu_site_list(uint32_t *n) {
  *n = ms_site_list_n;
  return ms_site_list;
}

static void ms_site_list_add(uint32_t id, ms_gpu_site_rec *r) {
  if (r->listed) return;
  if (ms_site_list_n == ms_site_list_cap) {
    uint32_t cap = ms_site_list_cap ? ms_site_list_cap * 2 : 1024;
    uint32_t *l = ms_raw_alloc(cap * sizeof *l);
    if (!l) return;
    if (ms_site_list) memcpy(l, ms_site_list, ms_site_list_n * sizeof *l);
    ms_raw_free(ms_site_list, ms_site_list_cap * sizeof *l);
    ms_site_list = l;
    ms_site_list_cap = cap;
  }
  ms_site_list[ms_site_list_n++] = id;
  r->listed = 1;
}

static void ms_ctr_add(ms_gpu_ctr *c, uint64_t size) {
  c->live += (int64_t)size;
  c->live_count++;
  c->alloc += size;
  c->alloc_count++;
  if (c->live > 0 && (uint64_t)c->live > c->peak) c->peak = (uint64_t)c->live;
}
static void ms_ctr_sub(ms_gpu_ctr *c, uint64_t size) {
  c->live -= (int64_t)size;
  c->live_count--;
}

static void ms_account(uint32_t site, int kind, int api, int dev, uint64_t size, bool add) {
  ms_gpu_site_rec *r = ms_gpu_site_rec_get(site);
  ms_gpu_dev *d = &ms_gpu_devs[dev];
  bool pinned = kind == MS_GPU_PINNED;
  if (r) {
    if (add) {
      ms_ctr_add(pinned ? &r->pinned : &r->device, size);
      r->api = (uint8_t)api;
      ms_site_list_add(site, r);
    } else {
      ms_ctr_sub(pinned ? &r->pinned : &r->device, size);
    }
  }
  if (add) ms_ctr_add(pinned ? &ms_gpu_total_pinned : &ms_gpu_total_device, size);
  else ms_ctr_sub(pinned ? &ms_gpu_total_pinned : &ms_gpu_total_device, size);
  if (pinned) {
    d->pinned += add ? (int64_t)size : -(int64_t)size;
  } else {
    d->live += add ? (int64_t)size : -(int64_t)size;
    int64_t tracked = d->live + d->pool;
    if (tracked > 0 && (uint64_t)tracked > d->peak) d->peak = (uint64_t)tracked;
  }
  if (add) {
    d->used = true;
    ms_gpu_allocated = true;
  }
}

static void ms_block_forget_locked(ms_gpu_block *b, bool to_pool) {
  ms_account(b->site, b->kind, b->api, b->dev, b->size, false);
  if (to_pool && b->kind == MS_GPU_POOLED) {
    ms_gpu_pool *p = ms_pool_get(b->pool, b->dev);
    if (p) {
      p->reserved += (int64_t)b->size;
      ms_gpu_devs[b->dev].pool += (int64_t)b->size;
    }
  }
  ms_gblk_del(&ms_blocks, b);
}

void ms_gpu_alloc(int kind, int dev, uint64_t ptr, uint64_t size, uint32_t site, int api, uint64_t pool) {
  if (!ptr) return;
  dev = ms_gpu_dev_index(dev);
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_block *old = ms_gblk_find(&ms_blocks, ptr);
  if (old) ms_block_forget_locked(old, false); /* its free was not seen */
  if (kind == MS_GPU_POOLED) { /* the pool serves what was freed into it before growing */
    ms_gpu_pool *p = ms_pool_get(pool, dev);
    if (p) {
      int64_t reuse = p->reserved < (int64_t)size ? p->reserved : (int64_t)size;
      if (reuse > 0) {
        p->reserved -= reuse;
        ms_gpu_devs[dev].pool -= reuse;
      }
    }
  }
  ms_gpu_block *b = ms_gblk_add(&ms_blocks, ptr);
  if (b) {
    *b = (ms_gpu_block){ptr, size, pool, site, (uint8_t)dev, (uint8_t)kind, (uint8_t)api, 0};
    ms_account(site, kind, api, dev, size, true);
    ms_gpu_snapshot_locked(ms_gpu_now_ms(), false);
  }
  pthread_mutex_unlock(&ms_gpu_mu);
}

void ms_gpu_free(uint64_t ptr, bool to_pool) {
  if (!ptr) return;
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_block *b = ms_gblk_find(&ms_blocks, ptr);
  if (b) {
    ms_block_forget_locked(b, to_pool);
    ms_gpu_snapshot_locked(ms_gpu_now_ms(), false);
  }
  pthread_mutex_unlock(&ms_gpu_mu);
}

bool ms_gpu_known(uint64_t ptr) {
  pthread_mutex_lock(&ms_gpu_mu);
  bool k = ms_gblk_find(&ms_blocks, ptr) != NULL;
  pthread_mutex_unlock(&ms_gpu_mu);
  return k;
}

/* A pool memshim never saw by its handle (the default pool, asked for with
 * cudaDeviceGetDefaultMemPool) is taken to be the current pool of the devices. */
void ms_gpu_pool_trim(uint64_t pool, uint64_t keep) {
  pthread_mutex_lock(&ms_gpu_mu);
  bool matched = false;
  for (unsigned i = 0; i < MS_GPU_POOLS; i++)
    matched |= ms_pools[i].used && pool && ms_pools[i].pool == pool;
  for (unsigned i = 0; i < MS_GPU_POOLS; i++) {
    ms_gpu_pool *p = &ms_pools[i];
    if (!p->used || (matched ? p->pool != pool : p->pool != 0)) continue;
    if (p->reserved > (int64_t)keep) {
      ms_gpu_devs[p->dev].pool -= p->reserved - (int64_t)keep;
      p->reserved = (int64_t)keep;
    }
  }
  ms_gpu_snapshot_locked(ms_gpu_now_ms(), false);
  pthread_mutex_unlock(&ms_gpu_mu);
}

/* ---- virtual memory management: physical handles and the ranges they back ---- */

static void ms_handle_drop_locked(ms_gpu_handle *h) {
  ms_account(h->site, MS_GPU_VMM, h->api, h->dev, h->size, false);
  ms_ghdl_del(&ms_handles, h);
}

void ms_gpu_vmm_create(int dev, uint64_t handle, uint64_t size, uint32_t site, int api) {
  if (!handle) return;
  dev = ms_gpu_dev_index(dev);
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_handle *old = ms_ghdl_find(&ms_handles, handle);
  if (old) ms_handle_drop_locked(old);
  ms_gpu_handle *h = ms_ghdl_add(&ms_handles, handle);
  if (h) {
    *h = (ms_gpu_handle){handle, size, site, 0, (uint8_t)dev, (uint8_t)api, 0, 0};
    ms_account(site, MS_GPU_VMM, api, dev, size, true);
    ms_gpu_snapshot_locked(ms_gpu_now_ms(), false);
  }
  pthread_mutex_unlock(&ms_gpu_mu);
}

/* Physical memory outlives cuMemRelease while a mapping still uses it (CUDA's rule). */
void ms_gpu_vmm_release(uint64_t handle) {
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_handle *h = ms_ghdl_find(&ms_handles, handle);
  if (h) {
    h->released = 1;
    if (!h->maps) ms_handle_drop_locked(h);
    ms_gpu_snapshot_locked(ms_gpu_now_ms(), false);
  }
  pthread_mutex_unlock(&ms_gpu_mu);
}

void ms_gpu_vmm_map(uint64_t va, uint64_t size, uint64_t handle) {
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_handle *h = ms_ghdl_find(&ms_handles, handle);
  ms_gpu_mapping *m = h ? ms_gmapping_add(&ms_mappings, va) : NULL;
  if (m) {
    if (m->handle) { /* a mapping we did not see go */
      ms_gpu_handle *prev = ms_ghdl_find(&ms_handles, m->handle);
      if (prev && prev->maps) prev->maps--;
    }
    *m = (ms_gpu_mapping){va, size, handle};
    h->maps++;
  }
  pthread_mutex_unlock(&ms_gpu_mu);
}

static void ms_mapping_drop_locked(ms_gpu_mapping *m) {
  ms_gpu_handle *h = ms_ghdl_find(&ms_handles, m->handle);
  ms_gmapping_del(&ms_mappings, m);
  if (h && h->maps && --h->maps == 0 && h->released) ms_handle_drop_locked(h);
}

/* One cuMemUnmap may cover several mappings (PyTorch unmaps a run of segments at once). */
void ms_gpu_vmm_unmap(uint64_t va, uint64_t size) {
  pthread_mutex_lock(&ms_gpu_mu);
  ms_gpu_mapping *m = ms_gmapping_find(&ms_mappings, va);
  if (m && m->size == size) {
    ms_mapping_drop_locked(m);
  } else {
    for (uint32_t i = 0; i < ms_mappings.cap;) {
      ms_gpu_mapping *e = &ms_mappings.slots[i];
      if (e->va && e->va >= va && e->va < va + size) {
        ms_mapping_drop_locked(e); /* backward shift may move another entry into slot i */
        continue;
      }
      i++;
    }
  }
  ms_gpu_snapshot_locked(ms_gpu_now_ms(), false);
  pthread_mutex_unlock(&ms_gpu_mu);
}

/* ---- top sites ---- */

unsigned ms_gpu_top_sites(uint32_t *ids, int64_t *bytes, unsigned cap) {
  unsigned n = 0;
  for (uint32_t i = 0; i < ms_site_list_n; i++) {
    uint32_t id = ms_site_list[i];
    const ms_gpu_site_rec *r = ms_gpu_site_rec_get(id);
    int64_t live = r ? r->device.live : 0;
    if (live <= 0) continue;
    unsigned j;
    if (n < cap) {
      j = n++;
    } else {
      if (live <= bytes[cap - 1]) continue;
      j = cap - 1;
    }
    while (j > 0 && bytes[j - 1] < live) {
      ids[j] = ids[j - 1];
      bytes[j] = bytes[j - 1];
      j--;
    }
    ids[j] = id;
    bytes[j] = live;
  }
  return n;
}

/* ---- growth snapshots ---- */

static ms_live_store ms_growth = MS_LIVE_STORE_INIT; /* values by site list index */
static uint64_t ms_snap_last_ms;
static bool ms_snap_any;

void ms_gpu_snapshot_locked(uint64_t now_ms, bool force) {
  if (!force && ms_snap_any && now_ms - ms_snap_last_ms < ms_opt_u64(MS_OPT_SNAPSHOT_INTERVAL)) return;
  int64_t *live = ms_live_store_add(&ms_growth, now_ms, ms_site_list_n);
  if (!live) return;
  for (uint32_t i = 0; i < ms_site_list_n; i++) {
    const ms_gpu_site_rec *r = ms_gpu_site_rec_get(ms_site_list[i]);
    live[i] = r ? r->device.live : 0;
  }
  ms_snap_last_ms = now_ms;
  ms_snap_any = true;
}

int64_t ms_gpu_growth_locked(uint64_t warmup_end_ms, uint32_t list_index) {
  const ms_gpu_site_rec *r = ms_gpu_site_rec_get(ms_site_list[list_index]);
  int64_t now = r ? r->device.live : 0, then;
  return ms_live_store_at(&ms_growth, warmup_end_ms, list_index, &then) ? now - then : 0;
}

int64_t ms_gpu_steady_growth_locked(uint64_t warmup_end_ms) {
  ms_leak_result res;
  ms_live_store_analyze(&ms_growth, warmup_end_ms, 1, NULL, 0, &res);
  return res.growth;
}

/* fork child: nothing of the parent's device memory exists here. Tables keep their memory. */
void ms_gpu_track_reset_locked(void) {
  ms_gblk_clear(&ms_blocks);
  ms_ghdl_clear(&ms_handles);
  ms_gmapping_clear(&ms_mappings);
  memset(ms_pools, 0, sizeof ms_pools);
  for (uint32_t i = 0; i < ms_site_list_n; i++) {
    ms_gpu_site_rec *r = ms_gpu_site_rec_get(ms_site_list[i]);
    if (r) memset(r, 0, sizeof *r);
  }
  ms_site_list_n = 0;
  ms_live_store_clear(&ms_growth);
  ms_snap_any = false;
  memset(ms_gpu_devs, 0, sizeof ms_gpu_devs);
  memset(&ms_gpu_total_device, 0, sizeof ms_gpu_total_device);
  memset(&ms_gpu_total_pinned, 0, sizeof ms_gpu_total_pinned);
  ms_gpu_allocated = false;
  __atomic_store_n(&ms_gpu_seen_flag, false, __ATOMIC_RELEASE);
  __atomic_store_n(&ms_gpu_nvml_frozen, false, __ATOMIC_RELEASE);
}
