/* The Python frame reader's parts on fabricated interpreter memory: str copying (ASCII and the
 * three wider kinds), the canaries and the 3.13 debug-offsets check (each way a build can be
 * refused), interning, the walk over 3.10- and 3.12-shaped frame chains (shim and incomplete
 * frames, the per-thread cache noticing a reused code object), and the merge with a native
 * stack. The integration tests (tests/integration/py/) run the same code on real interpreters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/guard.h"
#include "profile/py_layout.h"
#include "profile/py_walk.h"
#include "profile/pyframes.h"
#include "profile/stack_table.h"

MS_TLS int ms_tls_guard; /* normally in core/state.c */

/* ---- fabricated objects ---- */

static char fake_code_type[64], fake_str_type[64], fake_frame_type[64];

static void *zalloc(size_t n) {
  void *p = aligned_alloc(16, (n + 15) & ~(size_t)15);
  memset(p, 0, n);
  return p;
}

#define PUT(T, base, off, v) (*(T *)((char *)(base) + (off)) = (v))

/* A compact str of `kind` (1, 2, 4) holding n code points from cp. */
static void *fake_str(const ms_py_layout *L, const uint32_t *cp, size_t n, unsigned kind) {
  bool ascii = kind == 1;
  for (size_t i = 0; i < n; i++) ascii = ascii && cp[i] < 0x80;
  size_t data = ascii ? L->str_ascii_size : L->str_compact_size;
  char *o = zalloc(data + (n + 1) * kind);
  PUT(uintptr_t, o, MS_PY_OB_TYPE, (uintptr_t)fake_str_type);
  PUT(int64_t, o, MS_PY_STR_LENGTH, (int64_t)n);
  PUT(uint32_t, o, MS_PY_STR_STATE, (kind << 2) | (1u << 5) | ((unsigned)ascii << 6));
  for (size_t i = 0; i < n; i++) {
    if (kind == 1) o[data + i] = (char)cp[i];
    else if (kind == 2) ((uint16_t *)(o + data))[i] = (uint16_t)cp[i];
    else ((uint32_t *)(o + data))[i] = cp[i];
  }
  return o;
}

static void *fake_ascii(const ms_py_layout *L, const char *s) {
  uint32_t cp[256];
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++) cp[i] = (unsigned char)s[i];
  return fake_str(L, cp, n, 1);
}

/* ---- str ---- */

static void test_str_kinds(void **state) {
  (void)state;
  const ms_py_layout *L = ms_py_layout_for(3, 12);
  char buf[64];
  assert_int_equal(ms_py_str_utf8(L, (uintptr_t)fake_str_type, fake_ascii(L, "worker.py"), buf, sizeof buf), 9);
  assert_string_equal(buf, "worker.py");
  const uint32_t latin1[] = {'g', 'r', 0xfc, 0xdf, 'e'}; /* grüße */
  ms_py_str_utf8(L, (uintptr_t)fake_str_type, fake_str(L, latin1, 5, 1), buf, sizeof buf);
  assert_string_equal(buf, "gr\xc3\xbc\xc3\x9f" "e");
  const uint32_t ucs2[] = {0x6570, 0x636e, 0xd800}; /* 数据 and a lone surrogate */
  ms_py_str_utf8(L, (uintptr_t)fake_str_type, fake_str(L, ucs2, 3, 2), buf, sizeof buf);
  assert_string_equal(buf, "\xe6\x95\xb0\xe6\x8d\xae\xef\xbf\xbd");
  const uint32_t ucs4[] = {0x20000, 'x'};
  ms_py_str_utf8(L, (uintptr_t)fake_str_type, fake_str(L, ucs4, 2, 4), buf, sizeof buf);
  assert_string_equal(buf, "\xf0\xa0\x80\x80x");
  /* cut to fit, at a character boundary: 8 bytes hold one 4-byte character and the NUL */
  const uint32_t wide[] = {0x20000, 0x20001, 0x20002};
  assert_int_equal(ms_py_str_utf8(L, (uintptr_t)fake_str_type, fake_str(L, wide, 3, 4), buf, 8), 4);
  /* not a str; not compact */
  assert_int_equal(ms_py_str_utf8(L, (uintptr_t)fake_code_type, fake_ascii(L, "x"), buf, sizeof buf), -1);
  void *legacy = fake_ascii(L, "x");
  PUT(uint32_t, legacy, MS_PY_STR_STATE, 1u << 2);
  assert_int_equal(ms_py_str_utf8(L, (uintptr_t)fake_str_type, legacy, buf, sizeof buf), -1);
}

