/* The symbolizer on a static function of this executable; the JSON report written by the shared
 * writer from a snapshot and read back by the CLI's loader (schema v1 round trip, with Python
 * frames, device bytes, the gpu section and GPU timeline series of docs/report-format.md); the one
 * frame-naming rule of text and collapsed output; the report arena's empty and overflowing arrays;
 * the CLI's list of a directory's reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/load.h"
#include "profile/buildid.h"
#include "profile/symbolize.h"
#include "util/arena.h"
#include "report/write.h"

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

static const ms_snap_frame frames1[] = {
  {.kind = MS_SNAP_NATIVE, .function = "cache_insert", .module = "/usr/bin/worker", .offset = 0x11d5},
  {.kind = MS_SNAP_PYTHON, .function = "Encoder.encode_batch", .file = "/app/my worker.py", .line = 42},
  {.kind = MS_SNAP_NATIVE, .function = "??", .module = "/usr/lib/libx.so", .offset = 0xfffffffffff0ull},
  {.kind = MS_SNAP_NATIVE, .function = "op;er<a b>", .module = "/usr/bin/worker", .offset = 0x20},
};
static const ms_snap_frame frames2[] = {{.kind = MS_SNAP_NATIVE, .function = "main", .module = "/w", .offset = 1}};

static ms_snapshot fixture(void) {
  static ms_snap_site sites[2];
  sites[0] = (ms_snap_site){.id = 7, .nframes = 4, .frames = frames1,
                            .heap = {true, 5000000000ll, 3, 9000000000ull, 10, 6000000000ull, -42},
                            .device = {true, 1ll << 33, 2, 1ull << 34, 4, 1ull << 33, 1ll << 32}};
  sites[1] = (ms_snap_site){.id = 9, .nframes = 1, .frames = frames2, .heap = {true, 100, 1, 100, 1, 100, 100}};
  static const ms_snap_point pts[2] = {{.t_ms = 100, .rss = 1u << 20, .heap_live = 4096, .heap_retained = 8192},
                                       {.t_ms = 200, .rss = 2u << 20, .heap_live = 8192, .mmap_resident = 7,
                                        .has_gpu = true, .gpu_tracked = 5ull << 30, .gpu_used = 6ull << 30}};
  static const ms_snap_event ev[1] = {{.t_ms = 150, .bytes = 65536, .kind = "purge", .trigger = "retained"}};
  static const ms_snap_leak_site ls[1] = {{.id = 9, .growth_bytes = 100, .late_growth_bytes = 60, .steady = true}};
  static const ms_snap_gpu_device dev[1] = {{.index = 0, .name = "NVIDIA H200", .total_bytes = 150ull << 30,
                                             .nvml_used_bytes = 6ull << 30, .tracked_bytes = 5ull << 30,
                                             .pool_reserved_bytes = 1ull << 30, .residual_bytes = 1ull << 30,
                                             .host_pinned_bytes = 4096}};
  static const ms_snap_gpu_event gev[1] = {{.t_ms = 180, .bytes = 1ull << 30, .kind = "warn", .device = 0}};
  static const ms_snap_module mods[1] = {{.path = "/usr/bin/worker", .build_id = "0123abcd"}};
  ms_snapshot s = {.reason = "signal", .time_ms = 1234, .has_profile = true, .sample_bytes = 524288,
                   .stack_depth = 32, .sites_count = 12, .sampled_live = 3, .memory_bytes = 4096,
                   .total_heap = {true, 5000000100ll, 4, 9000000100ull, 11, 6000000000ull, 0},
                   .total_device = {true, 1ll << 33, 2, 1ull << 34, 4, 1ull << 33, 0},
                   .sites = sites, .nsites = 2, .interval_ms = 100, .points = pts, .npoints = 2, .events = ev,
                   .nevents = 1, .modules = mods, .nmodules = 1};
  s.process.pid = 42;
  s.process.ppid = 1;
  s.process.start_time = 1700000000;
  s.process.command = "we\"ird\\name\t\x01</script>";
  s.process.backend = "jemalloc";
  s.process.memshim_version = "0.1.0";
  s.container.present = true;
  s.container.version = 2;
  s.container.cgroup = "/sys/fs/cgroup/app";
  s.container.limit_file = "memory.max";
  s.container.limit_bytes = 150ull << 20;
  s.container.has_usage = true;
  s.container.usage_bytes = 140ull << 20;
  s.container.oom_kill = 1;
  s.container.has_file = true;
  s.container.file_bytes = 30ull << 20;
  s.container.has_psi = true;
  s.container.psi_some_avg10_bp = 1234;
  s.container.psi_full_avg10_bp = 5;
  s.container.pressure_reports = 2;
  static const ms_snap_mapping maps[2] = {
      {.site = 9, .path = "/data/weights.bin", .start = 0x7f0000000000ull, .end = 0x7f0040000000ull,
       .resident_bytes = 3ull << 20, .droppable = true},
      {.site = 0, .path = NULL, .start = 0x7f1000000000ull, .end = 0x7f1000200000ull, .resident_bytes = 8192,
       .droppable = false}};
  s.mapped = maps;
  s.nmapped = 2;
  s.leak = (ms_snap_leak){.checked = true, .warmup_ms = 300, .from_ms = 300, .to_ms = 1234, .snapshots = 9,
                          .has_limit = true, .limit_bytes = 50, .growth_bytes = 100, .verdict = "fail",
                          .sites = ls, .nsites = 1};
  s.gpu = (ms_snap_gpu){.present = true, .runtime = "cudart 12.4", .nvml = true, .devices = dev, .ndevices = 1,
                        .tracked_growth_bytes = 1ll << 31, .events = gev, .nevents = 1};
  return s;
}

/* Run a writer into a temporary file; returns its path (static buffer). */
static const char *write_to_file(void (*w)(const ms_snapshot *, ms_out *), const ms_snapshot *s) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/ms_report_test.XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static ms_out out;
  ms_out_init(&out, fd);
  w(s, &out);
  assert_int_equal(ms_out_flush(&out), 0);
  close(fd);
  return path;
}

