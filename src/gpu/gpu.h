/* GPU memory tracking as the entry points and the core see it (docs/gpu.md).
 *
 * The CUDA entry points (src/interpose/cuda_*.c) report every device allocation and free here,
 * with the call site already captured. Everything here is a cold path: device allocations are
 * rare (a caching allocator asks the driver for large segments), and each one costs the driver
 * far more than the bookkeeping. Nothing here calls CUDA except the two lookups documented in
 * driver.h, made right after the program's own successful call, on its thread. */
#ifndef MEMSHIM_GPU_H
#define MEMSHIM_GPU_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/arena.h"
#include "../report/snapshot.h"
#include "cuda_functions.h"

/* What an allocation is. */
enum {
  MS_GPU_DEVICE = 0, /* cuMemAlloc, cuMemAllocPitch */
  MS_GPU_MANAGED,    /* cuMemAllocManaged: counted as device memory of the current device */
  MS_GPU_POOLED,     /* cuMemAllocAsync / FromPoolAsync: freed into its pool, not to the driver */
  MS_GPU_PINNED,     /* cuMemAllocHost / cuMemHostAlloc: host memory, its own bucket */
  MS_GPU_VMM,        /* cuMemCreate: physical memory, live until released and unmapped */
};

/* Labels: the call the program made (a runtime name when it came through the runtime), one per
 * allocating row of cuda_functions.h. */
#define MS_GPU_RT_LABEL(id, ...) MS_API_CUDA_##id,
#define MS_GPU_CU_LABEL(id, ...) MS_API_CU_##id,
enum {
  MS_CUDA_RUNTIME_FUNCTIONS(MS_GPU_RT_LABEL, MS_CUDA_NONE)
  MS_CUDA_DRIVER_FUNCTIONS(MS_GPU_CU_LABEL, MS_CUDA_NONE)
  MS_API__COUNT
};
#undef MS_GPU_RT_LABEL
#undef MS_GPU_CU_LABEL
const char *ms_gpu_api_name(int api);

/* What src/gpu needs from the core, handed over by the constructor (src/gpu never includes the
 * core: data flows one way). */
typedef struct {
  bool (*report_now)(const char *reason); /* write a report of this process now */
  bool (*reports_active)(void);           /* the core writes reports itself, exit report included */
  /* "function (module+0xoffset)" of each site's innermost frame, for log lines */
  void (*describe_sites)(const uint32_t *ids, unsigned n, char (*out)[160]);
} ms_gpu_hooks;

/* Constructor (core/init.c), with memshim enabled: reads MEMSHIM_GPU. Until then (and with
 * MEMSHIM_GPU=0) every CUDA call and lookup passes through untouched. */
void ms_gpu_init(const ms_gpu_hooks *hooks);
/* MEMSHIM_GPU, once the constructor ran. */
bool ms_gpu_on(void);
/* CUDA was seen (a driver lookup or a runtime call went through memshim): the reports get a
 * "gpu" section from now on. Cheap after the first call. */
void ms_gpu_seen(void);
/* What the process runs on, for the report: a dynamic runtime and its version (0 = unknown),
 * or a runtime linked statically into `module` (said once in the log). */
void ms_gpu_note_runtime(int version);
void ms_gpu_note_static_runtime(const char *module);

/* The caller's call site (native stack, memshim's own frames removed) interned in the
 * profiler's stack table; initialises the unwinder on first use. 0 when it cannot. */
uint32_t ms_gpu_capture_site(void);

/* Bookkeeping (track.c). ptr/handle 0 is never tracked. */
void ms_gpu_alloc(int kind, int dev, uint64_t ptr, uint64_t size, uint32_t site, int api, uint64_t pool);
/* Forget ptr. to_pool: freed with cuMemFreeAsync (its bytes stay reserved by the pool). */
void ms_gpu_free(uint64_t ptr, bool to_pool);
bool ms_gpu_known(uint64_t ptr);
void ms_gpu_pool_trim(uint64_t pool, uint64_t keep);
void ms_gpu_vmm_create(int dev, uint64_t handle, uint64_t size, uint32_t site, int api);
void ms_gpu_vmm_release(uint64_t handle);
void ms_gpu_vmm_map(uint64_t va, uint64_t size, uint64_t handle);
void ms_gpu_vmm_unmap(uint64_t va, uint64_t size);

/* After a device allocation succeeded (thresholds, on the allocating thread). */
void ms_gpu_after_alloc(int dev);
/* An allocation failed with out-of-memory: event, log line naming the top holders, report.
 * dev < 0: the calling thread's current device. */
void ms_gpu_out_of_memory(int dev, uint64_t size, uint32_t site, int api);

/* What the entry points call when the program's allocation succeeded (gpu.c): ms_gpu_alloc, or
 * ms_gpu_vmm_create for MS_GPU_VMM (ptr is then the handle), then ms_gpu_after_alloc unless the
 * memory is host-pinned. dev < 0: the calling thread's current device (cuCtxGetDevice; device 0
 * when that is unknown, as every dev here is clamped to 0..MS_GPU_DEVICES-1). */
void ms_gpu_record_alloc(int kind, int dev, uint64_t ptr, uint64_t size, uint32_t site, int api, uint64_t pool);

/* A report's GPU part (collect.c), once CUDA was seen (else nothing is filled): the gpu section,
 * device and host-pinned totals and, with sites, the device bytes of every call site that has
 * some (sites the report does not list yet are added). at_exit: NVML figures as of memshim's exit
 * handler. Caller holds the recursion guard and serialises collections. 0, or -1 out of memory. */
int ms_gpu_collect(ms_snapshot *s, ms_arena *a, bool at_exit, bool with_sites);
/* A timeline point's GPU series (device bytes tracked and NVML's per-process figure, summed over
 * devices); false when the process allocated no device memory. NVML is read at most once a second. */
bool ms_gpu_timeline_sample(uint64_t *tracked, uint64_t *used);

/* fork child (core/init.c): CUDA does not survive fork; the child starts with no GPU state. */
void ms_gpu_atfork_child(void);
/* Exit steps (core/init.c's sequence). ms_gpu_exit: from the exit handler armed at the first
 * device allocation, before the CUDA runtime destroys its contexts: NVML's last figures while it
 * still lists the process (later reports take these), then the GPU exit report when the core
 * writes none (profiler off, no MEMSHIM_REPORT). ms_gpu_at_exit: from the destructor, that report
 * from the figures last read if ms_gpu_exit did not write it (a process that skipped the
 * handler). Each report once per process. */
void ms_gpu_exit(void);
void ms_gpu_at_exit(void);

#endif
