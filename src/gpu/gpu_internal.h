/* State shared by the files of src/gpu, all of it defined in track.c (the one file that calls no
 * other of src/gpu). The tables are guarded by ms_gpu_mu. */
#ifndef MEMSHIM_GPU_INTERNAL_H
#define MEMSHIM_GPU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gpu.h"

#define MS_GPU_DEVICES 16 /* CUDA ordinals 0..15; allocations on higher ones count on device 15 */

typedef struct {
  int64_t live, live_count;
  uint64_t alloc, alloc_count, peak;
} ms_gpu_ctr;

typedef struct {
  ms_gpu_ctr device, pinned;
  uint8_t api;    /* label of the latest allocation here */
  uint8_t listed; /* in the list of GPU sites */
} ms_gpu_site_rec;

typedef struct ms_gpu_dev_s {
  bool used;      /* allocated on since start (or the fork) */
  int64_t live;   /* device, managed, pooled and VMM bytes the program holds */
  int64_t pool;   /* bytes freed into stream-ordered pools and not reused or trimmed since */
  int64_t pinned; /* host-pinned bytes allocated while this device was current */
  uint64_t peak;  /* highest live + pool */
  /* NVML, refreshed by pressure.c */
  int nvml_slot;  /* 0: not looked up yet, -1: no NVML device with its UUID, else NVML index + 1 */
  char name[96];
  bool mem_known, proc_known, pid_missing_said;
  uint64_t total, dev_used, proc_used;
  uint64_t nvml_t_ms;     /* when the figures above were read */
  int64_t tracked_at_nvml; /* live + pool when they were read */
  /* thresholds: a crossing fires once, then re-arms below the level minus the hysteresis */
  bool warn_fired, action_fired;
  uint64_t events_total[3]; /* by MS_GPU_EVENT_* kind */
} ms_gpu_dev;

extern pthread_mutex_t ms_gpu_mu;
extern ms_gpu_dev ms_gpu_devs[MS_GPU_DEVICES];
extern ms_gpu_ctr ms_gpu_total_device, ms_gpu_total_pinned;
extern bool ms_gpu_allocated; /* any allocation tracked since start (or the fork) */

/* The core's report writer and site describer (through ms_gpu_hooks), under the guard; whether
 * the core writes reports itself. */
bool ms_gpu_report_now(const char *reason);
void ms_gpu_describe_sites(const uint32_t *ids, unsigned n, char (*out)[160]);
bool ms_gpu_reports_active(void);
/* NVML's figures of every device used (report_part.c); at_exit: keep the last ones of a process
 * NVML no longer lists. */
void ms_gpu_refresh_used(bool at_exit);

extern bool ms_gpu_seen_flag;   /* CUDA was seen */
extern char ms_gpu_runtime[32]; /* "cudart 12.4", "cudart", "static"; "" = driver only */
extern bool ms_gpu_nvml_frozen; /* memshim's exit handler ran: NVML is not called again */

/* Milliseconds since the library started (the reports' clock). */
uint64_t ms_gpu_now_ms(void);
static inline int ms_gpu_dev_index(int dev) { return dev < 0 ? 0 : dev >= MS_GPU_DEVICES ? MS_GPU_DEVICES - 1 : dev; }

/* Site records (locked). */
ms_gpu_site_rec *ms_gpu_site_rec_get(uint32_t id);
/* The sites with GPU memory, in the order they first allocated. */
const uint32_t *ms_gpu_site_list(uint32_t *n);
/* The top `cap` sites by live device bytes (locked): ids and bytes, descending. */
unsigned ms_gpu_top_sites(uint32_t *ids, int64_t *bytes, unsigned cap);

/* Device-growth snapshots (locked): live device bytes of every GPU site, taken on changes at most
 * every MEMSHIM_SNAPSHOT_INTERVAL, and when a report asks (force). */
void ms_gpu_snapshot_locked(uint64_t now_ms, bool force);
/* Per-site growth since warmup_end (live now - live in the first snapshot at or after it) and the
 * steady growth of all sites (the leak gate's method, exact). live_now[i] is for list index i. */
int64_t ms_gpu_growth_locked(uint64_t warmup_end_ms, uint32_t list_index);
int64_t ms_gpu_steady_growth_locked(uint64_t warmup_end_ms);

void ms_gpu_track_reset_locked(void);
void ms_gpu_pressure_reset_locked(void);

#endif