static void json_writer(const ms_snapshot *s, ms_out *o) { ms_write_json(s, o, 1); }
static void text_writer(const ms_snapshot *s, ms_out *o) { ms_write_text(s, NULL, o); }
static void collapsed_writer(const ms_snapshot *s, ms_out *o) { ms_write_collapsed(s, NULL, o); }

static char *slurp(const char *path) {
  static char buf[65536];
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  unlink(path);
  return buf;
}

static void assert_mem_equal(const ms_snap_mem *a, const ms_snap_mem *b, bool growth) {
  assert_int_equal(a->present, b->present);
  assert_true(a->live_bytes == b->live_bytes && a->live_count == b->live_count);
  assert_true(a->allocated_bytes == b->allocated_bytes && a->allocated_count == b->allocated_count);
  assert_true(a->peak_live_bytes == b->peak_live_bytes);
  if (growth) assert_true(a->growth_bytes == b->growth_bytes);
}

static void test_json_round_trip(void **state) {
  (void)state;
  ms_snapshot s = fixture();
  const char *path = write_to_file(json_writer, &s);
  ms_cli_report r;
  char err[512];
  if (ms_cli_report_load(path, &r, err, sizeof err) != 0) fail_msg("%s", err);
  const char *text = slurp(path);
  assert_null(strstr(text, "</script>")); /* html_safe: '<' written as \u003c */
  const ms_snapshot *g = &r.snap;
  assert_string_equal(g->reason, "signal");
  assert_string_equal(g->process.command, s.process.command);
  assert_true(g->process.pid == 42 && g->process.start_time == 1700000000);
  assert_true(g->container.present && g->container.version == 2 && g->container.limit_bytes == 150ull << 20);
  assert_string_equal(g->container.cgroup, "/sys/fs/cgroup/app");
  assert_string_equal(g->container.limit_file, "memory.max");
  assert_true(g->container.has_usage && g->container.usage_bytes == 140ull << 20 && g->container.oom_kill == 1);
  assert_true(g->container.has_psi && g->container.psi_some_avg10_bp == 1234 && g->container.psi_full_avg10_bp == 5);
  assert_true(g->container.pressure_reports == 2);
  assert_true(g->container.has_file && g->container.file_bytes == 30ull << 20);
  assert_false(g->exact);
  assert_true(g->sample_bytes == 524288);
  assert_mem_equal(&g->total_heap, &s.total_heap, false);
  assert_mem_equal(&g->total_device, &s.total_device, false);
  assert_int_equal(g->nsites, 2);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(g->sites[i].id, s.sites[i].id);
    assert_mem_equal(&g->sites[i].heap, &s.sites[i].heap, true);
    assert_mem_equal(&g->sites[i].device, &s.sites[i].device, true);
    assert_int_equal(g->sites[i].nframes, s.sites[i].nframes);
    for (uint32_t k = 0; k < s.sites[i].nframes; k++) {
      const ms_snap_frame *a = &g->sites[i].frames[k], *b = &s.sites[i].frames[k];
      assert_int_equal(a->kind, b->kind);
      assert_string_equal(a->function, b->function);
      if (b->kind == MS_SNAP_NATIVE) {
        assert_string_equal(a->module, b->module);
        assert_true(a->offset == b->offset); /* above 2^53: exact as a hex string */
      } else {
        assert_string_equal(a->file, b->file);
        assert_int_equal(a->line, b->line);
      }
    }
  }
  assert_int_equal(g->npoints, 2);
  assert_false(g->points[0].has_gpu);
  assert_true(g->points[1].has_gpu && g->points[1].gpu_tracked == 5ull << 30 && g->points[1].gpu_used == 6ull << 30);
  assert_true(g->points[1].mmap_resident == 7);
  assert_int_equal(g->nevents, 1);
  assert_string_equal(g->events[0].kind, "purge");
  assert_string_equal(g->events[0].trigger, "retained");
  assert_string_equal(g->leak.verdict, "fail");
  assert_true(g->leak.has_limit && g->leak.limit_bytes == 50 && g->leak.to_ms == 1234);
  assert_true(g->leak.nsites == 1 && g->leak.sites[0].steady && g->leak.sites[0].late_growth_bytes == 60);
  assert_true(g->gpu.present && g->gpu.nvml && g->gpu.ndevices == 1 && g->gpu.nevents == 1);
  assert_string_equal(g->gpu.runtime, "cudart 12.4");
  assert_string_equal(g->gpu.devices[0].name, "NVIDIA H200");
  assert_true(g->gpu.devices[0].residual_bytes == 1ull << 30 && g->gpu.devices[0].host_pinned_bytes == 4096);
  assert_true(g->gpu.tracked_growth_bytes == 1ll << 31);
  assert_string_equal(g->gpu.events[0].kind, "warn");
  assert_string_equal(ms_snap_build_id(g, "/usr/bin/worker"), "0123abcd");
  assert_int_equal(g->nmapped, 2);
  assert_true(g->mapped[0].site == 9 && g->mapped[0].droppable && g->mapped[0].resident_bytes == 3ull << 20);
  assert_true(g->mapped[0].start == 0x7f0000000000ull && g->mapped[0].end == 0x7f0040000000ull);
  assert_string_equal(g->mapped[0].path, "/data/weights.bin");
  assert_true(g->mapped[1].site == 0 && !g->mapped[1].droppable && !g->mapped[1].path && g->mapped[1].resident_bytes == 8192);
  assert_true(ms_snap_mapped_droppable(g) == 3ull << 20); /* the kept mapping is not page cache the cap drops */
  assert_non_null(strstr(text, "\"droppable_resident_bytes\":3145728"));
  const char *txt = slurp(write_to_file(text_writer, g));
  assert_non_null(strstr(txt, "mapped files (not heap): 2 tracked"));
  assert_non_null(strstr(txt, "page cache the cap can drop"));
  assert_non_null(strstr(txt, "/data/weights.bin"));
  ms_cli_report_free(&r);
}

