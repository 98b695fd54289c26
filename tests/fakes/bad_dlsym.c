/* A dlsym interposer that forwards with a plain call from C: the mistake memshim's entry point
 * avoids. libc then resolves RTLD_NEXT relative to this library instead of the caller, so another
 * interposer's dlsym(RTLD_NEXT, "open") finds itself. gpu_dlsym.sh runs it to show that its
 * RTLD_NEXT check can fail. */
#include <dlfcn.h>

__attribute__((visibility("default"))) void *dlsym(void *handle, const char *name) {
  static void *(*real)(void *, const char *);
  if (!real) real = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  if (!real) real = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
  void *r = real(handle, name);
  __asm__ volatile("" ::: "memory"); /* a call, not a tail jump */
  return r;
}
