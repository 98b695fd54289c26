/* The report writers' rules for people (src/report/: snapshot.c, view.c, text.c, collapsed.c):
 * how many sites a --top lists, the leak verdict word, byte counts, which frame names a site,
 * which frames a flame graph folds, which sites merge under one Python line, and the ranking
 * and limits of the text and collapsed writers, on hand-made snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/write.h"

static void test_limit_and_verdict(void **state) {
  (void)state;
  assert_int_equal(ms_limit(5, 0), 5); /* 0 = all */
  assert_int_equal(ms_limit(5, 3), 3);
  assert_int_equal(ms_limit(5, 5), 5);
  assert_int_equal(ms_limit(5, 9), 5);
  assert_int_equal(ms_limit(0, 3), 0);
  assert_string_equal(ms_snap_verdict(false, true, 100, 5000), "none"); /* not checked */
  assert_string_equal(ms_snap_verdict(true, false, 100, 5000), "none"); /* no limit */
  assert_string_equal(ms_snap_verdict(true, true, 100, 100), "pass");   /* at the limit */
  assert_string_equal(ms_snap_verdict(true, true, 100, 101), "fail");
  assert_string_equal(ms_snap_verdict(true, true, 0, -4096), "pass"); /* shrank */
  /* limits of 2^63 and more (MEMSHIM_LEAK_CHECK=16777215T parses) are never passed */
  assert_string_equal(ms_snap_verdict(true, true, UINT64_MAX, INT64_MAX), "pass");
  assert_string_equal(ms_snap_verdict(true, true, 1ull << 63, 0), "pass");
  assert_string_equal(ms_snap_verdict(true, true, (1ull << 63) - 1, INT64_MAX), "pass");
  assert_string_equal(ms_snap_verdict(true, true, (1ull << 63) - 2, INT64_MAX), "fail");
}

static void fmt_is(double v, const char *want) {
  char b[32];
  ms_fmt_bytes(b, sizeof b, v);
  assert_string_equal(b, want);
}

static void test_fmt_bytes(void **state) {
  (void)state;
  fmt_is(0, "0 B");
  fmt_is(1023, "1023 B");
  fmt_is(1024, "1.0 KiB");
  fmt_is(1536, "1.5 KiB");
  fmt_is(5.0 * (1 << 20), "5.0 MiB");
  fmt_is(-2048, "-2.0 KiB");
  fmt_is(3.0 * (1ull << 40), "3.0 TiB");
  fmt_is(2048.0 * (1ull << 40), "2048.0 TiB"); /* no unit above TiB */
  char tiny[4];
  ms_fmt_bytes(tiny, sizeof tiny, 5.0 * (1 << 20)); /* cut, terminated */
  assert_string_equal(tiny, "5.0");
}

static void test_plumbing(void **state) {
  (void)state;
  const char *yes[] = {"operator new(unsigned long)", "_Znwm", "_Znam", "std::vector<int, std::allocator<int> >::reserve(unsigned long)",
                       "void std::vector<int>::_M_realloc_insert<int>(int&&)", /* a template's return type */
                       "__gnu_cxx::new_allocator<char>::allocate(unsigned long, void const*)", "c10::alloc_cpu(unsigned long)",
                       "PyMem_Malloc", "PyObject_Malloc", "_PyObject_Malloc", "strdup", "__strndup", "xmalloc"};
  const char *no[] = {"main", "build_index", "operator delete(void*)", "mystd::copy", "strdupa_helper", "_PyObject_New",
                      "PyList_Append", "", NULL};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) assert_true(ms_frame_is_plumbing(yes[i]));
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) assert_false(ms_frame_is_plumbing(no[i]));
}

static void test_py_library(void **state) {
  (void)state;
  const char *lib[] = {NULL, "<frozen importlib._bootstrap>", "<string>", "/usr/lib/python3.11/json/decoder.py",
                       "/venv/lib/python3.12/site-packages/numpy/core/numeric.py",
                       "/usr/lib/python3/dist-packages/flask/app.py", "/usr/bin/gunicorn", "/opt/lib/python2.7/os.py"};
  const char *user[] = {"/app/main.py", "main.py", "/home/u/python3.11/x.py", "/srv/lib/app.py"};
  for (size_t i = 0; i < sizeof lib / sizeof *lib; i++) assert_true(ms_py_file_is_library(lib[i]));
  for (size_t i = 0; i < sizeof user / sizeof *user; i++) assert_false(ms_py_file_is_library(user[i]));
}

