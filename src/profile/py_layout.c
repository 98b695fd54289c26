#include "py_layout.h"

#include <stdio.h>
#include <string.h>

#define NONE 0xff

/* 3.8 to 3.10 differ only in where (and in which unit) the frame keeps its last instruction. */
#define MS_PY_FRAME_OBJECT_ROW(minor_, lasti_, f_lasti_, frame_size_)                                          \
  {.minor = minor_, .frames = MS_PY_FRAMES_OBJECT, .entry = MS_PY_ENTRY_EACH, .lasti = lasti_, .ts_frame = 24, \
   .cframe_frame = -1, .f_previous = 24, .f_code = 32, .f_lasti = f_lasti_, .owner_generator = NONE,           \
   .owner_cstack = NONE, .co_filename = 104, .co_name = 112, .co_firstlineno = 40, .co_code = 48,              \
   .code_basicsize = 176, .code_itemsize = 0, .frame_basicsize = frame_size_, .str_basicsize = 80,             \
   .str_ascii_size = 48, .str_compact_size = 72}

static const ms_py_layout ms_py_layouts[] = {
  MS_PY_FRAME_OBJECT_ROW(8, MS_PY_LASTI_BYTES, 104, 368),
  MS_PY_FRAME_OBJECT_ROW(9, MS_PY_LASTI_BYTES, 104, 368),
  MS_PY_FRAME_OBJECT_ROW(10, MS_PY_LASTI_UNITS, 96, 360),
  {.minor = 11, .frames = MS_PY_FRAMES_INTERP, .entry = MS_PY_ENTRY_FLAG, .lasti = MS_PY_PREV_INSTR,
   .ts_frame = 56, .cframe_frame = 8, .f_previous = 48, .f_code = 32, .f_lasti = 56, .f_owner = 69,
   .f_is_entry = 68, .owner_generator = 1, .owner_cstack = NONE,
   .co_filename = 112, .co_name = 128, .co_firstlineno = 72, .co_code = 184, .co_firsttraceable = 168,
   .code_basicsize = 184, .code_itemsize = 2, .str_basicsize = 80, .str_ascii_size = 48, .str_compact_size = 72},
  {.minor = 12, .frames = MS_PY_FRAMES_INTERP, .entry = MS_PY_ENTRY_SHIM, .lasti = MS_PY_PREV_INSTR,
   .ts_frame = 56, .cframe_frame = 0, .f_previous = 8, .f_code = 0, .f_lasti = 56, .f_owner = 70,
   .owner_generator = 1, .owner_cstack = 3,
   .co_filename = 112, .co_name = 128, .co_firstlineno = 68, .co_code = 192, .co_firsttraceable = 176,
   .code_basicsize = 192, .code_itemsize = 2, .str_basicsize = 64, .str_ascii_size = 40, .str_compact_size = 56},
  {.minor = 13, .frames = MS_PY_FRAMES_INTERP, .entry = MS_PY_ENTRY_SHIM, .lasti = MS_PY_INSTR_PTR,
   .ts_frame = 72, .cframe_frame = -1, .f_previous = 8, .f_code = 0, .f_lasti = 56, .f_owner = 70,
   .owner_generator = 1, .owner_cstack = 3,
   .co_filename = 112, .co_name = 128, .co_firstlineno = 68, .co_code = 200, .co_firsttraceable = 184,
   .code_basicsize = 200, .code_itemsize = 2, .str_basicsize = 64, .str_ascii_size = 40, .str_compact_size = 56},
};

const ms_py_layout *ms_py_layout_for(unsigned major, unsigned minor) {
  if (major != 3) return NULL;
  for (size_t i = 0; i < sizeof ms_py_layouts / sizeof *ms_py_layouts; i++)
    if (ms_py_layouts[i].minor == minor) return &ms_py_layouts[i];
  return NULL;
}

bool ms_py_version_parse(const char *s, unsigned *major, unsigned *minor) {
  unsigned v[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    if (*s < '0' || *s > '9') return false;
    while (*s >= '0' && *s <= '9' && v[k] < 1000) v[k] = v[k] * 10 + (unsigned)(*s++ - '0');
    if (k == 0 && *s++ != '.') return false;
  }
  *major = v[0];
  *minor = v[1];
  return true;
}

/* CPython 3.13's _Py_DebugOffsets up to the str members (Include/internal/pycore_runtime.h):
 * every member is a uint64_t, groups in this order. Only this layout is known here; a later
 * version adds members inside the groups. */
