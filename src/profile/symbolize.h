/* Report-time symbolization: which module holds an address, at which offset, and the name of
 * the function there, read from the module's ELF .symtab (so static functions of executables
 * are named) and .dynsym, in memory of its own (symbolize.c); not thread-safe: the
 * report writer serialises its callers. Symbol tables are cached for the life of the process. */
#ifndef MEMSHIM_SYMBOLIZE_H
#define MEMSHIM_SYMBOLIZE_H

#include <stdint.h>

typedef struct {
  const char *function; /* "??" when unknown; valid until the next ms_symbolize_begin */
  const char *module;   /* "[unknown]" when no loaded module holds the address */
  uintptr_t offset;     /* address in the module's ELF address space (for addr2line) */
} ms_symbol;

/* Take a fresh list of loaded modules (call once per report). */
void ms_symbolize_begin(void);
/* addr: a code address (for a return address pass return address - 1). */
void ms_symbolize(uintptr_t addr, ms_symbol *out);

/* The executable's path as read by the last ms_symbolize_begin ("" when unreadable). */
const char *ms_symbolize_exe_path(void);
/* The GNU build id of the file at path (lowercase hex; "" when it has none), read once per path
 * and kept for the life of the process, like its symbols. */
const char *ms_symbolize_build_id(const char *path);

/* Function name at an ELF virtual address of the file at path, or NULL (for tests and tools). */
const char *ms_symbolize_file(const char *path, uintptr_t vaddr);

#endif
