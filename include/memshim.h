/* memshim: public C API of libmemshim.so.
 *
 * Everything here is callable from C, C++ and Python (ctypes) on the preloaded library:
 *
 *   import ctypes
 *   lib = ctypes.CDLL(None)                    # the process, with libmemshim.so preloaded
 *   v = ctypes.c_uint64()
 *   lib.memshim_stat(b"heap.live", ctypes.byref(v))
 *   lib.memshim_trim()
 */
#ifndef MEMSHIM_H
#define MEMSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMSHIM_VERSION_MAJOR 0
#define MEMSHIM_VERSION_MINOR 1
#define MEMSHIM_VERSION_PATCH 0
#define MEMSHIM_VERSION_STRING "0.1.0"

/* "0.1.0": the version of the library actually loaded. */
const char *memshim_version(void);

/* A snapshot of the process. Fields are appended in later versions, never reordered:
 * callers pass sizeof(memshim_stats_t) and the library fills what both know. */
typedef struct memshim_stats {
  uint64_t heap_live;        /* bytes the program holds (exact: jemalloc's per-thread totals) */
  uint64_t heap_peak;        /* highest heap_live observed (each stats call and each policy tick) */
  uint64_t alloc_calls;      /* allocations: with jemalloc its own request count (blocks it handed
                                out, its thread caches' included; see docs/metrics.md); with the
                                glibc backend every call (malloc, calloc, realloc, new, aligned, ...) */
  uint64_t free_calls;       /* frees: with jemalloc alloc_calls minus the blocks it holds as
                                allocated; with the glibc backend every non-NULL free, delete and realloc */
  uint64_t backend_active;   /* bytes in pages holding live objects */
  uint64_t backend_resident; /* allocator's resident bytes (0 with the glibc backend) */
  uint64_t backend_retained; /* freed but still resident: what a purge can give back */
  uint64_t backend_mapped;   /* bytes mapped by the allocator */
  uint64_t rss;              /* process resident set size (/proc/self/statm) */
  uint64_t purges;           /* purges done (policy and memshim_trim) */
  uint64_t purged_bytes;     /* resident bytes those purges gave back */
  uint64_t mmap_tracked;     /* bytes of file mappings in the registry */
  uint64_t mmap_resident;    /* resident bytes of eligible file mappings, last measured (measured only
                                when MEMSHIM_MMAP_RESIDENT_MAX or MEMSHIM_RSS_SOFT_LIMIT is set) */
  uint64_t mmap_dropped;     /* bytes dropped with MADV_DONTNEED under the cap */
  uint64_t threads;          /* threads that allocated and are still running */
  uint64_t profile_sample_bytes; /* profiler's mean bytes between samples (1 = exact); 0 = profiling off */
  uint64_t thread_peak;      /* calling thread: highest (allocated - freed) bytes since its last
                                memshim_peak_reset or its start (jemalloc's thread.peak, within
                                about 100 KiB); 0 with the glibc backend */
  uint64_t threads_direct;   /* threads whose malloc/free/new/delete go straight to jemalloc (no
                                profiling: see docs/design.md, the hot path) */
} memshim_stats_t;

/* Fill *out (size = sizeof *out as the caller knows it). Returns 0, or -1 on bad arguments. */
int memshim_stats(memshim_stats_t *out, size_t size);

/* One statistic by name, jemalloc-mallctl style: "heap.live", "heap.peak", "calls.alloc",
 * "calls.free", "backend.active", "backend.resident", "backend.retained", "backend.mapped",
 * "rss", "purge.count", "purge.bytes", "mmap.tracked", "mmap.resident", "mmap.dropped",
 * "threads", "threads.direct", "profile.sample_bytes", "heap.thread_peak". Returns 0, or -1 for an
 * unknown name. */
int memshim_stat(const char *name, uint64_t *value);

/* Give freed heap memory back to the OS now (jemalloc purge or malloc_trim).
 * Returns the resident bytes given back (0 when none or unknown). */
uint64_t memshim_trim(void);

/* Write the JSON report of this process (docs/report-format.md, reason "api") to path, now,
 * from the calling thread, with the collectors and writer of every other report. path is
 * created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: an existing file or symlink is never
 * followed nor overwritten. Written whatever MEMSHIM_REPORT says; with profiling off it has the
 * process, the timeline and no heap sites. Returns 0, or -1 with errno set (EEXIST, ENOMEM,
 * EINVAL for a NULL or empty path, ...). For tests and tools (python/pytest_memshim). */
int memshim_report_json(const char *path);

/* Start a peak measurement now: every call site's peak becomes its live bytes (reports list a
 * site's peak since then as sites[].memory.heap.peak_live_bytes, and also list the sites whose
 * peak is above their live bytes), and the calling thread's thread_peak restarts at 0. */
void memshim_peak_reset(void);

/* Backend in use: "jemalloc" or "glibc". */
const char *memshim_backend(void);

/* GPU memory pressure (docs/gpu.md). Called once each time a GPU's used memory (NVML, all
 * processes) crosses MEMSHIM_GPU_ACTION_PCT of its total upwards, after memshim wrote a report:
 * device = CUDA ordinal, used/total in bytes. It runs on the thread whose device allocation
 * crossed the threshold, right after that allocation succeeded, inside the CUDA call the program
 * made (with PyTorch: inside the caching allocator, the same point where it frees its cache
 * itself before retrying a failed allocation). Keep it short; what it frees or allocates is
 * tracked as usual. Registering the same callback and user_data twice is a no-op. Returns 0, or
 * -1 when callback is NULL or 8 callbacks are registered already.
 *
 * A Python server registers torch.cuda.empty_cache in one line (keep `_cb` alive):
 *
 *   import ctypes, torch; _cb = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)(lambda dev, used, total, _: torch.cuda.empty_cache()); ctypes.CDLL(None).memshim_on_gpu_pressure(_cb, None)
 */
typedef void (*memshim_gpu_pressure_fn)(int device, uint64_t used_bytes, uint64_t total_bytes, void *user_data);
int memshim_on_gpu_pressure(memshim_gpu_pressure_fn callback, void *user_data);

#ifdef __cplusplus
}
#endif

#endif
