/* Stack capture with libunwind's local unwinder. libunwind (and the liblzma it needs) is loaded
 * with dlopen when stack capture is first wanted — profiling, or a GPU allocation — never in a
 * process that does not need it. Must run under the recursion guard: libunwind may allocate on
 * first use of a module. */
#ifndef MEMSHIM_UNWIND_H
#define MEMSHIM_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/guard.h"

/* Set while libunwind runs on this thread for us (its initialisation and each backtrace). */
extern MS_HIDDEN MS_TLS int ms_tls_in_unwinder;

/* Load libunwind, find our own code's address range (frames there are dropped) and set
 * libunwind's cache. Idempotent and thread-safe; returns 0, or -1 after saying once why stacks
 * cannot be captured (libunwind missing). Call it from a cold path. */
int ms_unwind_init(void);
/* Return addresses of the caller's stack, innermost first, memshim's own frames removed.
 * Returns the number of frames (<= max); 0 when ms_unwind_init has not succeeded. */
unsigned ms_unwind(uintptr_t *out, unsigned max);
/* The caller of the function [lo, hi) that is on the calling thread's stack now (its innermost
 * frame there): its stack pointer once the function returned, and the values of its callee-saved
 * registers (rbx, rbp, r12-r15) as the walk recovers them. True, or false when the function is not
 * on the stack or the walk is not possible. A return address lo < ip <= hi is inside it. */
#define MS_UNWIND_SAVED_REGS 6
bool ms_unwind_caller_frame(uintptr_t lo, uintptr_t hi, uintptr_t *sp, uintptr_t regs[MS_UNWIND_SAVED_REGS]);
/* pipe2 for libunwind (called by memshim's pipe2 while ms_tls_in_unwinder is set): a pipe at the
 * top of the descriptor range, closed again when no thread is inside libunwind any more. */
int ms_unwind_pipe(int fds[2], int flags);
/* close for libunwind (memshim's close while ms_tls_in_unwinder is set): 0 for a pipe end it was
 * given this session, which stays open until the session ends; -2 for any other descriptor,
 * which the caller closes. */
int ms_unwind_close(int fd);
/* fork child: a pipe another thread's backtrace held at the fork is closed. */
void ms_unwind_atfork_child(void);
/* Around fork (the fork entry point, before any fork handler runs): keep backtraces out and wait
 * until no thread is inside libunwind (1 s at most), so that none of libunwind's own locks is
 * held at the fork. Returns whether it did (libunwind loaded); pass that to ms_unwind_fork_done,
 * in the parent and in the child, after the fork. Meanwhile a backtrace returns no frames. */
bool ms_unwind_fork_prepare(void);
void ms_unwind_fork_done(bool prepared, bool child);

#endif
