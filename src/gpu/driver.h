/* The CUDA driver library (libcuda.so.1) as memshim sees it: which loaded module is a driver,
 * its own cuGetProcAddress, and the only driver calls memshim makes itself:
 *   - cuGetProcAddress, to learn which ABI an address the program was handed has (no context,
 *     no initialisation needed, nothing allocated);
 *   - cuCtxGetDevice and cuDeviceGetUuid, right after the program's own allocation succeeded on
 *     the same thread, so a context is current and the driver initialised: neither can create a
 *     context (cuCtxGetDevice fails without one). memshim never calls cuInit, cuMemGetInfo or
 *     any runtime function. */
#ifndef MEMSHIM_GPU_DRIVER_H
#define MEMSHIM_GPU_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ms_cu_driver {
  uintptr_t base; /* load address of the module */
  void *gpa4;     /* its cuGetProcAddress (CUDA 11.3 ABI, 4 arguments), or NULL */
  void *gpa5;     /* its cuGetProcAddress_v2 (CUDA 12 ABI, 5 arguments), or NULL */
  void *handle;   /* dlopen handle (RTLD_NOLOAD: keeps it mapped while memshim holds addresses) */
} ms_cu_driver;

/* The driver module holding the code address fn, registered on first sight; NULL when fn is not
 * in a module exporting cuGetProcAddress. */
const ms_cu_driver *ms_cu_driver_of(const void *fn);
/* The first driver registered (the one the program allocates through), or NULL. */
const ms_cu_driver *ms_cu_driver_main(void);
/* d's cuGetProcAddress for symbol/version/flags: the address, or NULL. */
void *ms_cu_driver_query(const ms_cu_driver *d, const char *symbol, int version, uint64_t flags);
/* d's exported symbol `name` (dlsym on its handle), or NULL. */
void *ms_cu_driver_export(const ms_cu_driver *d, const char *name);

/* cuCtxGetDevice on the calling thread: the device ordinal, or -1. */
int ms_cu_driver_current_device(void);
/* cuDeviceGetUuid(dev) formatted as NVML writes it ("GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx").
 * False when unknown. */
bool ms_cu_driver_uuid(int dev, char *buf, unsigned long len);

void ms_cu_driver_atfork_child(void);

#endif
