/* Memory-cgroup discovery (util/cgroup.c) against cgroup trees laid out in a temporary
 * directory: v2 and v1, nested limits (the smallest wins), "max", v1's "unlimited", a
 * namespaced mount, unreadable files, usage, events and PSI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/cgroup.h"

#define MB (1ull << 20)

static char tmp[256];

static void put(const char *rel, const char *text) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", tmp, rel);
  /* mkdir -p of the parent */
  for (char *s = p + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
    *s = 0;
    mkdir(p, 0755);
    *s = '/';
  }
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void path(char *out, size_t n, const char *rel) { snprintf(out, n, "%s/%s", tmp, rel); }

static int setup(void **state) {
  (void)state;
  snprintf(tmp, sizeof tmp, "/tmp/ms_cgroup_test.XXXXXX");
  assert_non_null(mkdtemp(tmp));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "chmod -R u+rw %s; rm -rf %s", tmp, tmp);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static void test_parsers(void **state) {
  (void)state;
  assert_true(ms_cgroup_parse_limit("max\n") == 0);
  assert_true(ms_cgroup_parse_limit("157286400\n") == 150 * MB);
  assert_true(ms_cgroup_parse_limit("9223372036854771712\n") == 0); /* v1 unlimited */
  assert_true(ms_cgroup_parse_limit("") == 0);
  assert_true(ms_cgroup_parse_limit("99999999999999999999999") == 0); /* overflow */
  const char *ev = "low 0\nhigh 3\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n";
  assert_int_equal(ms_cgroup_parse_key(ev, "oom"), 2);
  assert_int_equal(ms_cgroup_parse_key(ev, "oom_kill"), 1);
  assert_int_equal(ms_cgroup_parse_key(ev, "high"), 3);
  assert_int_equal(ms_cgroup_parse_key("oom_kill_disable 0\nunder_oom 0\n", "oom_kill"), -1);
  uint32_t some, full;
  assert_true(ms_cgroup_parse_psi("some avg10=12.34 avg60=1.00 avg300=0.00 total=5\n"
                                  "full avg10=3.5 avg60=0.00 avg300=0.00 total=1\n", &some, &full));
  assert_int_equal(some, 1234);
  assert_int_equal(full, 350);
  assert_false(ms_cgroup_parse_psi("nothing here\n", &some, &full));
}

/* v2: /a/b/c with memory.max at a (200M), memory.high at b (150M), "max" at c: 150M from b. */
static void test_v2_nested(void **state) {
  (void)state;
  put("proc_cgroup", "0::/a/b/c\n");
  put("sys/cgroup.controllers", "cpu memory pids\n");
  put("sys/a/memory.max", "209715200\n");
  put("sys/a/memory.high", "max\n");
  put("sys/a/b/memory.max", "max\n");
  put("sys/a/b/memory.high", "157286400\n");
  put("sys/a/b/c/memory.max", "max\n");
  put("sys/a/b/c/memory.high", "max\n");
  put("sys/a/b/c/memory.current", "52428800\n");
  put("sys/a/b/memory.current", "104857600\n");
  put("sys/a/b/memory.events", "low 0\nhigh 4\nmax 0\noom 1\noom_kill 1\n");
  put("sys/a/b/memory.pressure", "some avg10=25.00 avg60=0 avg300=0 total=9\nfull avg10=10.00 avg60=0 avg300=0 total=3\n");
  char root[512], pc[512], want[512];
  path(root, sizeof root, "sys");
  path(pc, sizeof pc, "proc_cgroup");
  ms_cgroup cg;
  assert_int_equal(ms_cgroup_find(&cg, root, pc, "/nonexistent"), 2);
  assert_true(cg.limit == 150 * MB);
  assert_string_equal(cg.limit_file, "memory.high");
  path(want, sizeof want, "sys/a/b/c");
  assert_string_equal(cg.dir, want);
  path(want, sizeof want, "sys/a/b");
  assert_string_equal(cg.limit_dir, want);
  ms_cgroup_state st;
  ms_cgroup_read(&cg, &st);
  assert_true(st.has_usage && st.usage == 100 * MB); /* the limiting cgroup's usage */
  assert_true(st.has_events && st.oom == 1 && st.oom_kill == 1);
  assert_true(st.has_psi);
  assert_int_equal(st.psi_some_avg10, 2500);
  assert_int_equal(st.psi_full_avg10, 1000);
  assert_int_equal(ms_cgroup_oom_kills(&cg), 1);
  assert_false(st.has_file); /* memory.stat is read apart */
  put("sys/a/b/memory.stat", "anon 1000\nfile 20971520\nkernel 5\nfile_mapped 7\n");
  ms_cgroup_read_stat(&cg, &st);
  assert_true(st.has_file && st.file_bytes == 20 * MB);

  /* The smaller limit higher up wins: a's max drops to 100M. */
  put("sys/a/memory.max", "104857600\n");
  assert_int_equal(ms_cgroup_find(&cg, root, pc, NULL), 2);
  assert_true(cg.limit == 100 * MB);
  assert_string_equal(cg.limit_file, "memory.max");

  /* Every level "max": a cgroup but no limit; its own usage still reads. */
  put("sys/a/memory.max", "max\n");
  put("sys/a/b/memory.high", "max\n");
  assert_int_equal(ms_cgroup_find(&cg, root, pc, NULL), 2);
  assert_true(cg.limit == 0);
  assert_null(cg.limit_file);
  path(want, sizeof want, "sys/a/b/c");
  assert_string_equal(cg.limit_dir, want);
  ms_cgroup_read(&cg, &st);
  assert_true(st.usage == 50 * MB);
  assert_false(st.has_events);
}