/* docs/report-format.md: people read a Python frame as "file:LINE function"; collapsed stacks use the
 * same string, ';' replaced by ':', spaces kept; an unknown native symbol is module+offset. */
static void test_frame_names(void **state) {
  (void)state;
  ms_snapshot s = fixture();
  char *c = slurp(write_to_file(collapsed_writer, &s));
  assert_string_equal(c, "op:er<a b>;libx.so+0xfffffffffff0;/app/my worker.py:42 Encoder.encode_batch;cache_insert "
                         "5000000000\nmain 100\n"
                         "[device];op:er<a b>;libx.so+0xfffffffffff0;/app/my worker.py:42 Encoder.encode_batch;cache_insert "
                         "8589934592\n"); /* device bytes under their own root (docs/report-format.md) */
  char *t = slurp(write_to_file(text_writer, &s));
  assert_non_null(strstr(t, "\n      cache_insert  (/usr/bin/worker+0x11d5)\n      /app/my worker.py:42 Encoder.encode_batch\n"));
  assert_non_null(strstr(t, "    device: 8.0 GiB live in 2 allocations (growth 4.0 GiB)\n"));
  assert_non_null(strstr(t, "gpu: runtime cudart 12.4, NVML yes, tracked growth 2.0 GiB\n"));
  assert_non_null(strstr(t, "  device 0 NVIDIA H200: tracked 5.0 GiB, used 6.0 GiB (residual 1.0 GiB) of 150.0 GiB\n"));
  assert_non_null(strstr(t, "\nleak check: fail (steady growth 100 B after warm-up at 0.3 s, limit 50 B)\n"));
  assert_non_null(strstr(t, "\ncontainer: cgroup v2 /sys/fs/cgroup/app, limit 150.0 MiB (memory.max), usage 140.0 MiB "
                            "(headroom 10.0 MiB), of it page cache 30.0 MiB, PSI some 12.34% full 0.05% (avg10), oom_kill 1\n"));
  char b[32];
  ms_fmt_bytes(b, sizeof b, -1536);
  assert_string_equal(b, "-1.5 KiB");
  ms_fmt_bytes(b, sizeof b, 1023);
  assert_string_equal(b, "1023 B");
}

