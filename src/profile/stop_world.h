/* Stopping every other thread for a moment (the reachability scan, at exit): each is sent a
 * real-time signal that nothing in the process handles; its handler, on the thread's own stack
 * above the registers the kernel saved there, records its stack and thread pointers and waits
 * until ms_world_start. Never used by a plain preload. */
#ifndef MEMSHIM_PROFILE_STOP_WORLD_H
#define MEMSHIM_PROFILE_STOP_WORLD_H

#include <stdint.h>
#include <sys/types.h>

typedef struct {
  pid_t tid;         /* -1: ended meanwhile, nothing to scan */
  uint32_t answered; /* atomic: its handler runs and waits; sp, tp set */
  uintptr_t sp;      /* stack pointer: in the handler, or where it sleeps in the kernel; 0 unknown */
  uintptr_t tp;      /* thread pointer (fs base), 0 when it did not answer */
} ms_stopped_thread;

/* Signals every other thread and waits (2 s at most, for a loaded machine) until each answered;
 * one that blocks the signal is taken where it sleeps in a system call, one that runs with every
 * signal blocked (on its way out) gets another second to end or sleep. Returns the number of
 * threads whose stack could not be found, or -1 when no free signal could be had (nothing
 * stopped). Call ms_world_start after either. */
int ms_world_stop(void);
/* Lets them go: the handlers return; a signal still pending (a thread that blocks it) is
 * discarded before the signal's old disposition comes back. */
void ms_world_start(void);
/* The threads of the last stop (the calling thread not among them). */
unsigned ms_world_threads(const ms_stopped_thread **threads);
/* The calling thread's thread pointer (x86-64: fs base). */
uintptr_t ms_thread_pointer(void);

#endif
