/* The GNU build id of an ELF file (its NT_GNU_BUILD_ID note), read with raw system calls: what
 * lets pprof and other offline symbolizers match a module path to the exact binary. */
#ifndef MEMSHIM_BUILDID_H
#define MEMSHIM_BUILDID_H

#include <stddef.h>

/* Lowercase hex into buf (NUL-terminated); 0, or -1 when the file has none or cannot be read. */
int ms_elf_build_id(const char *path, char *buf, size_t len);

#endif
