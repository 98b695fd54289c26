/* Driver modules and memshim's own driver calls (see driver.h). */
#include "driver.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dl.h"

typedef int (*ms_gpa4_fn)(const char *, void **, int, uint64_t);
typedef int (*ms_gpa5_fn)(const char *, void **, int, uint64_t, int *);
typedef int (*ms_ctx_get_device_fn)(int *);
typedef int (*ms_device_get_uuid_fn)(unsigned char *, int);

#define MS_DRIVERS_MAX 4
static pthread_mutex_t ms_drivers_mu = PTHREAD_MUTEX_INITIALIZER;
static ms_cu_driver ms_drivers[MS_DRIVERS_MAX];
static unsigned ms_ndrivers; /* published with release after the entry is complete */
static ms_ctx_get_device_fn ms_ctx_get_device;
static ms_device_get_uuid_fn ms_device_get_uuid;

const ms_cu_driver *ms_cu_driver_of(const void *fn) {
  Dl_info info;
  if (!fn || !dladdr(fn, &info) || !info.dli_fbase) return NULL;
  uintptr_t base = (uintptr_t)info.dli_fbase;
  unsigned n = __atomic_load_n(&ms_ndrivers, __ATOMIC_ACQUIRE);
  for (unsigned i = 0; i < n; i++)
    if (ms_drivers[i].base == base) return &ms_drivers[i];
  pthread_mutex_lock(&ms_drivers_mu);
  const ms_cu_driver *found = NULL;
  for (unsigned i = 0; i < ms_ndrivers && !found; i++)
    if (ms_drivers[i].base == base) found = &ms_drivers[i];
  if (!found && ms_ndrivers < MS_DRIVERS_MAX && info.dli_fname && *info.dli_fname) {
    void *h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    ms_cu_driver d = {base, NULL, NULL, h};
    if (h) {
      d.gpa4 = ms_dl_sym(h, "cuGetProcAddress");
      d.gpa5 = ms_dl_sym(h, "cuGetProcAddress_v2");
    }
    /* The handle may be another library that happens to see the driver's symbols through its
     * dependencies: only a module that defines cuGetProcAddress itself is a driver. */
    Dl_info own;
    void *g = d.gpa5 ? d.gpa5 : d.gpa4;
    if (g && dladdr(g, &own) && (uintptr_t)own.dli_fbase == base) {
      ms_drivers[ms_ndrivers] = d;
      found = &ms_drivers[ms_ndrivers];
      __atomic_store_n(&ms_ndrivers, ms_ndrivers + 1, __ATOMIC_RELEASE);
    } else if (h) {
      dlclose(h);
    }
  }
  pthread_mutex_unlock(&ms_drivers_mu);
  return found;
}

const ms_cu_driver *ms_cu_driver_main(void) {
  return __atomic_load_n(&ms_ndrivers, __ATOMIC_ACQUIRE) ? &ms_drivers[0] : NULL;
}

void *ms_cu_driver_query(const ms_cu_driver *d, const char *symbol, int version, uint64_t flags) {
  void *p = NULL;
  int status = 0;
  if (d->gpa5) {
    if (((ms_gpa5_fn)d->gpa5)(symbol, &p, version, flags, &status) != 0) p = NULL;
  } else if (d->gpa4) {
    if (((ms_gpa4_fn)d->gpa4)(symbol, &p, version, flags) != 0) p = NULL;
  }
  return p;
}

void *ms_cu_driver_export(const ms_cu_driver *d, const char *name) { return d->handle ? ms_dl_sym(d->handle, name) : NULL; }

/* Asked for at the version of their first ABI (cudaTypedefs.h: PFN_cuCtxGetDevice_v2000,
 * PFN_cuDeviceGetUuid_v9020), so the driver hands out exactly that ABI. */
static void ms_cu_driver_own_calls(void) {
  if (__atomic_load_n(&ms_ctx_get_device, __ATOMIC_ACQUIRE)) return;
  const ms_cu_driver *d = ms_cu_driver_main();
  if (!d) return;
  ms_device_get_uuid_fn u = (ms_device_get_uuid_fn)ms_cu_driver_query(d, "cuDeviceGetUuid", 9020, 0);
  __atomic_store_n(&ms_device_get_uuid, u, __ATOMIC_RELEASE);
  ms_ctx_get_device_fn g = (ms_ctx_get_device_fn)ms_cu_driver_query(d, "cuCtxGetDevice", 2000, 0);
  __atomic_store_n(&ms_ctx_get_device, g, __ATOMIC_RELEASE);
}

int ms_cu_driver_current_device(void) {
  ms_cu_driver_own_calls();
  ms_ctx_get_device_fn g = __atomic_load_n(&ms_ctx_get_device, __ATOMIC_ACQUIRE);
  int dev = -1;
  if (!g || g(&dev) != 0) return -1;
  return dev;
}

bool ms_cu_driver_uuid(int dev, char *buf, unsigned long len) {
  ms_cu_driver_own_calls();
  ms_device_get_uuid_fn u = __atomic_load_n(&ms_device_get_uuid, __ATOMIC_ACQUIRE);
  unsigned char b[16];
  if (!u || u(b, dev) != 0) return false;
  snprintf(buf, len, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
           b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return true;
}

void ms_cu_driver_atfork_child(void) { pthread_mutex_init(&ms_drivers_mu, NULL); }
