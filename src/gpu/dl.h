/* The dynamic linker's own lookups, for memshim's use. libmemshim.so exports dlsym and dlvsym
 * (src/interpose/dlsym.c), so a plain call to either from memshim would reach memshim's entry
 * point again. These are libc's functions themselves: dlvsym is found in libc's dynamic symbol
 * table (util/elf_sym.h: no lookup function is needed for that), dlsym then through it, as
 * dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34"), or "GLIBC_2.2.5" on older glibc. */
#ifndef MEMSHIM_GPU_DL_H
#define MEMSHIM_GPU_DL_H

#include "../util/guard.h"

typedef void *(*ms_dlsym_fn)(void *handle, const char *name);
typedef void *(*ms_dlvsym_fn)(void *handle, const char *name, const char *version);

/* Set by ms_dl_resolve; read by the dlsym/dlvsym entry points (a tail jump through them). */
extern MS_HIDDEN ms_dlsym_fn ms_dl_real_dlsym_ptr;
extern MS_HIDDEN ms_dlvsym_fn ms_dl_real_dlvsym_ptr;

/* Find both; idempotent, thread-safe (a race only repeats the same lookups). Never allocates
 * through memshim. Logs once and leaves the pointers NULL when libc's dlvsym cannot be found. */
void ms_dl_resolve(void);

/* libc's dlsym and dlvsym as memshim's own code calls them: lookups relative to memshim
 * (RTLD_NEXT = the objects after libmemshim.so). */
void *ms_dl_sym(void *handle, const char *name);
void *ms_dl_vsym(void *handle, const char *name, const char *version);

/* ms_dl_sym(RTLD_NEXT, name), looked up once into *cache (a static of the caller) and read from
 * there after that. A failed lookup is cached as NULL and so repeated on the next call. */
void *ms_dl_next_cached(void **cache, const char *name);

#endif
