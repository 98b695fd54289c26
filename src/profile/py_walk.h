/* The parts of the Python frame reader (src/profile/py_*.c), shared with their unit tests.
 * pyframes.h is what the rest of memshim sees. */
#ifndef MEMSHIM_PY_WALK_H
#define MEMSHIM_PY_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_layout.h"

/* An interpreter found in the process and checked (py_runtime.c). Immutable once published. */
typedef struct {
  ms_py_layout L;
  int (*is_initialized)(void);                /* Py_IsInitialized: 0 before start-up and from finalization on */
  void *(*this_tstate)(void);                 /* PyGILState_GetThisThreadState: the caller's own */
  int (*addr2line)(const void *code, int addr); /* PyCode_Addr2Line: a pure reader of the line table */
  uintptr_t code_type, str_type, frame_type;  /* &PyCode_Type, &PyUnicode_Type, &PyFrame_Type */
  uintptr_t eval_lo, eval_hi;                 /* _PyEval_EvalFrameDefault's code */
  uintptr_t eval2_lo, eval2_hi;               /* its split-off part, if any (GCC's hot/cold partitions) */
  uintptr_t interp_lo, interp_hi;             /* executable code of the module holding it */
  uintptr_t libc_lo, libc_hi;                 /* executable code of the C library */
  unsigned depth;                             /* MEMSHIM_PY_DEPTH */
} ms_py_runtime;

/* In a walk's output, after the last (outermost) frame that one C activation of
 * _PyEval_EvalFrameDefault ran. Frame ids start at 1. */
#define MS_PY_GROUP_END 0u
/* Words a walk may write for rt->depth <= MS_PY_DEPTH_MAX. */
#define MS_PY_DEPTH_MAX 128
#define MS_PY_WALK_MAX (2 * MS_PY_DEPTH_MAX + 64)

/* Read the calling thread's Python frames: ids, innermost first, with MS_PY_GROUP_END marks.
 * Returns the number of words written to out (at most MS_PY_WALK_MAX); 0 when the thread has
 * no Python frames or the interpreter is not running. */
unsigned ms_py_walk(const ms_py_runtime *rt, uint32_t *out);

/* Merge a native stack (return addresses, innermost first) with a walk's output into out (at
 * most out_max frames): each native frame inside _PyEval_EvalFrameDefault is replaced by the
 * Python frames of the next activation; the interpreter's call machinery (its frames between
 * two activations, or between another module's frame and the activation that called it) is
 * dropped; at most native_max other native frames are kept; Python frames left when the native
 * stack ends (it was cut short) follow. */
unsigned ms_py_merge(const ms_py_runtime *rt, const uintptr_t *native, unsigned n, unsigned native_max,
                     const uint32_t *py, unsigned npy, uintptr_t *out, unsigned out_max);

/* A str object's text as UTF-8, NUL-terminated, cut at a character boundary to fit cap (>= 8).
 * Returns its length, or -1 when obj is not a compact str of str_type. */
int ms_py_str_utf8(const ms_py_layout *L, uintptr_t str_type, const void *obj, char *buf, size_t cap);

/* The id of the (file, function, line) record, created if new; 0 when out of memory. */
uint32_t ms_py_intern(const char *file, const char *function, uint32_t line);
/* Records interned so far (for tests and the benchmark). */
uint32_t ms_py_interned_count(void);

/* The published interpreter, or NULL (py_runtime.c). */
const ms_py_runtime *ms_py_runtime_get(void);

#endif
