/* Process-wide flags and the allocation slow path. */
#ifndef MEMSHIM_STATE_H
#define MEMSHIM_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "../backend/accounting.h"

/* Read-only after the constructor. */
extern MS_HIDDEN bool ms_enabled;     /* MEMSHIM_ENABLE */
extern MS_HIDDEN bool ms_initialized; /* constructor done */

/* The rare part of the allocation path: first allocation of a thread, a sample, or a tick. */
void *ms_alloc_slow(void *p, uint64_t size);

/* The rare part of the free path: the thread's freed bytes passed its mark (track.h). */
void ms_free_slow(void) __attribute__((cold));

/* Library start and exit, in core/init.c. */
void ms_init(void);
bool ms_in_exit(void);

#endif
