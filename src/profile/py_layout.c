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
  /* 3.14, 3.15: offsets from _Py_DebugOffsets; f_executable is a _PyStackRef (tag bits 1 and 3);
   * _co_firsttraceable is 16 bytes before co_code_adaptive */
  {.minor = 14, .frames = MS_PY_FRAMES_INTERP, .entry = MS_PY_ENTRY_SHIM, .lasti = MS_PY_INSTR_PTR,
   .published = 1, .f_code_tag = 7, .cframe_frame = -1, .owner_generator = 1, .owner_cstack = 3,
   .co_firsttraceable = 16, .code_itemsize = 2},
  {.minor = 15, .frames = MS_PY_FRAMES_INTERP, .entry = MS_PY_ENTRY_SHIM, .lasti = MS_PY_INSTR_PTR,
   .published = 1, .f_code_tag = 7, .cframe_frame = -1, .owner_generator = 1, .owner_cstack = 3,
   .co_firsttraceable = 16, .code_itemsize = 2},
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

/* Where each _Py_DebugOffsets table keeps what the reader needs: indexes of uint64_t words
 * (the cookie is word 0, version 1, free_threaded 2). Taken from each version's header
 * (Include/internal/pycore_runtime.h in 3.13, pycore_debug_offsets.h from 3.14); members are
 * added inside the groups from one minor version to the next, so every index is per version.
 * tests/integration/py/layout_check.c compares them with offsetof() in installed headers. */
typedef struct {
  uint8_t minor;
  uint16_t words; /* sizeof(_Py_DebugOffsets) / 8 */
  uint16_t current_frame, f_previous, f_executable, f_instr_ptr, f_owner;
  uint16_t code_size, co_filename, co_qualname, co_firstlineno, co_code_adaptive;
  uint16_t ob_type, tp_name, str_size, str_state, str_length, str_ascii_size;
  uint16_t str_compact_size; /* 0: not published (asciiobject_size + 16) */
  /* 3.14+: debugger_support.debugger_script_path_size, PEP 768's _Py_MAX_SCRIPT_PATH_SIZE (512),
   * the table's last word: a table of another shape does not hold it there */
  uint16_t script_path_size;
  uint16_t llist_prev; /* 3.14+: llist_node.prev, offsetof(struct llist_node, prev) = 8 after next = 0 */
} ms_py_dbo_table;

static const ms_py_dbo_table ms_py_dbo_tables[] = {
  {.minor = 13, .words = 73, .current_frame = 23, .f_previous = 29, .f_executable = 30, .f_instr_ptr = 31,
   .f_owner = 33, .code_size = 34, .co_filename = 35, .co_qualname = 37, .co_firstlineno = 39,
   .co_code_adaptive = 43, .ob_type = 45, .tp_name = 47, .str_size = 67, .str_state = 68, .str_length = 69,
   .str_ascii_size = 70},
  {.minor = 14, .words = 95, .current_frame = 26, .f_previous = 32, .f_executable = 33, .f_instr_ptr = 34,
   .f_owner = 36, .code_size = 39, .co_filename = 40, .co_qualname = 42, .co_firstlineno = 44,
   .co_code_adaptive = 48, .ob_type = 51, .tp_name = 53, .str_size = 77, .str_state = 78, .str_length = 79,
   .str_ascii_size = 80, .script_path_size = 94, .llist_prev = 88},
  {.minor = 15, .words = 111, .current_frame = 26, .f_previous = 40, .f_executable = 41, .f_instr_ptr = 42,
   .f_owner = 44, .code_size = 47, .co_filename = 48, .co_qualname = 50, .co_firstlineno = 52,
   .co_code_adaptive = 56, .ob_type = 59, .tp_name = 61, .str_size = 89, .str_state = 90, .str_length = 91,
   .str_ascii_size = 92, .str_compact_size = 93, .script_path_size = 110, .llist_prev = 104},
};

#define MS_PY_SCRIPT_PATH_SIZE 512

