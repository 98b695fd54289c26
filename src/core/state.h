/* Process-wide flags and the allocation slow path. */
#ifndef MEMSHIM_STATE_H
#define MEMSHIM_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "../backend/accounting.h"

/* Read-only after the constructor. */
extern MS_HIDDEN bool ms_enabled;     /* MEMSHIM_ENABLE */
extern MS_HIDDEN bool ms_initialized; /* constructor done */
extern MS_HIDDEN bool ms_exiting;     /* the exit sequence reached its destructor steps (init.c) */

/* The rare part of the allocation path: first allocation of a thread, a sample, or a tick. */
void *ms_alloc_slow(void *p, uint64_t size);

/* The rare part of the free path: the thread's freed bytes passed its mark (track.h). */
void ms_free_slow(void) __attribute__((cold));

/* Library start, in core/init.c. */
void ms_init(void);
/* ms_exiting, for files init.c calls (kept here so that they need not call init.c back). */
bool ms_in_exit(void);

#endif