typedef struct {
  char cookie[8];
  uint64_t version, free_threaded;
  uint64_t runtime_state[3];
  uint64_t interpreter_state[13];
  struct {
    uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id, datastack_chunk, status;
  } thread_state;
  struct {
    uint64_t size, previous, executable, instr_ptr, localsplus, owner;
  } frame;
  struct {
    uint64_t size, filename, name, qualname, linetable, firstlineno, argcount, localsplusnames, localspluskinds,
      co_code_adaptive;
  } code;
  struct {
    uint64_t size, ob_type;
  } object;
  struct {
    uint64_t size, tp_name, tp_repr, tp_flags;
  } type;
  uint64_t tuple_object[3], list_object[3], dict_object[3], float_object[2], long_object[3], bytes_object[3];
  struct {
    uint64_t size, state, length, asciiobject_size;
  } str;
} ms_py_debug_offsets_313;

bool ms_py_debug_offsets_agree(const void *runtime, unsigned long version_hex, const ms_py_layout *base, char *why,
                               size_t why_len) {
  const ms_py_debug_offsets_313 *d = runtime;
  if (memcmp(d->cookie, "xdebugpy", 8) != 0) {
    snprintf(why, why_len, "_PyRuntime does not start with the debug-offsets cookie");
    return false;
  }
  if ((d->version >> 16) != (version_hex >> 16) || (d->version >> 16) != 0x030d) {
    snprintf(why, why_len, "_Py_DebugOffsets of version 0x%llx (this memshim reads the 3.13 layout)",
             (unsigned long long)d->version);
    return false;
  }
  if (d->free_threaded) {
    snprintf(why, why_len, "free-threaded build");
    return false;
  }
  ms_py_layout L = *base;
  L.ts_frame = (uint16_t)d->thread_state.current_frame;
  L.f_previous = (uint16_t)d->frame.previous;
  L.f_code = (uint16_t)d->frame.executable;
  L.f_lasti = (uint16_t)d->frame.instr_ptr;
  L.f_owner = (uint16_t)d->frame.owner;
  L.co_filename = (uint16_t)d->code.filename;
  L.co_name = (uint16_t)d->code.qualname;
  L.co_firstlineno = (uint16_t)d->code.firstlineno;
  L.co_code = (uint16_t)d->code.co_code_adaptive;
  L.code_basicsize = (uint16_t)d->code.co_code_adaptive; /* PyCode_Type.tp_basicsize */
  L.str_basicsize = (uint16_t)d->str.size;
  L.str_ascii_size = (uint16_t)d->str.asciiobject_size;
  L.str_compact_size = (uint16_t)(d->str.asciiobject_size + 16); /* + utf8_length, utf8 */
  /* What the reader takes as fixed, and what the built-in row says for the rest. */
  bool fixed = d->object.ob_type == MS_PY_OB_TYPE && d->type.tp_name == MS_PY_TP_NAME &&
               d->str.length == MS_PY_STR_LENGTH && d->str.state == MS_PY_STR_STATE;
  if (!fixed || memcmp(&L, base, sizeof L) != 0) {
    snprintf(why, why_len, "_Py_DebugOffsets differ from the CPython 3.13 layout this memshim knows");
    return false;
  }
  return true;
}

static bool ms_py_type_is(const void *type, const char *name, size_t basicsize, size_t itemsize, char *why,
                          size_t why_len) {
  const char *tp_name = *(const char *const *)((const char *)type + MS_PY_TP_NAME);
  int64_t basic = *(const int64_t *)((const char *)type + MS_PY_TP_BASICSIZE);
  int64_t item = *(const int64_t *)((const char *)type + MS_PY_TP_ITEMSIZE);
  if (!tp_name || strcmp(tp_name, name) != 0) {
    snprintf(why, why_len, "the %s type object is not where this layout expects it", name);
    return false;
  }
  if (basic != (int64_t)basicsize || item != (int64_t)itemsize) {
    snprintf(why, why_len, "%s objects are %lld+%lld bytes, this layout expects %zu+%zu", name, (long long)basic,
             (long long)item, basicsize, itemsize);
    return false;
  }
  return true;
}

bool ms_py_layout_check(const ms_py_layout *L, const void *code_type, const void *str_type, const void *frame_type,
                        char *why, size_t why_len) {
  if (!ms_py_type_is(code_type, "code", L->code_basicsize, L->code_itemsize, why, why_len)) return false;
  if (!ms_py_type_is(str_type, "str", L->str_basicsize, 0, why, why_len)) return false;
  if (L->frames == MS_PY_FRAMES_OBJECT &&
      (!frame_type || !ms_py_type_is(frame_type, "frame", L->frame_basicsize, sizeof(void *), why, why_len)))
    return false;
  return true;
}
