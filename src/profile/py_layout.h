/* Where CPython keeps what the frame reader needs, per minor version (x86-64, release builds
 * with the GIL). No Python headers at build time: the rows were taken from each version's
 * headers (offsetof in cpython/pystate.h, cpython/code.h, frameobject.h / pycore_frame.h,
 * cpython/unicodeobject.h; tests/integration/py_layout.sh compares them with every installed
 * interpreter's headers) and are checked at run time against the interpreter itself
 * (ms_py_layout_check; on 3.13 also against the _Py_DebugOffsets table CPython publishes). From
 * 3.14 the rows hold only what CPython does not publish (how frames chain and begin, which
 * owner values mean what): the offsets are read from the interpreter's _Py_DebugOffsets. */
#ifndef MEMSHIM_PY_LAYOUT_H
#define MEMSHIM_PY_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the thread's frames are kept. */
enum {
  MS_PY_FRAMES_OBJECT = 0, /* <= 3.10: PyFrameObject chain (f_back), one per C activation */
  MS_PY_FRAMES_INTERP = 1, /* >= 3.11: _PyInterpreterFrame chain (previous) */
};
/* Which frames begin a C activation of _PyEval_EvalFrameDefault. */
enum {
  MS_PY_ENTRY_EACH = 0, /* every frame (<= 3.10) */
  MS_PY_ENTRY_FLAG = 1, /* the frame with is_entry set (3.11) */
  MS_PY_ENTRY_SHIM = 2, /* the frame above a shim frame owned by the C stack (>= 3.12) */
};
/* Where the current instruction is, and in which unit. */
enum {
  MS_PY_LASTI_BYTES = 0, /* int f_lasti, bytes (3.8, 3.9) */
  MS_PY_LASTI_UNITS = 1, /* int f_lasti, 2-byte code units (3.10) */
  MS_PY_PREV_INSTR = 2,  /* pointer to the code unit before the next instruction (3.11, 3.12) */
  MS_PY_INSTR_PTR = 3,   /* pointer to the current instruction (3.13) */
};

typedef struct {
  uint8_t minor; /* 3.<minor> */
  uint8_t frames, entry, lasti;
  /* 1: the offsets below come from the interpreter's _Py_DebugOffsets (3.14+); the row gives
   * the rest, and co_firsttraceable is then counted back from co_code */
  uint8_t published;
  /* bits of f_code that tag the reference (a _PyStackRef from 3.14), cleared before use */
  uint8_t f_code_tag;
  /* thread state -> current frame; when cframe_frame >= 0 it points to a _PyCFrame instead,
   * whose current_frame is at cframe_frame (3.11, 3.12) */
  uint16_t ts_frame;
  int16_t cframe_frame;
  /* frame */
  uint16_t f_previous, f_code, f_lasti, f_owner, f_is_entry;
  /* 0xff: no such owner; from 3.12 an owner >= owner_cstack is a C activation's entry frame
   * (3.14 numbers it FRAME_OWNED_BY_INTERPRETER = 3 and adds an unused CSTACK = 4) */
  uint8_t owner_generator, owner_cstack;
  /* code object; co_name is co_qualname from 3.11 (the function as people read it) */
  uint16_t co_filename, co_name, co_firstlineno;
  uint16_t co_code;           /* <= 3.10: the co_code bytes object; >= 3.11: co_code_adaptive */
  uint16_t co_firsttraceable; /* >= 3.11: instructions before it are frame set-up (0 = none) */
  /* sizes that must match the interpreter's own type objects (canaries) */
  uint16_t code_basicsize, code_itemsize, frame_basicsize, str_basicsize;
  /* str: the text of a compact ASCII string follows the first size, of other compact strings
   * the second */
  uint16_t str_ascii_size, str_compact_size;
} ms_py_layout;

/* Fixed across 3.8-3.13 (and checked at run time through the type objects). */
#define MS_PY_OB_TYPE 8         /* PyObject.ob_type */
#define MS_PY_OB_SIZE 16        /* PyVarObject.ob_size */
#define MS_PY_TP_NAME 24        /* PyTypeObject.tp_name */
#define MS_PY_TP_BASICSIZE 32   /* PyTypeObject.tp_basicsize */
#define MS_PY_TP_ITEMSIZE 40    /* PyTypeObject.tp_itemsize */
#define MS_PY_STR_LENGTH 16     /* PyASCIIObject.length */
#define MS_PY_STR_STATE 32      /* PyASCIIObject.state: interned:2 kind:3 compact:1 ascii:1 */
#define MS_PY_BYTES_SIZE 16     /* PyBytesObject ob_size (<= 3.10 co_code) */

/* The built-in row for CPython 3.<minor>, or NULL. */
const ms_py_layout *ms_py_layout_for(unsigned major, unsigned minor);

/* Parse "3.11.2 (main, ...)" into major and minor; false if it does not start that way. */
bool ms_py_version_parse(const char *s, unsigned *major, unsigned *minor);

/* CPython 3.13+ publishes its own offsets at the start of _PyRuntime (_Py_DebugOffsets: cookie,
 * version, free_threaded, then groups of uint64_t offsets whose members differ per minor
 * version). Read them with the table of the version they say (3.13, 3.14, 3.15; another is
 * refused: its table's shape is unknown) into out, starting from the built-in row base: a row
 * with offsets (3.13) must agree with every offset both carry, a published row (3.14+) takes
 * them. Refused too: a version other than Py_Version's, a free-threaded build, a table whose
 * fixed members (object header, the remote-debugging script size of 3.14+) are not where its
 * version puts them, offsets outside their objects. Returns true, or false with why (for the
 * log line). */
bool ms_py_debug_offsets_read(const void *runtime, unsigned long version_hex, const ms_py_layout *base,
                              ms_py_layout *out, char *why, size_t why_len);
/* The newest minor version whose _Py_DebugOffsets this memshim reads. */
#define MS_PY_NEWEST_MINOR 15

/* The canaries: the interpreter's own type objects must agree with the layout (name and sizes
 * of code, str and, up to 3.10, frame; frame_type is not looked at from 3.11). Returns true,
 * or false with what differs. */
bool ms_py_layout_check(const ms_py_layout *L, const void *code_type, const void *str_type, const void *frame_type,
                        char *why, size_t why_len);

/* The code of a function whose symbol [lo, hi) covers only part of it: a build with
 * profile-guided hot/cold partitioning (Debian's 3.11, 3.14, 3.15) puts most of
 * _PyEval_EvalFrameDefault, its dispatch loop included, in an unnamed range the symbol's bytes
 * jump into. eh_frame_hdr is the module's .eh_frame_hdr (GNU ld's encoding; another one finds
 * nothing), whose table has one entry per function part. The parts that the rel32 jumps in
 * [lo, hi) land inside (not at their start: that is a call or tail call) are counted; the one
 * hit most, at least 4 times, is the answer. The bytes are scanned, not decoded, so a stray
 * 0xe9 counts too: the threshold keeps them out. True with [*part_lo, *part_hi), else false. */
bool ms_py_split_part(uintptr_t lo, uintptr_t hi, const uint8_t *eh_frame_hdr, uintptr_t *part_lo, uintptr_t *part_hi);

#endif
