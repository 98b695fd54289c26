/* Symbols of objects the dynamic loader has already mapped, looked up in their own dynamic
 * symbol tables: no dlsym, no allocation, no file access. For the few places that need another
 * library's definition of a name memshim itself exports (glibc's __libc_malloc, malloc_trim,
 * mallinfo2; jemalloc's malloc) before or without the loader's help. Also where a loaded object's
 * code lies (the profiler's own text, the interpreter's, the C library's). */
#ifndef MEMSHIM_UTIL_ELF_SYM_H
#define MEMSHIM_UTIL_ELF_SYM_H

#include <stdbool.h>
#include <stdint.h>

/* Address of the default version of `name` defined in the loaded object whose path ends in
 * `soname` (e.g. "libc.so.6"), or NULL. */
void *ms_elf_loaded_sym(const char *soname, const char *name);
/* The same symbol's extent [*lo, *hi) (its ELF size); false (and 0, 0) when it is not found. */
bool ms_elf_loaded_sym_range(const char *soname, const char *name, uintptr_t *lo, uintptr_t *hi);

/* The executable segment [*lo, *hi) of the loaded object that holds address `probe`. False (and
 * *lo = *hi = 0) when no such segment is loaded. */
bool ms_elf_text_range(uintptr_t probe, uintptr_t *lo, uintptr_t *hi);

#endif
