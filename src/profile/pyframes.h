/* Python call sites: the file, line and function of the Python code behind a sampled
 * allocation, read from the calling thread's own CPython frames (docs/python.md).
 *
 * A Python frame sits in a stack-table stack as a tagged word: MS_FRAME_PY_TAG ORed with the
 * 1-based id of an interned (file, function, line) record. User-space return addresses on
 * x86-64 never have bit 63 set, so native and Python frames share one array. */
#ifndef MEMSHIM_PYFRAMES_H
#define MEMSHIM_PYFRAMES_H

#include <stdbool.h>
#include <stdint.h>

#define MS_FRAME_PY_TAG ((uintptr_t)1 << 63)

static inline bool ms_frame_is_py(uintptr_t f) { return (f & MS_FRAME_PY_TAG) != 0; }
static inline uint32_t ms_frame_py_id(uintptr_t f) { return (uint32_t)(f & ~MS_FRAME_PY_TAG); }
static inline uintptr_t ms_frame_py(uint32_t id) { return MS_FRAME_PY_TAG | id; }

/* The record behind a Python frame id. Strings are owned by the table and valid for the life
 * of the process (and of a fork child). False for an id never handed out. Lock-free. */
bool ms_py_frame_get(uint32_t id, const char **file, const char **function, uint32_t *line);

/* ---- the profiler's side ---- */

/* Constructor (profiling on): read MEMSHIM_PY_STACKS / MEMSHIM_PY_DEPTH and look for an
 * interpreter in the process. Cold: dlsym, dladdr, one log line when a CPython is found that
 * cannot be read. */
void ms_py_init(void);
/* Periodic, cold (the profiler's snapshot job): look again when libraries were loaded since
 * the last look and no interpreter was found yet (an embedding host dlopens libpython). */
void ms_py_poll(void);

/* The process's interpreter has run and is finalizing (cold; the snapshot job). */
bool ms_py_finalizing(void);

typedef unsigned (*ms_unwind_fn)(uintptr_t *out, unsigned max);
/* The stack of a sampled allocation: native frames from unwind (at most native_max of them),
 * with the interpreter's _PyEval_EvalFrameDefault frames replaced by the Python frames they
 * were running. Without a readable interpreter on this thread: unwind(out, native_max).
 * out holds MS_MAX_DEPTH frames. Allocation-free, lock-free on repeated call sites; never
 * takes the GIL or calls into Python beyond pure readers. Call it under the recursion guard. */
unsigned ms_py_stack(uintptr_t *out, unsigned native_max, ms_unwind_fn unwind);

/* fork: the interning table's lock. */
/* The table's lock is a util/forklock.h lock taken by no fork handler (ms_py_table_init
 * publishes its word); a child rebuilds the indexes when the parent forked mid-intern. */
void ms_py_table_init(void);
void ms_py_atfork_child(void);

#endif
