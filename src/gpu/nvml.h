/* NVML, loaded with dlopen("libnvidia-ml.so.1") the first time GPU figures are needed (never in
 * a process that does not use CUDA). NVML reads device memory without a CUDA context. */
#ifndef MEMSHIM_GPU_NVML_H
#define MEMSHIM_GPU_NVML_H

#include <stdbool.h>
#include <stdint.h>

/* Load and initialise once; false when NVML is absent or does not initialise. */
bool ms_nvml_ready(void);
/* NVML's index of the device with this UUID ("GPU-..."), or -1. */
int ms_nvml_index_by_uuid(const char *uuid);
bool ms_nvml_name(unsigned index, char *buf, unsigned len);
/* Device totals: total bytes and bytes used by all processes. */
bool ms_nvml_memory(unsigned index, uint64_t *total, uint64_t *used);
/* Bytes NVML counts for process `pid` on the device (compute processes).
 * Returns 1 (found), 0 (pid not in NVML's list: another PID namespace, e.g. a container), -1 (error). */
int ms_nvml_process_used(unsigned index, uint32_t pid, uint64_t *used);

#endif
