/* Stack capture with libunwind's local unwinder (UNW_LOCAL_ONLY). Must run under the
 * recursion guard: libunwind may allocate on first use of a module. */
#ifndef MEMSHIM_UNWIND_H
#define MEMSHIM_UNWIND_H

#include <stdint.h>

/* Find our own code's address range (frames there are dropped) and set libunwind's cache. */
void ms_unwind_init(void);
/* Return addresses of the caller's stack, innermost first, memshim's own frames removed.
 * Returns the number of frames (<= max). */
unsigned ms_unwind(uintptr_t *out, unsigned max);

#endif
