/* Symbols of objects the dynamic loader has already mapped, looked up in their own dynamic
 * symbol tables: no dlsym, no allocation, no file access. For the few places that need another
 * library's definition of a name memshim itself exports (glibc's __libc_malloc, malloc_trim,
 * mallinfo2; jemalloc's malloc) before or without the loader's help. */
#ifndef MEMSHIM_UTIL_ELF_SYM_H
#define MEMSHIM_UTIL_ELF_SYM_H

/* Address of the default version of `name` defined in the loaded object whose path ends in
 * `soname` (e.g. "libc.so.6"), or NULL. */
void *ms_elf_loaded_sym(const char *soname, const char *name);

#endif
