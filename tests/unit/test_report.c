/* The symbolizer on a static function of this executable, and the JSON report written by the
 * library's writer and read back by the CLI's reader (schema v1 round trip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/json.h"
#include "profile/symbolize.h"
#include "report/report.h"

/* Static: only in .symtab, never in .dynsym, so dladdr alone cannot name it. */
static __attribute__((noinline, used)) int hidden_static_allocator(int x) { return x * 3 + 1; }
static __attribute__((noinline, used)) int another_static_caller(int x) { return hidden_static_allocator(x) + 2; }

static void test_symbolize_static(void **state) {
  (void)state;
  ms_symbolize_begin();
  ms_symbol s;
  uintptr_t fn = (uintptr_t)&hidden_static_allocator;
  ms_symbolize(fn + 2, &s); /* inside the function */
  assert_string_equal(s.function, "hidden_static_allocator");
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = 0;
  assert_string_equal(s.module, exe);
  /* offline: the same name from the file at the reported offset */
  assert_string_equal(ms_symbolize_file(exe, s.offset), "hidden_static_allocator");
  ms_symbolize((uintptr_t)&another_static_caller, &s);
  assert_string_equal(s.function, "another_static_caller");
  /* a libc function through its .dynsym */
  ms_symbolize((uintptr_t)&getpid, &s);
  assert_non_null(strstr(s.module, "libc"));
  assert_non_null(strstr(s.function, "getpid"));
  /* an address in no module */
  ms_symbolize(16, &s);
  assert_string_equal(s.function, "??");
  assert_string_equal(s.module, "[unknown]");
}

static void test_json_round_trip(void **state) {
  (void)state;
  /* return addresses: the writer symbolizes ra - 1 */
  uintptr_t frames1[2] = {(uintptr_t)&hidden_static_allocator + 5, (uintptr_t)&another_static_caller + 5};
  uintptr_t frames2[1] = {(uintptr_t)&another_static_caller + 3};
  ms_report_site sites[2] = {
    {.id = 7, .depth = 2, .frames = frames1, .live_bytes = 5000000000ll, .live_count = 3, .alloc_bytes = 9000000000ull,
     .alloc_count = 10, .peak_bytes = 6000000000ull, .growth = -42},
    {.id = 9, .depth = 1, .frames = frames2, .live_bytes = 100, .live_count = 1, .alloc_bytes = 100, .alloc_count = 1,
     .peak_bytes = 100, .growth = 100},
  };
  ms_timeline_point pts[2] = {{.t_ms = 100, .rss = 1u << 20, .heap_live = 4096, .heap_retained = 8192, .mmap_resident = 0},
                              {.t_ms = 200, .rss = 2u << 20, .heap_live = 8192, .heap_retained = 0, .mmap_resident = 7}};
  ms_policy_event ev[1] = {{.seq = 1, .t_ms = 150, .kind = MS_EVENT_PURGE, .bytes = 65536, .trigger = "retained"}};
  ms_leak_site ls[1] = {{.id = 9, .growth = 100, .late_growth = 60, .steady = true}};
  ms_report r = {.reason = "signal", .time_ms = 1234, .pid = 42, .ppid = 1, .start_time = 1700000000,
                 .backend = "jemalloc", .sample_bytes = 524288, .stack_depth = 32, .sites_count = 12,
                 .sites = sites, .nsites = 2, .live_bytes = 5000000100ll, .live_count = 4, .alloc_bytes = 9000000100ull,
                 .alloc_count = 11, .peak_bytes = 6000000000ull, .interval_ms = 100, .points = pts, .npoints = 2,
                 .events = ev, .nevents = 1, .leak_sites = ls, .has_limit = true, .limit_bytes = 50};
  r.leak = (ms_leak_result){.checked = true, .warmup_ms = 300, .from_ms = 300, .to_ms = 1234, .snapshots = 9,
                            .growth = 100, .nsites = 1, .nsteady = 1};
  snprintf(r.comm, sizeof r.comm, "we\"ird\\name\t\x01");

  char path[] = "/tmp/ms_report_test.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static ms_out out;
  ms_out_init(&out, fd);
  ms_symbolize_begin();
  ms_report_write_json(&r, &out);
  assert_int_equal(ms_out_flush(&out), 0);
  close(fd);

  char err[256];
  ms_json *d = ms_json_parse_file(path, err, sizeof err);
  if (!d) fail_msg("%s", err);
  unlink(path);
  assert_string_equal(ms_json_string(ms_json_get(d, "format"), ""), "memshim-report");
  assert_true(ms_json_u64(ms_json_get(d, "version"), 0) == 1);
  assert_string_equal(ms_json_string(ms_json_get(d, "reason"), ""), "signal");
  assert_string_equal(ms_json_string(ms_json_path(d, "process.command"), ""), "we\"ird\\name\t\x01");
  assert_true(ms_json_u64(ms_json_path(d, "process.pid"), 0) == 42);
  assert_false(ms_json_bool(ms_json_path(d, "profile.exact"), true));
  assert_true(ms_json_u64(ms_json_path(d, "profile.totals.heap.live_bytes"), 0) == 5000000100ull);
  const ms_json *s0 = ms_json_index(ms_json_get(d, "sites"), 0);
  assert_true(ms_json_u64(ms_json_get(s0, "id"), 0) == 7);
  assert_true(ms_json_u64(ms_json_path(s0, "memory.heap.allocated_bytes"), 0) == 9000000000ull);
  assert_true(ms_json_i64(ms_json_path(s0, "memory.heap.growth_bytes"), 0) == -42);
  assert_null(ms_json_path(s0, "memory.device")); /* no GPU fields in version 1 */
  const ms_json *f0 = ms_json_index(ms_json_get(s0, "frames"), 0);
  assert_string_equal(ms_json_string(ms_json_get(f0, "kind"), ""), "native");
  assert_string_equal(ms_json_string(ms_json_get(f0, "function"), ""), "hidden_static_allocator");
  assert_true(strncmp(ms_json_string(ms_json_get(f0, "offset"), ""), "0x", 2) == 0);
  assert_string_equal(ms_json_string(ms_json_get(ms_json_index(ms_json_get(s0, "frames"), 1), "function"), ""),
                      "another_static_caller");
  assert_int_equal(ms_json_count(ms_json_path(d, "timeline.points")), 2);
  assert_true(ms_json_u64(ms_json_get(ms_json_index(ms_json_path(d, "timeline.points"), 1), "mmap_resident"), 0) == 7);
  const ms_json *e0 = ms_json_index(ms_json_path(d, "timeline.events"), 0);
  assert_string_equal(ms_json_string(ms_json_get(e0, "kind"), ""), "purge");
  assert_string_equal(ms_json_string(ms_json_get(e0, "trigger"), ""), "retained");
  assert_string_equal(ms_json_string(ms_json_path(d, "leak.verdict"), ""), "fail"); /* 100 > 50 */
  assert_true(ms_json_u64(ms_json_path(d, "leak.limit_bytes"), 0) == 50);
  assert_int_equal(ms_json_count(ms_json_path(d, "leak.window_ms")), 2);
  const ms_json *l0 = ms_json_index(ms_json_path(d, "leak.sites"), 0);
  assert_true(ms_json_bool(ms_json_get(l0, "steady"), false));
  assert_true(ms_json_i64(ms_json_get(l0, "late_growth_bytes"), 0) == 60);
  ms_json_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_symbolize_static),
    cmocka_unit_test(test_json_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