/* A limit file that cannot be read is skipped, not taken as "no limit anywhere". */
static void test_v2_unreadable(void **state) {
  (void)state;
  put("proc_cgroup", "0::/a/b\n");
  put("sys/cgroup.controllers", "memory\n");
  put("sys/a/memory.max", "104857600\n");
  put("sys/a/b/memory.current", "1\n");
  char root[512], pc[512], f[512];
  path(root, sizeof root, "sys");
  path(pc, sizeof pc, "proc_cgroup");
  /* unreadable whoever we are (root reads a mode-000 file): a directory where the file should be */
  path(f, sizeof f, "sys/a/b/memory.max");
  assert_int_equal(mkdir(f, 0755), 0);
  ms_cgroup cg;
  assert_int_equal(ms_cgroup_find(&cg, root, pc, NULL), 2);
  assert_true(cg.limit == 100 * MB);
}

/* An unreadable /proc/self/cgroup or a tree without memory files: nothing found. */
static void test_none(void **state) {
  (void)state;
  char root[512], pc[512];
  path(root, sizeof root, "sys");
  path(pc, sizeof pc, "missing");
  ms_cgroup cg;
  assert_int_equal(ms_cgroup_find(&cg, root, pc, NULL), 0);
  assert_int_equal(cg.version, 0);
  put("proc_cgroup", "0::/a\n");
  put("sys/cgroup.controllers", "cpu pids\n"); /* no memory controller enabled below */
  put("sys/a/cpu.max", "max 100000\n");
  path(pc, sizeof pc, "proc_cgroup");
  assert_int_equal(ms_cgroup_find(&cg, root, pc, NULL), 0);
  ms_cgroup_state st;
  ms_cgroup_read(&cg, &st);
  assert_false(st.has_usage || st.has_events || st.has_psi);
}

/* v1 on a hybrid host (unified mount without memory): nested limit_in_bytes, "unlimited" at the
 * root, oom_kill from memory.oom_control, PSI from /proc/pressure/memory. */
static void test_v1_hybrid(void **state) {
  (void)state;
  put("proc_cgroup", "9:name=systemd:/\n8:pids:/\n5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n");
  put("sys/unified/cgroup.controllers", "");
  put("sys/memory/memory.limit_in_bytes", "9223372036854771712\n");
  put("sys/memory/memory.usage_in_bytes", "999\n");
  put("sys/memory/docker/memory.limit_in_bytes", "314572800\n");
  put("sys/memory/docker/memory.usage_in_bytes", "5\n");
  put("sys/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");
  put("sys/memory/docker/abc/memory.usage_in_bytes", "7\n");
  put("sys/memory/docker/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  put("pressure", "some avg10=0.50 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  char root[512], pc[512], psi[512], want[512];
  path(root, sizeof root, "sys");
  path(pc, sizeof pc, "proc_cgroup");
  path(psi, sizeof psi, "pressure");
  ms_cgroup cg;
  assert_int_equal(ms_cgroup_find(&cg, root, pc, psi), 1);
  assert_true(cg.limit == 300 * MB);
  assert_string_equal(cg.limit_file, "memory.limit_in_bytes");
  path(want, sizeof want, "sys/memory/docker");
  assert_string_equal(cg.limit_dir, want);
  assert_string_equal(cg.psi_path, psi);
  ms_cgroup_state st;
  ms_cgroup_read(&cg, &st);
  assert_true(st.usage == 5 && st.oom_kill == 3 && st.oom == 0 && st.has_events);
  assert_true(st.has_psi && st.psi_some_avg10 == 50);
  put("sys/memory/docker/memory.stat", "cache 4096\nrss 8192\ntotal_cache 12288\ntotal_rss 1\n");
  ms_cgroup_read_stat(&cg, &st);
  assert_true(st.has_file && st.file_bytes == 12288); /* hierarchical */

  /* No limit at any level: a cgroup, limit 0. */
  put("sys/memory/docker/memory.limit_in_bytes", "9223372036854771712\n");
  assert_int_equal(ms_cgroup_find(&cg, root, pc, psi), 1);
  assert_true(cg.limit == 0);
}

/* A container that mounts its own cgroup at the root without a cgroup namespace: the path in
 * /proc/self/cgroup is not under the mount, whose root is the process's cgroup. */
static void test_namespaced_mount(void **state) {
  (void)state;
  put("proc_cgroup", "0::/system.slice/docker-abc.scope\n");
  put("sys/cgroup.controllers", "memory\n");
  put("sys/memory.max", "67108864\n");
  put("sys/memory.current", "1048576\n");
  char root[512], pc[512];
  path(root, sizeof root, "sys");
  path(pc, sizeof pc, "proc_cgroup");
  ms_cgroup cg;
  assert_int_equal(ms_cgroup_find(&cg, root, pc, NULL), 2);
  assert_true(cg.limit == 64 * MB);
  assert_string_equal(cg.dir, root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parsers),
    cmocka_unit_test_setup_teardown(test_v2_nested, setup, teardown),
    cmocka_unit_test_setup_teardown(test_v2_unreadable, setup, teardown),
    cmocka_unit_test_setup_teardown(test_none, setup, teardown),
    cmocka_unit_test_setup_teardown(test_v1_hybrid, setup, teardown),
    cmocka_unit_test_setup_teardown(test_namespaced_mount, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