/* ---- canaries ---- */

static void fake_type(char *t, const char *name, int64_t basic, int64_t item) {
  PUT(const char *, t, MS_PY_TP_NAME, name);
  PUT(int64_t, t, MS_PY_TP_BASICSIZE, basic);
  PUT(int64_t, t, MS_PY_TP_ITEMSIZE, item);
}

static void test_canaries(void **state) {
  (void)state;
  char why[160];
  const ms_py_layout *L11 = ms_py_layout_for(3, 11), *L10 = ms_py_layout_for(3, 10);
  fake_type(fake_code_type, "code", 184, 2);
  fake_type(fake_str_type, "str", 80, 0);
  assert_true(ms_py_layout_check(L11, fake_code_type, fake_str_type, NULL, why, sizeof why));
  fake_type(fake_code_type, "code", 192, 2); /* a 3.12 code object under a 3.11 version */
  assert_false(ms_py_layout_check(L11, fake_code_type, fake_str_type, NULL, why, sizeof why));
  assert_string_equal(why, "code objects are 192+2 bytes, this layout expects 184+2");
  fake_type(fake_code_type, "kode", 184, 2);
  assert_false(ms_py_layout_check(L11, fake_code_type, fake_str_type, NULL, why, sizeof why));
  /* up to 3.10 the frame type is checked too */
  fake_type(fake_code_type, "code", 176, 0);
  fake_type(fake_frame_type, "frame", 360, 8);
  assert_true(ms_py_layout_check(L10, fake_code_type, fake_str_type, fake_frame_type, why, sizeof why));
  assert_false(ms_py_layout_check(L10, fake_code_type, fake_str_type, NULL, why, sizeof why));
  fake_type(fake_frame_type, "frame", 368, 8);
  assert_false(ms_py_layout_check(L10, fake_code_type, fake_str_type, fake_frame_type, why, sizeof why));
  assert_null(ms_py_layout_for(3, 7));
  assert_null(ms_py_layout_for(3, 16));
  assert_null(ms_py_layout_for(2, 7));
  unsigned major, minor;
  assert_true(ms_py_version_parse("3.10.13 (main, May  9 2026)", &major, &minor));
  assert_int_equal(major * 100 + minor, 310);
  assert_false(ms_py_version_parse("PyPy", &major, &minor));
  /* which versions are read: 3.8 to 3.15, each with its own row; every other one is refused */
  for (unsigned m = 0; m < 20; m++) {
    const ms_py_layout *L = ms_py_layout_for(3, m);
    if (m >= 8 && m <= 15) {
      assert_non_null(L);
      assert_int_equal(L->minor, m);
    } else {
      assert_null(L);
    }
  }
  assert_null(ms_py_layout_for(4, 8));
  /* Py_GetVersion's text: "MAJOR.MINOR" first, or nothing */
  assert_true(ms_py_version_parse("3.8.20+ (default)", &major, &minor));
  assert_int_equal(major * 100 + minor, 308);
  assert_true(ms_py_version_parse("3.13", &major, &minor));
  assert_int_equal(minor, 13);
  assert_true(ms_py_version_parse("3.120", &major, &minor)); /* 3.120 is not 3.12 */
  assert_int_equal(minor, 120);
  assert_null(ms_py_layout_for(major, minor));
  major = minor = 77;
  const char *bad[] = {"", "3", "3.", ".12", "3x12", " 3.12", "v3.12"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(ms_py_version_parse(bad[i], &major, &minor));
  assert_int_equal(major + minor, 154); /* untouched */
}

/* _Py_DebugOffsets as a runtime would publish them (see py_layout.c): the words of 3.13's,
 * 3.14's or 3.15's table (indexes from each version's header), offsets of a release build. */
#define DBO_WORDS 120
static void fake_debug_offsets(uint64_t *d, unsigned minor, uint64_t version, uint64_t free_threaded) {
  memset(d, 0, DBO_WORDS * sizeof *d);
  memcpy(d, "xdebugpy", 8);
  d[1] = version;
  d[2] = free_threaded;
  /* current_frame, previous, executable, instr_ptr, owner, code size, filename, name, qualname,
   * firstlineno, co_code_adaptive, ob_type, tp_name, str size, state, length, asciiobject_size */
  static const uint16_t at13[] = {23, 29, 30, 31, 33, 34, 35, 36, 37, 39, 43, 45, 47, 67, 68, 69, 70};
  static const uint16_t at14[] = {26, 32, 33, 34, 36, 39, 40, 41, 42, 44, 48, 51, 53, 77, 78, 79, 80};
  static const uint16_t at15[] = {26, 40, 41, 42, 44, 47, 48, 49, 50, 52, 56, 59, 61, 89, 90, 91, 92};
  const uint16_t *at = minor == 13 ? at13 : minor == 14 ? at14 : at15;
  /* 3.13.0's values; 3.14/3.15 move the thread state's frame and the code's fields */
  uint64_t val[] = {72, 8, 0, 56, 70, 200, 112, 120, 128, 68, 200, 8, 24, 64, 32, 16, 40};
  if (minor >= 14) {
    val[0] = 80, val[4] = 74;                            /* current_frame, owner */
    val[5] = val[10] = 208, val[6] = 112, val[8] = 128; /* code */
  }
  for (size_t i = 0; i < sizeof val / sizeof *val; i++) d[at[i]] = val[i];
  if (minor == 14) d[94] = 512, d[87] = 0, d[88] = 8;    /* PEP 768 script path size, llist_node */
  if (minor == 15) d[110] = 512, d[103] = 0, d[104] = 8, d[93] = 56; /* + compactunicodeobject_size */
}

static void test_debug_offsets(void **state) {
  (void)state;
  uint64_t d[DBO_WORDS];
  char why[256];
  ms_py_layout L;
  const ms_py_layout *base = ms_py_layout_for(3, 13);
  fake_debug_offsets(d, 13, 0x030d01f0, 0);
  assert_true(ms_py_debug_offsets_read(d, 0x030d01f0, base, &L, why, sizeof why));
  assert_memory_equal(&L, base, sizeof L); /* 3.13: the built-in row, confirmed */
  assert_false(ms_py_debug_offsets_read(d, 0x030e00f0, base, &L, why, sizeof why)); /* Py_Version differs */
  fake_debug_offsets(d, 13, 0x030d01f0, 1);
  assert_false(ms_py_debug_offsets_read(d, 0x030d01f0, base, &L, why, sizeof why));
  assert_non_null(strstr(why, "free-threaded build"));
  fake_debug_offsets(d, 13, 0x030d01f0, 0);
  d[3 + 3 + 13 + 4] = 80; /* the thread state's frame moved */
  assert_false(ms_py_debug_offsets_read(d, 0x030d01f0, base, &L, why, sizeof why));
  fake_debug_offsets(d, 13, 0x030d01f0, 0);
  memcpy(d, "xdebugpz", 8);
  assert_false(ms_py_debug_offsets_read(d, 0x030d01f0, base, &L, why, sizeof why));
}

/* 3.14 and 3.15: no built-in offsets; what the table says is what the walk reads. */
static void test_debug_offsets_published(void **state) {
  (void)state;
  uint64_t d[DBO_WORDS];
  char why[256];
  ms_py_layout L;
  for (unsigned minor = 14; minor <= 15; minor++) {
    const ms_py_layout *base = ms_py_layout_for(3, minor);
    assert_non_null(base);
    assert_true(base->published);
    unsigned long hex = 0x03000000ul | (unsigned long)minor << 16 | 0x02f0;
    fake_debug_offsets(d, minor, hex, 0);
    assert_true(ms_py_debug_offsets_read(d, hex, base, &L, why, sizeof why));
    assert_int_equal(L.ts_frame, 80);
    assert_int_equal(L.f_previous, 8);
    assert_int_equal(L.f_code, 0);
    assert_int_equal(L.f_lasti, 56);
    assert_int_equal(L.f_owner, 74);
    assert_int_equal(L.co_filename, 112);
    assert_int_equal(L.co_name, 128); /* co_qualname */
    assert_int_equal(L.co_firstlineno, 68);
    assert_int_equal(L.co_code, 208);
    assert_int_equal(L.code_basicsize, 208);
    assert_int_equal(L.co_firsttraceable, 192);
    assert_int_equal(L.str_basicsize, 64);
    assert_int_equal(L.str_ascii_size, 40);
    assert_int_equal(L.str_compact_size, 56);
    assert_int_equal(L.f_code_tag, 7);
    assert_int_equal(L.owner_cstack, 3);
    /* a patch release that moves a field is read where it says */
    d[minor == 14 ? 26 : 26] = 88;
    assert_true(ms_py_debug_offsets_read(d, hex, base, &L, why, sizeof why));
    assert_int_equal(L.ts_frame, 88);
    /* free-threaded: refused, saying so */
    fake_debug_offsets(d, minor, hex, 1);
    assert_false(ms_py_debug_offsets_read(d, hex, base, &L, why, sizeof why));
    assert_non_null(strstr(why, "free-threaded build"));
    /* a table of another shape (a member inserted before the remote-debugging ones) */
    fake_debug_offsets(d, minor, hex, 0);
    unsigned last = minor == 14 ? 94 : 110;
    d[last + 1] = d[last], d[last] = 0;
    assert_false(ms_py_debug_offsets_read(d, hex, base, &L, why, sizeof why));
    assert_non_null(strstr(why, "not laid out as"));
    /* offsets no object has */
    fake_debug_offsets(d, minor, hex, 0);
    d[minor == 14 ? 48 : 56] = 3; /* co_code_adaptive */
    assert_false(ms_py_debug_offsets_read(d, hex, base, &L, why, sizeof why));
    fake_debug_offsets(d, minor, hex, 0);
    d[minor == 14 ? 33 : 41] = 4096; /* f_executable */
    assert_false(ms_py_debug_offsets_read(d, hex, base, &L, why, sizeof why));
    /* the other version's table under this version */
    fake_debug_offsets(d, minor == 14 ? 15 : 14, hex, 0);
    assert_false(ms_py_debug_offsets_read(d, hex, base, &L, why, sizeof why));
  }
  /* Newer than this memshim (3.16): read with the newest table when it has that shape, refused
   * when it does not; a table that says 3.16 is never read as 3.14's. */
  const ms_py_layout *newest = ms_py_layout_for(3, MS_PY_NEWEST_MINOR);
  assert_null(ms_py_layout_for(3, MS_PY_NEWEST_MINOR + 1));
  fake_debug_offsets(d, MS_PY_NEWEST_MINOR, 0x031000f0, 0);
  assert_true(ms_py_debug_offsets_read(d, 0x031000f0, newest, &L, why, sizeof why));
  assert_int_equal(L.co_code, 208);
  d[111] = d[110], d[110] = 0; /* a member inserted: another shape */
  assert_false(ms_py_debug_offsets_read(d, 0x031000f0, newest, &L, why, sizeof why));
  fake_debug_offsets(d, 14, 0x031000f0, 0);
  assert_false(ms_py_debug_offsets_read(d, 0x031000f0, ms_py_layout_for(3, 14), &L, why, sizeof why));
  assert_non_null(strstr(why, "does not know"));
}

/* ---- the split-off part of the eval function ---- */

/* A fabricated text: parts (as .eh_frame_hdr lists them) at 0x000, 0x100, 0x400, 0x800 (the
 * symbol, 0x100 bytes), 0x900, 0xa00; the symbol's jumps go into 0x100-0x400. */
static uint8_t fake_text[0xb00];
static uint8_t fake_hdr[12 + 6 * 8];

static void fake_eh_frame_hdr(void) {
  static const uint16_t parts[] = {0x000, 0x100, 0x400, 0x800, 0x900, 0xa00};
  fake_hdr[0] = 1, fake_hdr[1] = 0x1b, fake_hdr[2] = 0x03, fake_hdr[3] = 0x3b;
  uint32_t n = 6;
  memcpy(fake_hdr + 8, &n, 4);
  for (unsigned i = 0; i < n; i++) {
    int32_t at = (int32_t)((fake_text + parts[i]) - fake_hdr), fde = 0;
    memcpy(fake_hdr + 12 + 8 * i, &at, 4);
    memcpy(fake_hdr + 16 + 8 * i, &fde, 4);
  }
}

/* A jmp (0xe9) or jcc (0x0f 0x84) at fake_text + at to fake_text + to. */
static void fake_jump(unsigned at, unsigned to, bool cond) {
  unsigned len = cond ? 6 : 5;
  int32_t rel = (int32_t)to - (int32_t)(at + len);
  if (cond) fake_text[at] = 0x0f, fake_text[at + 1] = 0x84;
  else fake_text[at] = 0xe9;
  memcpy(fake_text + at + len - 4, &rel, 4);
}

static void test_split_part(void **state) {
  (void)state;
  uintptr_t lo = (uintptr_t)fake_text + 0x800, hi = lo + 0x100, plo = 0, phi = 0;
  memset(fake_text, 0x90, sizeof fake_text);
  fake_eh_frame_hdr();
  /* three jumps into the middle of 0x100-0x400, a call-like jump to a part's start, jumps inside
   * the symbol: not enough */
  fake_jump(0x800, 0x180, false);
  fake_jump(0x810, 0x1c0, true);
  fake_jump(0x820, 0x200, false);
  fake_jump(0x830, 0x100, false); /* the part's start: a tail call */
  fake_jump(0x840, 0x400, false);
  fake_jump(0x850, 0x8f0, true); /* inside the symbol */
  assert_false(ms_py_split_part(lo, hi, fake_hdr, &plo, &phi));
  /* a fourth: the part */
  fake_jump(0x860, 0x3ff, true);
  assert_true(ms_py_split_part(lo, hi, fake_hdr, &plo, &phi));
  assert_true(plo == (uintptr_t)fake_text + 0x100 && phi == (uintptr_t)fake_text + 0x400);
  /* more jumps into another part win over it */
  for (unsigned i = 0; i < 5; i++) fake_jump(0x870 + 8 * i, 0x480 + 16 * i, false);
  assert_true(ms_py_split_part(lo, hi, fake_hdr, &plo, &phi));
  assert_true(plo == (uintptr_t)fake_text + 0x400 && phi == (uintptr_t)fake_text + 0x800);
  /* jumps into the last part (its end is unknown) or before the first count for nothing */
  memset(fake_text + 0x800, 0x90, 0x100);
  for (unsigned i = 0; i < 6; i++) fake_jump(0x800 + 8 * i, 0xa10 + 16 * i, false);
  assert_false(ms_py_split_part(lo, hi, fake_hdr, &plo, &phi));
  /* another table encoding: nothing */
  for (unsigned i = 0; i < 6; i++) fake_jump(0x800 + 8 * i, 0x180 + 16 * i, false);
  assert_true(ms_py_split_part(lo, hi, fake_hdr, &plo, &phi));
  fake_hdr[3] = 0x03;
  assert_false(ms_py_split_part(lo, hi, fake_hdr, &plo, &phi));
}

/* ---- interning ---- */

static void test_intern(void **state) {
  (void)state;
  uint32_t a = ms_py_intern("a.py", "f", 3), b = ms_py_intern("a.py", "f", 4), c = ms_py_intern("b.py", "f", 3);
  assert_true(a && b && c && a != b && b != c && a != c);
  assert_int_equal(ms_py_intern("a.py", "f", 3), a);
  char file[32], fn[32];
  uint32_t ids[5000];
  for (uint32_t i = 0; i < 5000; i++) { /* past several index growths */
    snprintf(file, sizeof file, "m%u.py", i % 97);
    snprintf(fn, sizeof fn, "fn%u", i);
    ids[i] = ms_py_intern(file, fn, i);
  }
  for (uint32_t i = 0; i < 5000; i += 7) {
    const char *f, *g;
    uint32_t line;
    assert_true(ms_py_frame_get(ids[i], &f, &g, &line));
    snprintf(fn, sizeof fn, "fn%u", i);
    assert_string_equal(g, fn);
    assert_int_equal(line, i);
  }
  const char *f, *g;
  uint32_t line;
  assert_true(ms_py_frame_get(a, &f, &g, &line));
  assert_string_equal(f, "a.py");
  assert_false(ms_py_frame_get(0, &f, &g, &line));
  assert_false(ms_py_frame_get(ms_py_interned_count() + 1, &f, &g, &line));
  uintptr_t tagged = ms_frame_py(a);
  assert_true(ms_frame_is_py(tagged));
  assert_int_equal(ms_frame_py_id(tagged), a);
  assert_false(ms_frame_is_py((uintptr_t)&test_intern));
}

/* ---- the walk ---- */

static void *fake_tstate;
static int fake_initialized = 1;
static int fake_is_initialized(void) { return fake_initialized; }
static void *fake_this_tstate(void) { return fake_tstate; }
/* A line table where each code unit is one line after the first. */
static uint16_t fake_firstlineno_off;
static int fake_addr2line(const void *code, int addr) {
  int first = *(const int32_t *)((const char *)code + fake_firstlineno_off);
  return addr < 0 ? first : first + addr / 2;
}

static ms_py_runtime fake_runtime(unsigned minor) {
  ms_py_runtime rt = {.L = *ms_py_layout_for(3, minor), .is_initialized = fake_is_initialized,
                      .this_tstate = fake_this_tstate, .addr2line = fake_addr2line,
                      .code_type = (uintptr_t)fake_code_type, .str_type = (uintptr_t)fake_str_type,
                      .frame_type = (uintptr_t)fake_frame_type, .depth = 32};
  fake_firstlineno_off = rt.L.co_firstlineno;
  return rt;
}

static char *fake_code(const ms_py_layout *L, const char *file, const char *name, int first, int firsttraceable) {
  char *c = zalloc((size_t)L->co_code + 2 * 64);
  PUT(uintptr_t, c, MS_PY_OB_TYPE, (uintptr_t)fake_code_type);
  PUT(int64_t, c, MS_PY_OB_SIZE, 64); /* code units */
  PUT(void *, c, L->co_filename, fake_ascii(L, file));
  PUT(void *, c, L->co_name, fake_ascii(L, name));
  PUT(int32_t, c, L->co_firstlineno, first);
  if (L->co_firsttraceable) PUT(int32_t, c, L->co_firsttraceable, firsttraceable);
  return c;
}

/* 3.12: an interpreter frame running code at code unit `unit` (prev_instr = the unit before). */
static char *fake_frame_312(const ms_py_layout *L, char *code, int unit, uint8_t owner, char *previous) {
  char *f = zalloc(128);
  PUT(char *, f, L->f_code, code);
  PUT(char *, f, L->f_previous, previous);
  PUT(char *, f, L->f_lasti, code + L->co_code + 2 * (unit - 1));
  PUT(uint8_t, f, L->f_owner, owner);
  return f;
}

static void assert_frame(uint32_t id, const char *file, const char *fn, uint32_t line) {
  const char *f, *g;
  uint32_t l;
  assert_true(ms_py_frame_get(id, &f, &g, &l));
  assert_string_equal(f, file);
  assert_string_equal(g, fn);
  assert_int_equal(l, line);
}

static void test_walk_312(void **state) {
  (void)state;
  ms_py_runtime rt = fake_runtime(12);
  const ms_py_layout *L = &rt.L;
  char *mod = fake_code(L, "app.py", "<module>", 1, 0);
  char *handler = fake_code(L, "app.py", "Server.handle", 20, 0);
  char *cb = fake_code(L, "app.py", "cb", 40, 2);
  /* innermost first: cb (inline call from handle) | shim | handle | shim | <module>, plus a
   * frame still setting up (incomplete) on top */
  char *f_mod = fake_frame_312(L, mod, 5, 0, NULL);
  char *shim1 = fake_frame_312(L, mod, 1, 3, f_mod);
  char *f_handle = fake_frame_312(L, handler, 3, 1 /* a generator */, shim1);
  char *shim2 = fake_frame_312(L, mod, 1, 3, f_handle);
  char *f_cb = fake_frame_312(L, cb, 7, 0, shim2);
  char *f_setup = fake_frame_312(L, cb, 1, 0, f_cb); /* before _co_firsttraceable: incomplete */
  char *cframe = zalloc(64), *ts = zalloc(256);
  PUT(char *, ts, L->ts_frame, cframe);
  PUT(char *, cframe, L->cframe_frame, f_setup);
  fake_tstate = ts;

  uint32_t out[MS_PY_WALK_MAX];
  unsigned n = ms_py_walk(&rt, out);
  assert_int_equal(n, 5);
  assert_frame(out[0], "app.py", "cb", 46);
  assert_int_equal(out[1], MS_PY_GROUP_END);
  assert_frame(out[2], "app.py", "Server.handle", 22);
  assert_int_equal(out[3], MS_PY_GROUP_END);
  assert_frame(out[4], "app.py", "<module>", 5);

  /* again: the same ids (from the per-thread cache) */
  uint32_t again[MS_PY_WALK_MAX];
  assert_int_equal(ms_py_walk(&rt, again), n);
  assert_memory_equal(again, out, n * sizeof *out);
  /* the code object at cb's address now holds another function: the cache notices */
  PUT(void *, cb, L->co_name, fake_ascii(L, "other"));
  assert_int_equal(ms_py_walk(&rt, again), n);
  assert_frame(again[0], "app.py", "other", 46);
  /* a frame whose code is not a code object ends the walk */
  PUT(uintptr_t, handler, MS_PY_OB_TYPE, (uintptr_t)fake_str_type);
  assert_int_equal(ms_py_walk(&rt, again), 2);
  PUT(uintptr_t, handler, MS_PY_OB_TYPE, (uintptr_t)fake_code_type);
  /* depth limit; no thread state; interpreter finalizing */
  rt.depth = 2;
  assert_int_equal(ms_py_walk(&rt, again), 3);
  rt.depth = 32;
  fake_tstate = NULL;
  assert_int_equal(ms_py_walk(&rt, again), 0);
  fake_tstate = ts;
  fake_initialized = 0;
  assert_int_equal(ms_py_walk(&rt, again), 0);
  fake_initialized = 1;
}

static void test_walk_310(void **state) {
  (void)state;
  ms_py_runtime rt = fake_runtime(10);
  const ms_py_layout *L = &rt.L;
  char *outer = fake_code(L, "job.py", "run", 10, 0), *inner = fake_code(L, "job.py", "load", 30, 0);
  char *bytecode = zalloc(64);
  PUT(int64_t, bytecode, MS_PY_BYTES_SIZE, 40);
  PUT(char *, outer, L->co_code, bytecode);
  PUT(char *, inner, L->co_code, bytecode);
  char *f_outer = zalloc(L->frame_basicsize), *f_inner = zalloc(L->frame_basicsize);
  PUT(uintptr_t, f_outer, MS_PY_OB_TYPE, (uintptr_t)fake_frame_type);
  PUT(uintptr_t, f_inner, MS_PY_OB_TYPE, (uintptr_t)fake_frame_type);
  PUT(char *, f_outer, L->f_code, outer);
  PUT(int32_t, f_outer, L->f_lasti, 3); /* 3.10: code units */
  PUT(char *, f_inner, L->f_code, inner);
  PUT(int32_t, f_inner, L->f_lasti, 500); /* past the end: kept inside the code */
  PUT(char *, f_inner, L->f_previous, f_outer);
  char *ts = zalloc(256);
  PUT(char *, ts, L->ts_frame, f_inner);
  fake_tstate = ts;
  uint32_t out[MS_PY_WALK_MAX];
  assert_int_equal(ms_py_walk(&rt, out), 4);
  assert_frame(out[0], "job.py", "load", 30 + 19);
  assert_int_equal(out[1], MS_PY_GROUP_END);
  assert_frame(out[2], "job.py", "run", 10 + 3);
  assert_int_equal(out[3], MS_PY_GROUP_END);
}

/* ---- the merge ---- */

static void test_merge(void **state) {
  (void)state;
  ms_py_runtime rt = {.eval_lo = 0x1000, .eval_hi = 0x2000, .interp_lo = 0x1000, .interp_hi = 0x9000,
                      .libc_lo = 0x80000, .libc_hi = 0x90000};
  /* innermost first: the interpreter's allocating function, an extension's function, the call
   * machinery that called it, activation A, glue, an extension calling back, glue, activation
   * B, the interpreter's start-up, libc */
  const uintptr_t native[] = {0x3001, 0x50001, 0x3501, 0x1101, 0x4001, 0x60001, 0x5001, 0x1201, 0x7001, 0x80001};
  const uint32_t py[] = {11, 12, MS_PY_GROUP_END, 13, MS_PY_GROUP_END};
  uintptr_t out[MS_MAX_DEPTH];
  unsigned n = ms_py_merge(&rt, native, 10, 32, py, 5, out, MS_MAX_DEPTH);
  const uintptr_t want[] = {0x3001, 0x50001, ms_frame_py(11), ms_frame_py(12), 0x60001, ms_frame_py(13), 0x7001, 0x80001};
  assert_int_equal(n, 8);
  assert_memory_equal(out, want, sizeof want);
  /* native budget of 2: Python frames still placed */
  n = ms_py_merge(&rt, native, 10, 2, py, 5, out, MS_MAX_DEPTH);
  const uintptr_t want2[] = {0x3001, 0x50001, ms_frame_py(11), ms_frame_py(12), ms_frame_py(13)};
  assert_int_equal(n, 5);
  assert_memory_equal(out, want2, sizeof want2);
  /* the native stack cut before activation B: its frames follow */
  n = ms_py_merge(&rt, native, 5, 32, py, 5, out, MS_MAX_DEPTH);
  const uintptr_t want3[] = {0x3001, 0x50001, ms_frame_py(11), ms_frame_py(12), ms_frame_py(13)};
  assert_int_equal(n, 5);
  assert_memory_equal(out, want3, sizeof want3);
  /* Python frames ran out (depth): activation B stays native, nothing is dropped after A */
  n = ms_py_merge(&rt, native, 10, 32, py, 3, out, MS_MAX_DEPTH);
  const uintptr_t want4[] = {0x3001, 0x50001, ms_frame_py(11), ms_frame_py(12), 0x4001, 0x60001, 0x5001, 0x1201, 0x7001, 0x80001};
  assert_int_equal(n, 10);
  assert_memory_equal(out, want4, sizeof want4);
  /* an empty activation (its frames all incomplete) just disappears */
  const uint32_t py_empty[] = {MS_PY_GROUP_END, 13, MS_PY_GROUP_END};
  n = ms_py_merge(&rt, native, 10, 32, py_empty, 3, out, MS_MAX_DEPTH);
  const uintptr_t want5[] = {0x3001, 0x50001, 0x60001, ms_frame_py(13), 0x7001, 0x80001};
  assert_int_equal(n, 6);
  assert_memory_equal(out, want5, sizeof want5);
  /* the C library is no other module: the interpreter function that called strdup stays */
  const uintptr_t via_libc[] = {0x80001, 0x3001, 0x1101};
  n = ms_py_merge(&rt, via_libc, 3, 32, py, 3, out, MS_MAX_DEPTH);
  const uintptr_t want6[] = {0x80001, 0x3001, ms_frame_py(11), ms_frame_py(12)};
  assert_int_equal(n, 4);
  assert_memory_equal(out, want6, sizeof want6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_str_kinds),  cmocka_unit_test(test_canaries), cmocka_unit_test(test_debug_offsets),
    cmocka_unit_test(test_debug_offsets_published), cmocka_unit_test(test_split_part),
    cmocka_unit_test(test_intern),     cmocka_unit_test(test_walk_312), cmocka_unit_test(test_walk_310),
    cmocka_unit_test(test_merge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
