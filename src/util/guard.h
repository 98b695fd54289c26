/* Per-thread recursion guard. While it is held, allocations made by our own slow work
 * (unwinding, reporting, logging, dlsym) pass straight to the backend, untracked. */
#ifndef MEMSHIM_GUARD_H
#define MEMSHIM_GUARD_H

#define MS_TLS __thread __attribute__((tls_model("initial-exec")))
/* For globals the hot path reads: a hidden declaration lets the compiler address them
 * PC-relative instead of loading their address from the GOT. */
#define MS_HIDDEN __attribute__((visibility("hidden")))

extern MS_HIDDEN MS_TLS int ms_tls_guard;

static inline int ms_guard_held(void) { return ms_tls_guard != 0; }
static inline void ms_guard_enter(void) { ms_tls_guard++; }
static inline void ms_guard_leave(void) { ms_tls_guard--; }

#define ms_likely(x) __builtin_expect(!!(x), 1)
#define ms_unlikely(x) __builtin_expect(!!(x), 0)

#endif