static void test_build_id(void **state) {
  (void)state;
  char id[128];
  assert_int_equal(ms_elf_build_id("/proc/self/exe", id, sizeof id), 0);
  assert_int_equal(strlen(id), 40); /* gcc's default --build-id is sha1 */
  assert_int_equal(strspn(id, "0123456789abcdef"), 40);
  assert_int_equal(ms_elf_build_id("/etc/hostname", id, sizeof id), -1);
}

/* An empty array is a valid non-NULL pointer (NULL means out of memory to every caller); a count
 * whose size overflows is refused, not wrapped to a small allocation. */
static void test_arena_array(void **state) {
  (void)state;
  ms_arena a;
  ms_arena_init(&a);
  assert_non_null(ms_arena_alloc(&a, 0)); /* the first call maps a chunk */
  assert_non_null(ms_arena_array(&a, 0, sizeof(uint64_t)));
  uint64_t *v = ms_arena_array(&a, 3, sizeof *v);
  assert_non_null(v);
  assert_int_equal((uintptr_t)v % 16, 0);
  assert_true(v[0] == 0 && v[1] == 0 && v[2] == 0);
  v[2] = 7;
  assert_non_null(ms_arena_alloc(&a, 0));
  assert_null(ms_arena_array(&a, SIZE_MAX / sizeof *v + 1, sizeof *v));
  assert_null(ms_arena_alloc(&a, SIZE_MAX));
  assert_null(ms_arena_alloc(&a, SIZE_MAX - 8));
  assert_int_equal(v[2], 7);
  ms_arena_release(&a);
}

/* A directory's reports are appended to the caller's list after what it holds, sorted by name
 * among themselves; other files are not reports. */
static void test_list_reports(void **state) {
  (void)state;
  char dir[] = "/tmp/ms_test_list.XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  const char *names[] = {"memshim.20.json", "memshim.10.json", "memshim.10.txt", "other.json", "memshim.json", ".hidden.json"};
  for (int i = 0; i < 6; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
  }
  ms_cli_paths l = {0};
  assert_int_equal(ms_cli_paths_add(&l, "first.json"), 0);
  assert_int_equal(ms_cli_list_reports(dir, "memshim.", &l), 2);
  assert_int_equal(l.n, 3);
  assert_string_equal(l.paths[0], "first.json");
  snprintf(path, sizeof path, "%s/memshim.10.json", dir);
  assert_string_equal(l.paths[1], path);
  snprintf(path, sizeof path, "%s/memshim.20.json", dir);
  assert_string_equal(l.paths[2], path);
  assert_int_equal(ms_cli_list_reports("/nonexistent/memshim-dir", "", &l), -1);
  assert_int_equal(l.n, 3);
  ms_cli_paths_free(&l);
  assert_int_equal(l.n, 0);
  /* every *.json whatever its prefix (memshim report DIR), hidden files left out */
  assert_int_equal(ms_cli_list_reports(dir, "", &l), 4);
  snprintf(path, sizeof path, "%s/memshim.json", dir);
  assert_string_equal(l.paths[2], path);
  snprintf(path, sizeof path, "%s/other.json", dir);
  assert_string_equal(l.paths[3], path);
  ms_cli_paths_free(&l);
  for (int i = 0; i < 6; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_symbolize_static),
    cmocka_unit_test(test_json_round_trip),
    cmocka_unit_test(test_frame_names),
    cmocka_unit_test(test_build_id),
    cmocka_unit_test(test_arena_array),
    cmocka_unit_test(test_list_reports),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
