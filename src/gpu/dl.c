/* libc's dlsym and dlvsym (see dl.h). */
#include "dl.h"

#include <dlfcn.h>
#include <stddef.h>

#include "../util/elf_sym.h"
#include "../util/log.h"

ms_dlsym_fn ms_dl_real_dlsym_ptr;
ms_dlvsym_fn ms_dl_real_dlvsym_ptr;

void ms_dl_resolve(void) {
  if (__atomic_load_n(&ms_dl_real_dlsym_ptr, __ATOMIC_ACQUIRE)) return;
  /* glibc 2.34 and later define dlvsym in libc.so.6, older ones in libdl.so.2; every version of
   * it there is the same function. */
  ms_dlvsym_fn vsym = (ms_dlvsym_fn)ms_elf_loaded_sym("libc.so.6", "dlvsym");
  if (!vsym) vsym = (ms_dlvsym_fn)ms_elf_loaded_sym("libdl.so.2", "dlvsym");
  if (!vsym) {
    ms_log_error("cannot find libc's dlvsym: dlsym and dlvsym will fail in this process");
    return;
  }
  __atomic_store_n(&ms_dl_real_dlvsym_ptr, vsym, __ATOMIC_RELEASE);
  /* Called from here, RTLD_NEXT means "after libmemshim.so": libc's own definition. */
  ms_dlsym_fn sym = (ms_dlsym_fn)vsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  if (!sym) sym = (ms_dlsym_fn)vsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
  if (!sym) {
    ms_log_error("cannot find libc's dlsym: dlsym will fail in this process");
    return;
  }
  __atomic_store_n(&ms_dl_real_dlsym_ptr, sym, __ATOMIC_RELEASE);
}

/* noinline: glibc reads the return address of its dlsym to resolve RTLD_NEXT, which must be in
 * memshim when memshim asks. */
__attribute__((noinline)) void *ms_dl_sym(void *handle, const char *name) {
  ms_dl_resolve();
  ms_dlsym_fn f = __atomic_load_n(&ms_dl_real_dlsym_ptr, __ATOMIC_ACQUIRE);
  void *r = f ? f(handle, name) : NULL;
  __asm__ volatile("" ::: "memory"); /* keep the call a call (not a tail jump) */
  return r;
}

__attribute__((noinline)) void *ms_dl_vsym(void *handle, const char *name, const char *version) {
  ms_dl_resolve();
  ms_dlvsym_fn f = __atomic_load_n(&ms_dl_real_dlvsym_ptr, __ATOMIC_ACQUIRE);
  void *r = f ? f(handle, name, version) : NULL;
  __asm__ volatile("" ::: "memory");
  return r;
}

void *ms_dl_next_cached(void **cache, const char *name) {
  void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (!f) {
    f = ms_dl_sym(RTLD_NEXT, name);
    __atomic_store_n(cache, f, __ATOMIC_RELEASE);
  }
  return f;
}
