/* Which process owns memshim's state: the constructor's, then each fork child's. Set by
 * core/init.c only (ms_init, and first thing in its atfork child handler). A vfork child shares
 * our memory and a raw clone() child copied it without our atfork handlers: neither is the
 * owner, and both must leave the state alone (no monitor thread, no report, no exit work). */
#ifndef MEMSHIM_UTIL_OWNER_H
#define MEMSHIM_UTIL_OWNER_H

#include <stdbool.h>

/* This process becomes the owner. */
void ms_owner_set(void);
/* The calling process owns the state (false before ms_owner_set). Async-signal-safe. */
bool ms_is_owner(void);

#endif
