/* Compares memshim's built-in CPython layout row (src/profile/py_layout.c) with offsetof() in
 * the headers of the interpreter it is compiled against (tests/integration/py/frames.sh). From
 * 3.14 the row's offsets are read from the _Py_DebugOffsets the headers' own initializer fills
 * in (memshim's table of its members per version), then compared the same way.
 * Exit 0 when every field agrees; prints each difference otherwise. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_debug_offsets.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_stackref.h"
#endif
#else
#include <frameobject.h>
#endif

#include "profile/py_layout.h"

static int bad;
#define EQ(field, expr)                                                                              \
  do {                                                                                               \
    if ((long)L->field != (long)(expr)) {                                                            \
      printf("CPython %s: %s is %ld in memshim's row, %ld in the headers (%s)\n", PY_VERSION, #field, \
             (long)L->field, (long)(expr), #expr);                                                   \
      bad = 1;                                                                                       \
    }                                                                                                \
  } while (0)

int main(void) {
  const ms_py_layout *L = ms_py_layout_for(PY_MAJOR_VERSION, PY_MINOR_VERSION);
  if (!L) {
    printf("CPython %s: no built-in row\n", PY_VERSION);
    return 1;
  }
#if PY_VERSION_HEX >= 0x030E0000
  static const _Py_DebugOffsets dbo = _Py_DebugOffsets_INIT(_Py_Debug_Cookie);
  static ms_py_layout read;
  char why[256];
  if (!L->published || !ms_py_debug_offsets_read(&dbo, PY_VERSION_HEX, L, &read, why, sizeof why)) {
    printf("CPython %s: its _Py_DebugOffsets are not read: %s\n", PY_VERSION, L->published ? why : "row not published");
    return 1;
  }
  L = &read;
  if (Py_TAG_BITS & ~L->f_code_tag) {
    printf("CPython %s: f_executable's tag bits 0x%lx are not all cleared\n", PY_VERSION, (long)Py_TAG_BITS);
    bad = 1;
  }
#endif
#if PY_VERSION_HEX < 0x030B0000
  EQ(frames, MS_PY_FRAMES_OBJECT);
  EQ(ts_frame, offsetof(PyThreadState, frame));
  EQ(cframe_frame, -1);
  EQ(f_previous, offsetof(PyFrameObject, f_back));
  EQ(f_code, offsetof(PyFrameObject, f_code));
  EQ(f_lasti, offsetof(PyFrameObject, f_lasti));
  EQ(co_code, offsetof(PyCodeObject, co_code));
  EQ(co_name, offsetof(PyCodeObject, co_name));
  EQ(code_basicsize, sizeof(PyCodeObject));
  EQ(code_itemsize, 0);
  EQ(frame_basicsize, sizeof(PyFrameObject));
#else
  EQ(frames, MS_PY_FRAMES_INTERP);
  EQ(co_name, offsetof(PyCodeObject, co_qualname));
  EQ(co_code, offsetof(PyCodeObject, co_code_adaptive));
  EQ(co_firsttraceable, offsetof(PyCodeObject, _co_firsttraceable));
  EQ(code_basicsize, offsetof(PyCodeObject, co_code_adaptive));
  EQ(code_itemsize, sizeof(_Py_CODEUNIT));
  EQ(f_previous, offsetof(_PyInterpreterFrame, previous));
  EQ(f_owner, offsetof(_PyInterpreterFrame, owner));
  EQ(owner_generator, FRAME_OWNED_BY_GENERATOR);
#if PY_VERSION_HEX < 0x030D0000
  EQ(ts_frame, offsetof(PyThreadState, cframe));
  EQ(cframe_frame, offsetof(_PyCFrame, current_frame));
  EQ(f_code, offsetof(_PyInterpreterFrame, f_code));
  EQ(f_lasti, offsetof(_PyInterpreterFrame, prev_instr));
  EQ(lasti, MS_PY_PREV_INSTR);
#else
  EQ(ts_frame, offsetof(PyThreadState, current_frame));
  EQ(cframe_frame, -1);
  EQ(f_code, offsetof(_PyInterpreterFrame, f_executable));
  EQ(f_lasti, offsetof(_PyInterpreterFrame, instr_ptr));
  EQ(lasti, MS_PY_INSTR_PTR);
#endif
#if PY_VERSION_HEX < 0x030C0000
  EQ(entry, MS_PY_ENTRY_FLAG);
  EQ(f_is_entry, offsetof(_PyInterpreterFrame, is_entry));
#elif PY_VERSION_HEX < 0x030E0000
  EQ(entry, MS_PY_ENTRY_SHIM);
  EQ(owner_cstack, FRAME_OWNED_BY_CSTACK);
#else
  /* the C activation's entry frame is FRAME_OWNED_BY_INTERPRETER (CSTACK, if any, above it) */
  EQ(entry, MS_PY_ENTRY_SHIM);
  EQ(owner_cstack, FRAME_OWNED_BY_INTERPRETER);
#endif
#endif
  EQ(co_filename, offsetof(PyCodeObject, co_filename));
  EQ(co_firstlineno, offsetof(PyCodeObject, co_firstlineno));
  EQ(str_basicsize, sizeof(PyUnicodeObject));
  EQ(str_ascii_size, sizeof(PyASCIIObject));
  EQ(str_compact_size, sizeof(PyCompactUnicodeObject));
  /* the offsets memshim takes as fixed */
  if (offsetof(PyObject, ob_type) != MS_PY_OB_TYPE || offsetof(PyVarObject, ob_size) != MS_PY_OB_SIZE ||
      offsetof(PyTypeObject, tp_name) != MS_PY_TP_NAME || offsetof(PyTypeObject, tp_basicsize) != MS_PY_TP_BASICSIZE ||
      offsetof(PyTypeObject, tp_itemsize) != MS_PY_TP_ITEMSIZE || offsetof(PyASCIIObject, length) != MS_PY_STR_LENGTH ||
      offsetof(PyASCIIObject, state) != MS_PY_STR_STATE || offsetof(PyBytesObject, ob_base.ob_size) != MS_PY_BYTES_SIZE) {
    printf("CPython %s: a fixed object offset differs\n", PY_VERSION);
    bad = 1;
  }
  /* str state bits: kind at bit 2, compact at 5, ascii at 6 */
  PyASCIIObject probe = {0};
  probe.state.kind = 4;
  probe.state.compact = 1;
  probe.state.ascii = 1;
  unsigned state;
  memcpy(&state, (char *)&probe + MS_PY_STR_STATE, sizeof state);
  if ((state & 0x7c) != ((4u << 2) | (1u << 5) | (1u << 6))) {
    printf("CPython %s: str state bits are not where memshim reads them (0x%x)\n", PY_VERSION, state);
    bad = 1;
  }
  if (!bad) printf("CPython %s: memshim's layout row matches the headers\n", PY_VERSION);
  return bad;
}