bool ms_py_debug_offsets_read(const void *runtime, unsigned long version_hex, const ms_py_layout *base,
                              ms_py_layout *out, char *why, size_t why_len) {
  const uint64_t *d = runtime;
  if (memcmp(d, "xdebugpy", 8) != 0) {
    snprintf(why, why_len, "_PyRuntime does not start with the debug-offsets cookie");
    return false;
  }
  unsigned long v = (unsigned long)d[1];
  if ((v >> 16) != (version_hex >> 16)) {
    snprintf(why, why_len, "_Py_DebugOffsets say version 0x%lx, Py_Version 0x%lx", v, version_hex);
    return false;
  }
  /* The table of base's version; a newer version than this memshim knows is read with the
   * newest table when its shape says it is that table (the sentinels below). */
  unsigned minor = (unsigned)(v >> 16) & 0xff;
  const ms_py_dbo_table *t = NULL;
  for (size_t i = 0; i < sizeof ms_py_dbo_tables / sizeof *ms_py_dbo_tables; i++)
    if (ms_py_dbo_tables[i].minor == base->minor) t = &ms_py_dbo_tables[i];
  bool newer = minor > MS_PY_NEWEST_MINOR && base->minor == MS_PY_NEWEST_MINOR;
  if (!t || (v >> 24) != 3 || (minor != base->minor && !newer)) {
    snprintf(why, why_len, "_Py_DebugOffsets of version %lu.%u, whose layout this memshim does not know (3.13 to 3.%d)",
             v >> 24, minor, MS_PY_NEWEST_MINOR);
    return false;
  }
  if (d[2]) {
    /* No GIL: the frames' instructions live in per-thread bytecode copies, and code objects
     * are shared without the lock the reader relies on; not read by this memshim. */
    snprintf(why, why_len, "free-threaded build (the debug offsets say so): frames of builds without the GIL "
                           "are not read");
    return false;
  }
  if (t->script_path_size &&
      (d[t->script_path_size] != MS_PY_SCRIPT_PATH_SIZE || d[t->llist_prev] != 8 || d[t->llist_prev - 1] != 0)) {
    snprintf(why, why_len, "its _Py_DebugOffsets are not laid out as CPython 3.%u's (the list-node and "
             "remote-debugging members are elsewhere)", t->minor);
    return false;
  }
  /* What the reader takes as fixed. */
  if (d[t->ob_type] != MS_PY_OB_TYPE || d[t->tp_name] != MS_PY_TP_NAME || d[t->str_length] != MS_PY_STR_LENGTH ||
      d[t->str_state] != MS_PY_STR_STATE) {
    snprintf(why, why_len, "_Py_DebugOffsets put the object header or str fields elsewhere");
    return false;
  }
  uint64_t compact = t->str_compact_size ? d[t->str_compact_size] : d[t->str_ascii_size] + 16; /* + utf8_length, utf8 */
  /* Offsets inside objects of a plausible size, pointers aligned: a table that was not filled
   * in as its version says fails here rather than steering the reader elsewhere. */
  uint64_t code = d[t->co_code_adaptive];
  bool sane = d[t->current_frame] < 4096 && !(d[t->current_frame] & 7) && d[t->f_previous] < 256 &&
              !(d[t->f_previous] & 7) && d[t->f_executable] < 256 && !(d[t->f_executable] & 7) &&
              d[t->f_instr_ptr] < 256 && !(d[t->f_instr_ptr] & 7) && d[t->f_owner] < 256 && code < 1024 &&
              code >= 32 && !(code & 7) && d[t->co_filename] < code && !(d[t->co_filename] & 7) &&
              d[t->co_qualname] < code && !(d[t->co_qualname] & 7) && d[t->co_firstlineno] + 4 <= code &&
              !(d[t->co_firstlineno] & 3) && d[t->str_size] < 256 && d[t->str_ascii_size] < d[t->str_size] &&
              compact <= d[t->str_size] && d[t->code_size] >= code;
  if (!sane) {
    snprintf(why, why_len, "_Py_DebugOffsets hold offsets no CPython 3.%u object has", t->minor);
    return false;
  }
  ms_py_layout L = *base;
  L.ts_frame = (uint16_t)d[t->current_frame];
  L.f_previous = (uint16_t)d[t->f_previous];
  L.f_code = (uint16_t)d[t->f_executable];
  L.f_lasti = (uint16_t)d[t->f_instr_ptr];
  L.f_owner = (uint16_t)d[t->f_owner];
  L.co_filename = (uint16_t)d[t->co_filename];
  L.co_name = (uint16_t)d[t->co_qualname];
  L.co_firstlineno = (uint16_t)d[t->co_firstlineno];
  L.co_code = (uint16_t)code;
  L.code_basicsize = (uint16_t)code; /* PyCode_Type.tp_basicsize */
  L.str_basicsize = (uint16_t)d[t->str_size];
  L.str_ascii_size = (uint16_t)d[t->str_ascii_size];
  L.str_compact_size = (uint16_t)compact;
  if (base->published) {
    /* _co_firsttraceable is not published: it sits a fixed distance before co_code_adaptive
     * (int, padding, co_extra) in every release build the row covers */
    if (base->co_firsttraceable > code) {
      snprintf(why, why_len, "_Py_DebugOffsets put co_code_adaptive at %llu", (unsigned long long)code);
      return false;
    }
    L.co_firsttraceable = (uint16_t)(code - base->co_firsttraceable);
  } else if (memcmp(&L, base, sizeof L) != 0) {
    snprintf(why, why_len, "_Py_DebugOffsets differ from the CPython 3.%u layout this memshim knows", base->minor);
    return false;
  }
  *out = L;
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

bool ms_py_split_part(uintptr_t lo, uintptr_t hi, const uint8_t *h, uintptr_t *part_lo, uintptr_t *part_hi) {
  /* version 1, eh_frame_ptr pcrel|sdata4, fde_count udata4, table datarel|sdata4 */
  if (h[0] != 1 || h[1] != 0x1b || h[2] != 0x03 || h[3] != 0x3b) return false;
  uint32_t n;
  memcpy(&n, h + 8, 4);
  const uint8_t *table = h + 12; /* pairs of int32 (initial location, FDE) from h, sorted */
  enum { SLOTS = 8 };
  uintptr_t plo_of[SLOTS] = {0}, phi_of[SLOTS] = {0};
  unsigned hits[SLOTS] = {0};
  const uint8_t *code = (const uint8_t *)lo;
  for (uintptr_t off = 0; off + 6 <= hi - lo; off++) {
    int32_t rel;
    uintptr_t next;
    if (code[off] == 0xe9) { /* jmp rel32 */
      memcpy(&rel, code + off + 1, 4);
      next = lo + off + 5;
    } else if (code[off] == 0x0f && (code[off + 1] & 0xf0) == 0x80) { /* jcc rel32 */
      memcpy(&rel, code + off + 2, 4);
      next = lo + off + 6;
    } else {
      continue;
    }
    uintptr_t t = next + (uintptr_t)(intptr_t)rel;
    if (t >= lo && t < hi) continue;
    size_t a = 0, b = n; /* the first entry above t */
    while (a < b) {
      size_t mid = (a + b) / 2;
      int32_t at;
      memcpy(&at, table + 8 * mid, 4);
      if ((uintptr_t)(h + at) <= t) a = mid + 1;
      else b = mid;
    }
    if (a == 0 || a >= n) continue; /* before the first part, or in the last (its end unknown) */
    int32_t at0, at1;
    memcpy(&at0, table + 8 * (a - 1), 4);
    memcpy(&at1, table + 8 * a, 4);
    uintptr_t plo = (uintptr_t)(h + at0), phi = (uintptr_t)(h + at1);
    if (t == plo) continue;
    for (int k = 0; k < SLOTS; k++) {
      if (!hits[k] || plo_of[k] == plo) {
        plo_of[k] = plo, phi_of[k] = phi;
        hits[k]++;
        break;
      }
    }
  }
  int best = -1;
  for (int k = 0; k < SLOTS; k++)
    if (hits[k] >= 4 && (best < 0 || hits[k] > hits[best])) best = k;
  if (best < 0) return false;
  *part_lo = plo_of[best];
  *part_hi = phi_of[best];
  return true;
}