#define NAT(fn, mod, off) {.kind = MS_SNAP_NATIVE, .function = fn, .module = mod, .offset = off}
#define PY(file_, ln, fn) {.kind = MS_SNAP_PYTHON, .function = fn, .file = file_, .line = ln}
#define SITE(id_, fr, live) \
  {.id = id_, .nframes = sizeof fr / sizeof *fr, .frames = fr, .heap = {.present = true, .live_bytes = live}}

static const ms_snap_frame native_fr[] = {
  NAT("operator new(unsigned long)", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", 0x10),
  NAT("build_index", "/app/bin", 0x11d5),
  NAT("qsort_r", "/lib/x86_64-linux-gnu/libc.so.6", 0x20),
  NAT("main", "/app/bin", 0x30),
  NAT("__libc_start_call_main", "/lib/x86_64-linux-gnu/libc.so.6", 0x40),
  NAT("_start", "/app/bin", 0x50),
};
static const ms_snap_frame plumbing_fr[] = {NAT("_Znwm", "/usr/lib/libstdc++.so.6", 1), NAT("strdup", "/lib/libc.so.6", 2)};
static const ms_snap_frame py_fr[] = {
  NAT("PyMem_Malloc", "/usr/lib/libpython3.11.so.1.0", 0x5),
  PY("/venv/lib/python3.11/site-packages/numpy/core/numeric.py", 205, "ones"),
  PY("/app/job.py", 12, "load"),
  NAT("_PyEval_EvalFrameDefault", "/usr/bin/python3.11", 0x60),
  PY("/usr/lib/python3/dist-packages/flask/app.py", 880, "dispatch"),
  PY("<frozen importlib._bootstrap>", 241, "_call_with_frames_removed"),
  NAT("json_scan", "/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so", 0x70),
  NAT("ms_thing", "/usr/lib/libmemshim.so", 0x80),
  NAT("ext_fn", "/venv/lib/python3.11/site-packages/mylib/_ext.so", 0x90),
};
static const ms_snap_frame py_lib_only_fr[] = {
  NAT("PyList_Append", "/usr/lib/libpython3.11.so.1.0", 0x5),
  PY("/usr/lib/python3.11/json/decoder.py", 353, "raw_decode"),
  PY("/usr/lib/python3.11/json/__init__.py", 346, "loads"),
};

static void test_named_frame(void **state) {
  (void)state;
  char where[1024];
  ms_snap_site native = SITE(1, native_fr, 10), plumbing = SITE(2, plumbing_fr, 10), py = SITE(3, py_fr, 10),
               lib_only = SITE(4, py_lib_only_fr, 10), empty = {.id = 5};
  /* native: the first frame that is not allocator plumbing */
  assert_ptr_equal(ms_site_named_frame(&native), &native_fr[1]);
  ms_site_where(&native, where, sizeof where);
  assert_string_equal(where, "build_index (/app/bin+0x11d5)");
  /* all plumbing: the allocating frame */
  assert_ptr_equal(ms_site_named_frame(&plumbing), &plumbing_fr[0]);
  /* Python: the innermost frame of the user's code, via the library line inside it */
  assert_ptr_equal(ms_site_named_frame(&py), &py_fr[2]);
  ms_site_where(&py, where, sizeof where);
  assert_string_equal(where, "/app/job.py:12 load (via /venv/lib/python3.11/site-packages/numpy/core/numeric.py:205 ones, "
                             "from PyMem_Malloc (/usr/lib/libpython3.11.so.1.0+0x5))");
  /* only library Python frames: the innermost one */
  assert_ptr_equal(ms_site_named_frame(&lib_only), &py_lib_only_fr[1]);
  assert_null(ms_site_named_frame(&empty));
  ms_site_where(&empty, where, sizeof where);
  assert_string_equal(where, "[no stack]");
  /* frame names: unknown symbols by module and offset; collapsed names lose ';' and control characters */
  ms_snap_frame unknown = NAT("??", "/usr/lib/libx.so", 0xabc), odd = NAT("op;er\tx", "/m", 1);
  ms_frame_label(&unknown, where, sizeof where);
  assert_string_equal(where, "libx.so+0xabc");
  ms_frame_collapsed(&odd, where, sizeof where);
  assert_string_equal(where, "op:er x");
}

static void mask_is(const ms_snap_frame *fr, uint32_t n, const char *want) {
  ms_snap_site site = {.id = 1, .nframes = n, .frames = fr};
  char mask[32];
  assert_true(n < sizeof mask);
  memset(mask, 'x', sizeof mask);
  ms_site_fold(&site, mask);
  assert_string_equal(mask, want);
}

static void test_fold(void **state) {
  (void)state;
  /* plumbing, kept (named), libc outside the innermost non-libc frame, kept, libc entry, entry */
  mask_is(native_fr, 6, "101011");
  /* interpreter, library line inside the user frame (kept), user frame (named), interpreter,
   * framework outside it, import system, lib-dynload, memshim, a package's extension (kept) */
  mask_is(py_fr, 9, "100111110");
  /* a libc frame that is the innermost frame is not folded as a caller */
  static const ms_snap_frame libc_leaf[] = {NAT("getline", "/lib/x86_64-linux-gnu/libc.so.6", 1),
                                            NAT("read_conf", "/app/bin", 2)};
  mask_is(libc_leaf, 2, "00");
  mask_is(NULL, 0, "");
}

static void test_group_sites(void **state) {
  (void)state;
  static const ms_snap_frame a[] = {NAT("PyMem_Malloc", "/usr/lib/libpython3.11.so", 1), PY("/app/a.py", 10, "f"),
                                    PY("/app/main.py", 3, "<module>")};
  static const ms_snap_frame b[] = {NAT("_Znwm", "/usr/lib/libstdc++.so.6", 1), NAT("ext", "/app/ext.so", 2),
                                    PY("/app/a.py", 10, "f"), NAT("_PyEval_EvalFrameDefault", "/usr/bin/python3", 3),
                                    PY("/app/main.py", 3, "<module>")};
  static const ms_snap_frame c[] = {NAT("PyMem_Malloc", "/usr/lib/libpython3.11.so", 1), PY("/app/a.py", 10, "f"),
                                    PY("/app/main.py", 4, "<module>")}; /* another caller line */
  static const ms_snap_frame d[] = {NAT("PyMem_Malloc", "/usr/lib/libpython3.11.so", 1), PY("/app/view.py", 7, "index"),
                                    PY("/usr/lib/python3/dist-packages/flask/app.py", 880, "dispatch")};
  static const ms_snap_frame e[] = {NAT("PyMem_Malloc", "/usr/lib/libpython3.11.so", 1), PY("/app/view.py", 7, "index"),
                                    PY("/usr/lib/python3/dist-packages/flask/app.py", 902, "full_dispatch"),
                                    PY("/usr/bin/gunicorn", 8, "<module>")}; /* other framework lines */
  static const ms_snap_frame f[] = {NAT("build_index", "/app/bin", 1)};
  static const ms_snap_frame g[] = {NAT("build_index", "/app/bin", 1)}; /* native: never merged */
  ms_snap_site sites[] = {SITE(1, a, 70), SITE(2, b, 60), SITE(3, c, 50), SITE(4, d, 40),
                          SITE(5, e, 30), SITE(6, f, 20), SITE(7, g, 10)};
  ms_snapshot s = {.sites = sites, .nsites = 7};
  ms_arena arena;
  ms_arena_init(&arena);
  uint32_t *group = ms_snap_group_sites(&s, &arena);
  assert_non_null(group);
  const uint32_t want[] = {0, 0, 2, 3, 3, 5, 6};
  for (uint32_t i = 0; i < 7; i++) assert_int_equal(group[i], want[i]);
  ms_arena_release(&arena);
}

/* The writer's output into memory. */
static char out_text[65536];
static const char *render(void (*write)(const ms_snapshot *, const ms_write_opts *, ms_out *), const ms_snapshot *s,
                          unsigned top) {
  static ms_out o;
  int fd = memfd_create("out", 0);
  assert_true(fd >= 0);
  ms_out_init(&o, fd);
  ms_write_opts opt = {.top = top};
  write(s, &opt, &o);
  assert_int_equal(ms_out_flush(&o), 0);
  ssize_t n = pread(fd, out_text, sizeof out_text - 1, 0);
  close(fd);
  assert_true(n >= 0);
  out_text[n] = 0;
  return out_text;
}

static unsigned count_lines(const char *text) {
  unsigned n = 0;
  for (; *text; text++) n += *text == '\n';
  return n;
}

static void test_text_ranking(void **state) {
  (void)state;
  static const ms_snap_frame s1[] = {NAT("small", "/app/bin", 1)}, s2[] = {NAT("big", "/app/bin", 2)},
                             s3[] = {NAT("mid", "/app/bin", 3)}, s4[] = {NAT("grows", "/app/bin", 4)};
  /* not in live order: the text report ranks rows itself */
  ms_snap_site sites[] = {SITE(11, s1, 100), SITE(12, s2, 9000), SITE(13, s3, 5000), SITE(14, s4, 200)};
  sites[3].heap.growth_bytes = 4096;
  sites[2].heap.growth_bytes = 8192;
  ms_snapshot s = {.reason = "exit", .has_profile = true, .sites = sites, .nsites = 4};
  const char *t = render(ms_write_text, &s, 2);
  assert_non_null(strstr(t, "top 2 of 4 call sites by live bytes"));
  assert_non_null(strstr(t, "#1  8.8 KiB live"));
  assert_non_null(strstr(t, "site 12"));
  const char *first = strstr(t, "#1 "), *second = strstr(t, "#2 ");
  assert_non_null(first);
  assert_non_null(second);
  assert_non_null(strstr(first, "big"));
  assert_true(strstr(first, "big") < second);
  assert_true(strstr(second, "mid") != NULL);
  assert_null(strstr(t, "#3 "));
  assert_non_null(strstr(t, "top 2 of 2 call sites by growth since the warm-up:\n+8.0 KiB  site 13: mid"));
  t = render(ms_write_text, &s, 1);
  assert_non_null(strstr(t, "top 1 of 4 call sites by live bytes"));
  assert_non_null(strstr(t, "top 1 of 2 call sites by growth"));
  t = render(ms_write_text, &s, 0); /* 0 = all */
  assert_non_null(strstr(t, "top 4 of 4 call sites by live bytes"));
  assert_non_null(strstr(t, "#4 "));
  t = render(ms_write_text, &s, 99);
  assert_non_null(strstr(t, "top 4 of 4 call sites by live bytes"));
}

static void test_text_merged_rows(void **state) {
  (void)state;
  static const ms_snap_frame a[] = {NAT("PyMem_Malloc", "/usr/lib/libpython3.11.so", 1), PY("/app/a.py", 10, "f")};
  static const ms_snap_frame b[] = {NAT("_Znwm", "/usr/lib/libstdc++.so.6", 1), NAT("ext", "/app/ext.so", 2),
                                    PY("/app/a.py", 10, "f")};
  static const ms_snap_frame c[] = {NAT("other", "/app/bin", 1)};
  ms_snap_site sites[] = {SITE(1, a, 3000), SITE(2, c, 2500), SITE(3, b, 1000)};
  ms_snapshot s = {.reason = "exit", .has_profile = true, .sites = sites, .nsites = 3};
  const char *t = render(ms_write_text, &s, 10);
  /* one row for the Python line, with both stacks' bytes: it ranks above the 2500-byte site */
  assert_non_null(strstr(t, "top 2 of 2 call sites by live bytes (3 stacks; stacks of one Python line merged)"));
  assert_non_null(strstr(t, "#1  3.9 KiB live"));
  assert_non_null(strstr(t, "[2 native stacks]"));
  assert_non_null(strstr(t, "+ 1 more native stack under this Python line: site 3 (1000 B)"));
}

static void test_collapsed_limits(void **state) {
  (void)state;
  static const ms_snap_frame a[] = {NAT("leaf", "/app/bin", 1), NAT("main", "/app/bin", 2)},
                             b[] = {NAT("other", "/app/bin", 3)};
  ms_snap_site sites[] = {SITE(1, a, 300), SITE(2, b, 200), SITE(3, b, 0), {.id = 4, .heap = {.live_bytes = 50}}};
  sites[1].device = (ms_snap_mem){.present = true, .live_bytes = 4096};
  sites[1].device_api = "cuMemAlloc";
  ms_snapshot s = {.sites = sites, .nsites = 4};
  const char *t = render(ms_write_collapsed, &s, 0);
  /* outermost first; no line for 0 live bytes or no stack; the device root after the heap */
  assert_string_equal(t, "main;leaf 300\nother 200\n[device];other;cuMemAlloc 4096\n");
  t = render(ms_write_collapsed, &s, 1);
  assert_string_equal(t, "main;leaf 300\n[device];other;cuMemAlloc 4096\n"); /* --top limits heap sites only */
  assert_int_equal(count_lines(t), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_limit_and_verdict), cmocka_unit_test(test_fmt_bytes),      cmocka_unit_test(test_plumbing),
    cmocka_unit_test(test_py_library),        cmocka_unit_test(test_named_frame),    cmocka_unit_test(test_fold),
    cmocka_unit_test(test_group_sites),       cmocka_unit_test(test_text_ranking),   cmocka_unit_test(test_text_merged_rows),
    cmocka_unit_test(test_collapsed_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
