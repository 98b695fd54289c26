/* The memshim command's decisions, called directly (the CLI's sources without main.c): bad
 * arguments of every subcommand (exit 2 and one "memshim CMD:" line), the target read from
 * /proc (pid arguments, its start-up environment and options, the report prefix, whether a
 * report signal may be sent), LD_PRELOAD and the library's path, the exit status of a wrapped
 * command, and the leak gate's judgements over hand-made reports. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/check.h"
#include "cli/cli.h"
#include "cli/target.h"
#include "config/options.h"

static char tmp_dir[] = "/tmp/ms_test_cli.XXXXXX";

/* ---- running a subcommand with its stderr captured ---- */

static char err_text[8192], out_text[65536];

/* fd into a file of tmp_dir while fn runs; its text into buf. */
static FILE *capture_begin(int fd, const char *name, int *saved) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "w+");
  assert_non_null(f);
  *saved = dup(fd);
  dup2(fileno(f), fd);
  return f;
}
static void capture_end(FILE *f, int fd, int saved, char *buf, size_t len) {
  dup2(saved, fd);
  close(saved);
  rewind(f);
  size_t n = fread(buf, 1, len - 1, f);
  buf[n] = 0;
  fclose(f);
}

/* cmd(argc, argv) with stderr into err_text and stdout into out_text; returns its exit status. */
static int run_cmd(int (*cmd)(int, char **), int argc, const char *const *args) {
  char *argv[32];
  assert_true(argc < 32);
  for (int i = 0; i < argc; i++) argv[i] = (char *)args[i];
  argv[argc] = NULL;
  fflush(stdout);
  fflush(stderr);
  int se, so;
  FILE *fe = capture_begin(2, "stderr", &se), *fo = capture_begin(1, "stdout", &so);
  int rc = cmd(argc, argv);
  fflush(stdout);
  fflush(stderr);
  capture_end(fo, 1, so, out_text, sizeof out_text);
  capture_end(fe, 2, se, err_text, sizeof err_text);
  return rc;
}
#define RUN(cmd, ...)                                                                     \
  run_cmd(cmd, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
          (const char *const[]){__VA_ARGS__})

/* Bad arguments: exit 2 and exactly one line that starts with prefix and contains part. */
static void usage_error(int rc, const char *prefix, const char *part) {
  assert_int_equal(rc, MS_EXIT_USAGE);
  assert_int_equal(strncmp(err_text, prefix, strlen(prefix)), 0);
  assert_non_null(strstr(err_text, part));
  char *nl = strchr(err_text, '\n');
  assert_non_null(nl);
  assert_int_equal(nl[1], 0);
}

static void test_run_args(void **state) {
  (void)state;
  usage_error(RUN(ms_cmd_run, "run"), "memshim run: ", "no command given");
  usage_error(RUN(ms_cmd_run, "run", "--bogus", "true"), "memshim run: ", "unknown option '--bogus'");
  usage_error(RUN(ms_cmd_run, "run", "-x", "true"), "memshim run: ", "unknown option '-x'");
  usage_error(RUN(ms_cmd_run, "run", "--report"), "memshim run: ", "--report needs a value");
  usage_error(RUN(ms_cmd_run, "run", "--report", "", "true"), "memshim run: ", "empty value for --report");
  usage_error(RUN(ms_cmd_run, "run", "--metrics", "", "true"), "memshim run: ", "empty value for --metrics");
  usage_error(RUN(ms_cmd_run, "run", "--profile=1", "true"), "memshim run: ", "no value allowed for option '--profile'");
}

static void test_check_args(void **state) {
  (void)state;
  usage_error(RUN(ms_cmd_check, "check"), "memshim check: ", "no command given");
  usage_error(RUN(ms_cmd_check, "check", "--max-growth", "lots", "true"), "memshim check: ", "--max-growth lots");
  usage_error(RUN(ms_cmd_check, "check", "--max-growth", "0", "true"), "memshim check: ", "greater than 0");
  usage_error(RUN(ms_cmd_check, "check", "--max-unreachable", "1Q", "true"), "memshim check: ", "--max-unreachable");
  usage_error(RUN(ms_cmd_check, "check", "--max-gpu-growth", "-5", "true"), "memshim check: ", "--max-gpu-growth");
  usage_error(RUN(ms_cmd_check, "check", "--warmup", "1.5", "true"), "memshim check: ", "--warmup 1.5");
  usage_error(RUN(ms_cmd_check, "check", "--warmup", "soon", "true"), "memshim check: ", "--warmup soon");
  usage_error(RUN(ms_cmd_check, "check", "--baseline", "/nonexistent/base.json", "true"), "memshim check: ",
              "--baseline /nonexistent/base.json");
}

static void test_report_args(void **state) {
  (void)state;
  usage_error(RUN(ms_cmd_report, "report"), "memshim report: ", "no report given");
  usage_error(RUN(ms_cmd_report, "report", "--top", "-1", "r.json"), "memshim report: ", "--top wants a count");
  usage_error(RUN(ms_cmd_report, "report", "--top", "1000001", "r.json"), "memshim report: ", "--top wants a count");
  usage_error(RUN(ms_cmd_report, "report", "--top", "3x", "r.json"), "memshim report: ", "not '3x'");
  usage_error(RUN(ms_cmd_report, "report", "--format", "pdf", "r.json"), "memshim report: ", "unknown format 'pdf'");
  usage_error(RUN(ms_cmd_report, "report", "--port", "8080", "r.json"), "memshim report: ", "--port only goes with --serve");
  usage_error(RUN(ms_cmd_report, "report", "--once", "r.json"), "memshim report: ", "--once only goes with --serve");
  usage_error(RUN(ms_cmd_report, "report", "--serve", "--port", "65536", "r.json"), "memshim report: ",
              "--port wants a port number");
  usage_error(RUN(ms_cmd_report, "report", "--serve", "--format", "text", "r.json"), "memshim report: ",
              "not --format text");
  usage_error(RUN(ms_cmd_report, "report", "--serve", "-o", "x.html", "r.json"), "memshim report: ", "choose one");
  usage_error(RUN(ms_cmd_report, "report", "-o", "", "r.json"), "memshim report: ", "--output wants a file name");
  /* good arguments, a report that is not there: a failure, not a usage error */
  assert_int_equal(RUN(ms_cmd_report, "report", "--top", "0", "/nonexistent/r.json"), MS_EXIT_FAIL);
  assert_non_null(strstr(err_text, "/nonexistent/r.json"));
}

static void test_snapshot_doctor_config_args(void **state) {
  (void)state;
  usage_error(RUN(ms_cmd_snapshot, "snapshot"), "memshim snapshot: ", "no process id given");
  usage_error(RUN(ms_cmd_snapshot, "snapshot", "1", "2"), "memshim snapshot: ", "one process id only");
  usage_error(RUN(ms_cmd_snapshot, "snapshot", "-t", "0", "1"), "memshim snapshot: ", "--timeout '0'");
  usage_error(RUN(ms_cmd_snapshot, "snapshot", "-t", "5 parsecs", "1"), "memshim snapshot: ", "not a number of seconds");
  /* a bare number is seconds, up to a day: 90000 is not read again as 90000 ms */
  usage_error(RUN(ms_cmd_snapshot, "snapshot", "-t", "90000", "1"), "memshim snapshot: ", "--timeout '90000'");
  usage_error(RUN(ms_cmd_snapshot, "snapshot", "-t", "-3", "1"), "memshim snapshot: ", "--timeout '-3'");
  usage_error(RUN(ms_cmd_snapshot, "snapshot", "-t", "inf", "1"), "memshim snapshot: ", "--timeout 'inf'");
  /* good timeouts: the arguments pass, and there is no such process (1, not 2) */
  assert_int_equal(RUN(ms_cmd_snapshot, "snapshot", "-t", "0.5", "1073741823"), MS_EXIT_FAIL);
  assert_int_equal(RUN(ms_cmd_snapshot, "snapshot", "--timeout", "2m", "1073741823"), MS_EXIT_FAIL);
  assert_int_equal(RUN(ms_cmd_snapshot, "snapshot", "-t", "86400", "1073741823"), MS_EXIT_FAIL);
  assert_non_null(strstr(err_text, "memshim snapshot: no process 1073741823"));
  usage_error(RUN(ms_cmd_snapshot, "snapshot", "12ab"), "memshim snapshot: ", "'12ab' is not a process id");
  usage_error(RUN(ms_cmd_doctor, "doctor", "1", "2"), "memshim doctor: ", "one process id only");
  usage_error(RUN(ms_cmd_doctor, "doctor", "-5"), "memshim doctor: ", "unknown option '-5'");
  usage_error(RUN(ms_cmd_config, "config", "extra"), "memshim config: ", "unknown argument 'extra'");
  usage_error(RUN(ms_cmd_config, "config", "--markdown", "--json"), "memshim config: ", "choose one");
}

/* ---- the target ---- */

static void test_parse_pid(void **state) {
  (void)state;
  int pid = -7;
  assert_int_equal(ms_target_parse_pid("doctor", "4242", &pid), 0);
  assert_int_equal(pid, 4242);
  assert_int_equal(ms_target_parse_pid("doctor", "1073741823", &pid), 0); /* the kernel's PID_MAX_LIMIT - 1 */
  assert_int_equal(pid, 1073741823);
  const char *bad[] = {"0", "-1", "+5", " 5", "5 ", "", "abc", "12x", "1073741824", "99999999999999999999", "0x10"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pid = -7;
    assert_int_equal(ms_target_parse_pid("doctor", bad[i], &pid), -1);
    assert_int_equal(pid, -7); /* untouched */
  }
}

static const char env_block[] = "PATH=/bin\0MEMSHIM_PROFILE=1\0MEMSHIM_PROF\0MEMSHIM_RETAINED_MAX=lots\0"
                                "MEMSHIM_REPORT=json,text\0TMPDIR=/srv/tmp\0MEMSHIM_NOT_AN_OPTION=3\0";

static ms_target fake_target(const char *env, size_t envlen) {
  ms_target t;
  memset(&t, 0, sizeof t);
  t.pid = (int)getpid();
  t.euid = (long)geteuid();
  t.envbuf = malloc(envlen);
  memcpy(t.envbuf, env, envlen);
  t.envlen = envlen;
  return t;
}

static void count_entry(const char *entry, void *arg) {
  assert_int_equal(strncmp(entry, "MEMSHIM_", 8), 0);
  assert_non_null(strchr(entry, '='));
  ++*(int *)arg;
}

static void test_target_env(void **state) {
  (void)state;
  ms_target t = fake_target(env_block, sizeof env_block - 1);
  assert_string_equal(ms_target_getenv(&t, "PATH"), "/bin");
  assert_string_equal(ms_target_getenv(&t, "TMPDIR"), "/srv/tmp");
  assert_string_equal(ms_target_getenv(&t, "MEMSHIM_PROFILE"), "1");
  assert_null(ms_target_getenv(&t, "MEMSHIM_PROF")); /* an entry without '=' is no variable */
  assert_null(ms_target_getenv(&t, "PAT"));
  int n = 0;
  ms_target_each_memshim_env(&t, count_entry, &n);
  assert_int_equal(n, 4);
  /* options as the library read them: a bad value keeps the default, unknown names are ignored */
  ms_target_load_options(&t);
  assert_true(ms_opt_bool(MS_OPT_PROFILE));
  assert_int_equal(ms_opt_source_get(MS_OPT_PROFILE), MS_SRC_SET);
  assert_true(ms_opt_u64(MS_OPT_REPORT) == (MS_REPORT_JSON | MS_REPORT_TEXT));
  assert_true(ms_opt_u64(MS_OPT_RETAINED_MAX) == 64ull << 20);
  assert_int_equal(ms_opt_source_get(MS_OPT_RETAINED_MAX), MS_SRC_DEFAULT);
  ms_target_free(&t);
  assert_null(t.envbuf);
}

/* The start-up rules of the library (init.c, profile.c, reporting.c) from a target's options. */
static void state_of(const char *env, size_t len, ms_target_state *st) {
  ms_target t = fake_target(env, len);
  ms_target_load_options(&t);
  ms_target_state_get(st);
  ms_target_free(&t);
}
#define STATE(lit, st) state_of(lit, sizeof lit - 1, st)

static void test_target_state(void **state) {
  (void)state;
  ms_target_state st;
  STATE("A=1\0", &st); /* nothing set: no profile, and no report file unless asked */
  assert_true(st.enabled);
  assert_false(st.profiling);
  assert_false(st.reports);
  assert_int_equal(st.sig, SIGRTMIN + 9);
  STATE("MEMSHIM_PROFILE=1\0", &st);
  assert_true(st.profiling && st.reports);
  assert_true(st.formats != 0);
  STATE("MEMSHIM_LEAK_CHECK=1M\0", &st); /* a leak check turns profiling on */
  assert_true(st.profiling && st.reports);
  STATE("MEMSHIM_REPORT=json\0", &st); /* timeline-only reports */
  assert_false(st.profiling);
  assert_true(st.reports);
  assert_true(st.formats == MS_REPORT_JSON);
  STATE("MEMSHIM_REPORT=off\0", &st);
  assert_false(st.reports);
  STATE("MEMSHIM_REPORT=bogus\0", &st); /* invalid: as if unset */
  assert_false(st.reports);
  STATE("MEMSHIM_ENABLE=0\0MEMSHIM_PROFILE=1\0MEMSHIM_REPORT=json\0", &st);
  assert_false(st.enabled || st.profiling || st.reports);
  STATE("MEMSHIM_PROFILE=1\0MEMSHIM_REPORT_SIGNAL=off\0", &st);
  assert_int_equal(st.sig, 0);
  ms_options_reset();
}

static void test_report_prefix(void **state) {
  (void)state;
  char path[4096], glob[4096], want[4096], cwd[4096];
  long pid = (long)getpid(), uid = (long)geteuid();
  ms_target t = fake_target(env_block, sizeof env_block - 1);
  ms_options_reset(); /* the default template, with the target's TMPDIR */
  assert_int_equal(ms_target_report_prefix(&t, path, sizeof path, glob, sizeof glob), 0);
  snprintf(want, sizeof want, "/srv/tmp/memshim-%ld/memshim.%ld", uid, pid);
  assert_string_equal(path, want);
  assert_string_equal(glob, want); /* our own root: the path itself */
  /* a relative template is under the target's working directory; %t is any start time */
  const char *why;
  assert_int_equal(ms_option_set(MS_OPT_REPORT_PATH, "out/r*.%p.%t", &why), 0);
  assert_int_equal(ms_target_report_prefix(&t, path, sizeof path, glob, sizeof glob), 0);
  snprintf(want, sizeof want, "out/r*.%ld.%%t", pid);
  assert_string_equal(path, want);
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(want, sizeof want, "%s%sout/r\\*.%ld.[0-9]*", cwd, strcmp(cwd, "/") ? "/" : "", pid);
  assert_string_equal(glob, want);
  /* %u of a target whose uid could not be read; a glob buffer too small */
  assert_int_equal(ms_option_set(MS_OPT_REPORT_PATH, "/r/%u/m.%p", &why), 0);
  t.euid = -1;
  assert_int_equal(ms_target_report_prefix(&t, path, sizeof path, glob, sizeof glob), -1);
  t.euid = uid;
  assert_int_equal(ms_target_report_prefix(&t, path, sizeof path, glob, 8), -1);
  assert_int_equal(ms_target_report_prefix(&t, path, sizeof path, glob, sizeof glob), 0);
  snprintf(want, sizeof want, "/r/%ld/m.%ld", uid, pid);
  assert_string_equal(glob, want);
  ms_target_free(&t);
  ms_options_reset();
}

/* A file of the given name mapped into this process, as the preload would be. */
static void *map_named(const char *name, char *path, size_t len) {
  snprintf(path, len, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("not a library", f);
  fclose(f);
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  assert_true(p != MAP_FAILED);
  return p;
}

static void ignore_usr1(int sig) { (void)sig; }

static void test_target_read_self(void **state) {
  (void)state;
  ms_target t;
  char lookalike[512], lib[512];
  void *a = map_named("libmemshim.sox", lookalike, sizeof lookalike);
  struct sigaction sa = {.sa_handler = ignore_usr1}, old_usr1, old_usr2;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &old_usr1);
  struct sigaction ign = {.sa_handler = SIG_IGN};
  sigaction(SIGUSR2, &ign, &old_usr2);
  assert_int_equal(ms_target_read("doctor", (int)getpid(), &t), 0);
  char comm[64] = "";
  FILE *f = fopen("/proc/self/comm", "r");
  assert_non_null(f);
  assert_non_null(fgets(comm, sizeof comm, f));
  fclose(f);
  comm[strcspn(comm, "\n")] = 0;
  assert_string_equal(t.comm, comm);
  assert_int_equal(t.euid, (long)geteuid());
  assert_string_equal(t.lib, ""); /* libmemshim.sox is not the library */
  assert_true(ms_target_catches(&t, SIGUSR1));
  assert_false(ms_target_catches(&t, SIGUSR2)); /* ignored, not caught */
  assert_true((t.sig_ignored >> (SIGUSR2 - 1)) & 1);
  assert_false(ms_target_catches(&t, 0));
  assert_false(ms_target_catches(&t, 65));
  assert_non_null(t.envbuf); /* environ was read */
  ms_target_free(&t);
  void *b = map_named("libmemshim.so.0.1", lib, sizeof lib);
  assert_int_equal(ms_target_read("doctor", (int)getpid(), &t), 0);
  assert_string_equal(t.lib, lib);
  ms_target_free(&t);
  munmap(a, 4096);
  munmap(b, 4096);
  sigaction(SIGUSR1, &old_usr1, NULL);
  sigaction(SIGUSR2, &old_usr2, NULL);
  /* no such process: one line, -1 */
  assert_int_equal(ms_target_read("doctor", 0x3fffffff, &t), -1);
  ms_target_free(&t);
}

/* doctor on this process: loaded or not is its exit status; the library found for run, without PID. */
static void test_doctor_self(void **state) {
  (void)state;
  char pid[32], lib[512];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  assert_int_equal(RUN(ms_cmd_doctor, "doctor", "--json", pid), MS_EXIT_FAIL); /* not loaded */
  json_error_t je;
  json_t *doc = json_loads(out_text, 0, &je);
  assert_non_null(doc);
  assert_true(json_is_false(json_object_get(doc, "loaded")));
  assert_int_equal(json_integer_value(json_object_get(doc, "pid")), getpid());
  assert_true(json_is_false(json_object_get(json_object_get(doc, "report"), "snapshot")));
  json_decref(doc);
  void *p = map_named("libmemshim.so", lib, sizeof lib);
  assert_int_equal(RUN(ms_cmd_doctor, "doctor", "--json", pid), MS_EXIT_OK);
  doc = json_loads(out_text, 0, &je);
  assert_non_null(doc);
  assert_true(json_is_true(json_object_get(doc, "loaded")));
  assert_string_equal(json_string_value(json_object_get(doc, "library")), lib);
  json_decref(doc);
  assert_int_equal(RUN(ms_cmd_doctor, "doctor", pid), MS_EXIT_OK); /* the text */
  assert_non_null(strstr(out_text, "libmemshim.so: loaded, "));
  assert_non_null(strstr(out_text, lib));
  munmap(p, 4096);
  setenv(MS_ENV_LIBRARY_PATH, lib, 1);
  assert_int_equal(RUN(ms_cmd_doctor, "doctor", "--json"), MS_EXIT_OK);
  assert_non_null(strstr(out_text, lib));
  setenv(MS_ENV_LIBRARY_PATH, "/nonexistent/libmemshim.so", 1);
  assert_int_equal(RUN(ms_cmd_doctor, "doctor"), MS_EXIT_FAIL);
  assert_non_null(strstr(out_text, "library: not found"));
  unsetenv(MS_ENV_LIBRARY_PATH);
}

static void test_snapshot_refusal(void **state) {
  (void)state;
  ms_target t;
  memset(&t, 0, sizeof t);
  t.pid = 77;
  ms_target_state st = {.enabled = true, .profiling = true, .reports = true, .formats = MS_REPORT_JSON, .sig = SIGUSR2};
  char why[512];
  assert_non_null(strstr(ms_snapshot_refusal(&t, &st, why, sizeof why), "no libmemshim.so loaded (not in /proc/77/maps"));
  snprintf(t.lib, sizeof t.lib, "/usr/lib/libmemshim.so");
  t.sig_caught = 1ull << (SIGUSR2 - 1);
  assert_null(ms_snapshot_refusal(&t, &st, why, sizeof why)); /* everything in place: send it */
  ms_target_state s2 = st;
  s2.enabled = false;
  assert_non_null(strstr(ms_snapshot_refusal(&t, &s2, why, sizeof why), "MEMSHIM_ENABLE=0"));
  s2 = st;
  s2.sig = 0;
  assert_non_null(strstr(ms_snapshot_refusal(&t, &s2, why, sizeof why), "MEMSHIM_REPORT_SIGNAL=off"));
  s2 = st;
  s2.reports = false;
  assert_non_null(strstr(ms_snapshot_refusal(&t, &s2, why, sizeof why), "reports off"));
  s2 = st;
  s2.formats = 0;
  assert_non_null(strstr(ms_snapshot_refusal(&t, &s2, why, sizeof why), "MEMSHIM_REPORT=off"));
  /* ignored (SigIgn), or back to the default action: the signal would be lost or end the process */
  t.sig_ignored = 1ull << (SIGUSR2 - 1);
  assert_non_null(strstr(ms_snapshot_refusal(&t, &st, why, sizeof why), "ignores SIGUSR2 (SigIgn in /proc/77/status"));
  t.sig_ignored = 0;
  t.sig_caught = 1ull << (SIGUSR1 - 1);
  assert_non_null(strstr(ms_snapshot_refusal(&t, &st, why, sizeof why), "does not catch SIGUSR2"));
  st.sig = SIGRTMIN + 9;
  t.sig_caught = 1ull << (SIGRTMIN + 9 - 1);
  assert_null(ms_snapshot_refusal(&t, &st, why, sizeof why));
}

/* ---- the library and the wrapped command ---- */

static void test_preload_and_library(void **state) {
  (void)state;
  char *old = getenv("LD_PRELOAD") ? strdup(getenv("LD_PRELOAD")) : NULL;
  unsetenv("LD_PRELOAD");
  assert_int_equal(ms_cli_preload("/a/libmemshim.so"), 0);
  assert_string_equal(getenv("LD_PRELOAD"), "/a/libmemshim.so");
  assert_int_equal(ms_cli_preload("/b/libx.so"), 0);
  assert_string_equal(getenv("LD_PRELOAD"), "/b/libx.so:/a/libmemshim.so"); /* first */
  assert_int_equal(ms_cli_preload("/a/libmemshim.so"), 0);
  assert_string_equal(getenv("LD_PRELOAD"), "/b/libx.so:/a/libmemshim.so"); /* never twice */
  setenv("LD_PRELOAD", "", 1);
  assert_int_equal(ms_cli_preload("/a/libmemshim.so"), 0);
  assert_string_equal(getenv("LD_PRELOAD"), "/a/libmemshim.so"); /* no stray ':' */
  if (old) setenv("LD_PRELOAD", old, 1);
  else unsetenv("LD_PRELOAD");
  free(old);

  char lib[4096], buf[4096];
  void *p = map_named("libmemshim.so", lib, sizeof lib);
  munmap(p, 4096);
  setenv(MS_ENV_LIBRARY_PATH, lib, 1);
  assert_int_equal(ms_cli_find_library(buf, sizeof buf), 0);
  assert_string_equal(buf, lib);
  setenv(MS_ENV_LIBRARY_PATH, tmp_dir, 1); /* a directory is no library */
  assert_int_equal(ms_cli_find_library(buf, sizeof buf), -1);
  setenv(MS_ENV_LIBRARY_PATH, "/nonexistent/libmemshim.so", 1);
  assert_int_equal(ms_cli_find_library(buf, sizeof buf), -1);
  assert_int_equal(RUN(ms_cmd_run, "run", "--", "true"), MS_EXIT_FAIL); /* said, and nothing run */
  assert_non_null(strstr(err_text, "memshim: libmemshim.so not found"));
  unsetenv(MS_ENV_LIBRARY_PATH);
}

static void test_mkdirs(void **state) {
  (void)state;
  char dir[4096], file[4096];
  snprintf(dir, sizeof dir, "%s/a/b/c", tmp_dir);
  assert_int_equal(ms_cli_mkdirs(dir), 0);
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(ms_cli_mkdirs(dir), 0); /* exists: fine */
  snprintf(file, sizeof file, "%s/a/plain", tmp_dir);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  errno = 0;
  assert_int_equal(ms_cli_mkdirs(file), -1);
  assert_int_equal(errno, ENOTDIR);
  snprintf(dir, sizeof dir, "%s/a/plain/sub", tmp_dir);
  assert_int_equal(ms_cli_mkdirs(dir), -1);
}

static void test_spawn_status(void **state) {
  (void)state;
  ms_spawn_opts o = {0};
  char *exit3[] = {"sh", "-c", "exit 3", NULL};
  assert_int_equal(ms_cli_spawn(exit3, &o, NULL, NULL), 3);
  char *killed[] = {"sh", "-c", "kill -TERM $$", NULL};
  assert_int_equal(ms_cli_spawn(killed, &o, NULL, NULL), 128 + SIGTERM);
  char *missing[] = {"/nonexistent/program", NULL};
  assert_int_equal(ms_cli_spawn(missing, &o, NULL, NULL), MS_EXIT_NOEXEC);
  o.pgroup = 1; /* its own group: the status is the same */
  char *exit0[] = {"true", NULL};
  assert_int_equal(ms_cli_spawn(exit0, &o, NULL, NULL), 0);
}

/* ---- the leak gate's judgements ---- */

static const ms_snap_frame fr_cache[] = {
  {.kind = MS_SNAP_NATIVE, .function = "cache_put", .module = "/opt/a/libapp.so", .offset = 0x10},
  {.kind = MS_SNAP_NATIVE, .function = "main", .module = "/opt/a/app", .offset = 0x20},
};
/* the same stack by symbols in another process, from another directory and at other offsets */
static const ms_snap_frame fr_cache2[] = {
  {.kind = MS_SNAP_NATIVE, .function = "cache_put", .module = "/srv/b/libapp.so", .offset = 0x99},
  {.kind = MS_SNAP_NATIVE, .function = "main", .module = "/srv/b/app", .offset = 0x77},
};
static const ms_snap_frame fr_pool[] = {
  {.kind = MS_SNAP_NATIVE, .function = "pool_grow", .module = "/opt/a/app", .offset = 0x30},
};
static const ms_snap_frame fr_py[] = {
  {.kind = MS_SNAP_NATIVE, .function = "PyMem_Malloc", .module = "/usr/lib/libpython3.11.so", .offset = 0x5},
  {.kind = MS_SNAP_PYTHON, .function = "load", .file = "/app/job.py", .line = 12},
};

static ms_snap_site site_of(uint32_t id, const ms_snap_frame *fr, uint32_t n, int64_t live) {
  return (ms_snap_site){.id = id, .nframes = n, .frames = fr, .heap = {.present = true, .live_bytes = live}};
}

static void test_verdict_status(void **state) {
  (void)state;
  ms_judgement j[3];
  memset(j, 0, sizeof j);
  j[0].state = MS_NOT_JUDGED;
  j[1].state = MS_NOT_JUDGED;
  assert_int_equal(ms_verdict_status(j, 2), MS_EXIT_NO_VERDICT);
  assert_int_equal(ms_verdict_status(j, 0), MS_EXIT_NO_VERDICT);
  j[1].state = MS_JUDGED_PASS;
  assert_int_equal(ms_verdict_status(j, 2), MS_EXIT_OK);
  j[2].state = MS_JUDGED_FAIL;
  assert_int_equal(ms_verdict_status(j, 3), MS_EXIT_FAIL);
  j[1].state = MS_NOT_JUDGED;
  assert_int_equal(ms_verdict_status(j, 3), MS_EXIT_FAIL); /* one failure is enough */
}

static void test_growth_judgement(void **state) {
  (void)state;
  ms_check_agg agg, gpu;
  memset(&agg, 0, sizeof agg);
  memset(&gpu, 0, sizeof gpu);
  ms_judgement j;
  ms_judge_growth(&agg, 1 << 20, "/tmp/rdir", &j);
  assert_int_equal(j.state, MS_NOT_JUDGED);
  assert_non_null(strstr(j.reason, "no report was written in /tmp/rdir"));

  /* a process too short for a verdict: reported, not judged */
  ms_snap_site s0[] = {site_of(1, fr_cache, 2, 4096)};
  ms_snapshot short_run = {.sites = s0, .nsites = 1};
  ms_check_take(&short_run, &agg, &gpu, 0);
  ms_judge_growth(&agg, 1 << 20, "/tmp/rdir", &j);
  assert_int_equal(j.state, MS_NOT_JUDGED);
  assert_non_null(strstr(j.reason, "too short"));
  assert_int_equal(agg.n, 1); /* its live bytes are kept, with no growth */
  assert_int_equal(agg.v[0].growth, 0);
  assert_false(agg.v[0].steady);

  /* process A: cache_put grows steadily, pool_grow grew but not steadily */
  ms_snap_site sa[] = {site_of(1, fr_cache, 2, 3 << 20), site_of(2, fr_pool, 1, 5 << 20)};
  ms_snap_leak_site la[] = {{.id = 1, .growth_bytes = 600 << 10, .steady = true},
                            {.id = 2, .growth_bytes = 900 << 10, .steady = false}};
  ms_snapshot a = {.sites = sa, .nsites = 2, .leak = {.checked = true, .growth_bytes = 600 << 10, .sites = la, .nsites = 2}};
  /* process B: the same stack by symbols grows too */
  ms_snap_site sb[] = {site_of(7, fr_cache2, 2, 1 << 20)};
  ms_snap_leak_site lb[] = {{.id = 7, .growth_bytes = 500 << 10, .steady = true}};
  ms_snapshot b = {.sites = sb, .nsites = 1, .leak = {.checked = true, .growth_bytes = 500 << 10, .sites = lb, .nsites = 1}};
  ms_check_take(&a, &agg, &gpu, 0);
  ms_check_take(&b, &agg, &gpu, 0);
  assert_int_equal(agg.reports, 3);
  assert_int_equal(agg.checked, 2);
  assert_int_equal(agg.total, 1100 << 10);
  assert_int_equal(agg.n, 2);
  qsort(agg.v, agg.n, sizeof *agg.v, ms_check_site_cmp);
  assert_true(agg.v[0].steady);
  assert_int_equal(agg.v[0].growth, 1100 << 10);   /* summed over processes */
  assert_int_equal(agg.v[0].procs, 3);              /* short run, A, B */
  assert_int_equal(agg.v[0].live, 4096 + (3 << 20) + (1 << 20));
  assert_non_null(strstr(agg.v[0].where, "cache_put"));
  assert_non_null(strstr(agg.v[0].callers, "main"));
  assert_false(agg.v[1].steady);                    /* not steady: sorted after, adds nothing */
  assert_int_equal(agg.v[1].growth, 0);
  assert_int_equal(gpu.reports, 0);

  ms_judge_growth(&agg, 1 << 20, "/tmp/rdir", &j);
  assert_int_equal(j.state, MS_JUDGED_FAIL);
  assert_non_null(strstr(j.reason, "2 processes"));
  ms_judge_growth(&agg, 1100 << 10, "/tmp/rdir", &j); /* at the limit: a pass */
  assert_int_equal(j.state, MS_JUDGED_PASS);
  ms_judge_growth(&agg, 16777215ull << 40, "/tmp/rdir", &j); /* --max-growth 16777215T: above INT64_MAX */
  assert_int_equal(j.state, MS_JUDGED_PASS);
  ms_check_free(&agg);
}

static void test_gpu_judgement(void **state) {
  (void)state;
  ms_check_agg agg, gpu;
  memset(&agg, 0, sizeof agg);
  memset(&gpu, 0, sizeof gpu);
  ms_judgement j;
  ms_judge_gpu(&gpu, 1 << 20, &j);
  assert_int_equal(j.state, MS_NOT_JUDGED);
  assert_non_null(strstr(j.reason, "no process used CUDA"));
  ms_snap_site s[] = {site_of(1, fr_pool, 1, 0), site_of(2, fr_cache, 2, 0)};
  s[0].device = (ms_snap_mem){.present = true, .growth_bytes = 3 << 20};
  s[1].device = (ms_snap_mem){.present = true, .growth_bytes = -(1 << 20)}; /* shrank: not named */
  ms_snapshot under = {.sites = s, .nsites = 2, .gpu = {.present = true, .tracked_growth_bytes = 1 << 20}};
  ms_check_take(&under, &agg, &gpu, UINT64_MAX); /* a limit above INT64_MAX: nothing is over it */
  assert_int_equal(gpu.checked, 0);
  ms_check_take(&under, &agg, &gpu, 1 << 20); /* at the limit */
  ms_judge_gpu(&gpu, 1 << 20, &j);
  assert_int_equal(j.state, MS_JUDGED_PASS);
  assert_int_equal(gpu.n, 0);
  ms_snapshot over = {.sites = s, .nsites = 2, .gpu = {.present = true, .tracked_growth_bytes = 3 << 20}};
  ms_snapshot none = {.sites = s, .nsites = 2}; /* a process without CUDA */
  ms_check_take(&over, &agg, &gpu, 1 << 20);
  ms_check_take(&none, &agg, &gpu, 1 << 20);
  assert_int_equal(gpu.reports, 3);
  assert_int_equal(gpu.checked, 1);
  assert_int_equal(gpu.total, 3 << 20); /* the worst process, not a sum */
  assert_int_equal(gpu.n, 1);
  assert_non_null(strstr(gpu.v[0].where, "pool_grow"));
  ms_judge_gpu(&gpu, 1 << 20, &j);
  assert_int_equal(j.state, MS_JUDGED_FAIL);
  assert_non_null(strstr(j.reason, "1 of 3"));
  ms_check_free(&agg);
  ms_check_free(&gpu);
}

static void test_unreach_judgement(void **state) {
  (void)state;
  ms_check_agg unr;
  memset(&unr, 0, sizeof unr);
  ms_judgement j;
  ms_judge_unreach(&unr, 0, &j);
  assert_int_equal(j.state, MS_NOT_JUDGED);
  assert_non_null(strstr(j.reason, "no process was scanned"));
  ms_snapshot not_scanned = {.unreachable = {.present = true, .scanned = false, .why_not = "a Python process"}};
  ms_check_take_unreach(&not_scanned, &unr);
  ms_snapshot absent = {0};
  ms_check_take_unreach(&absent, &unr);
  assert_int_equal(unr.reports, 1);
  ms_judge_unreach(&unr, 0, &j);
  assert_int_equal(j.state, MS_NOT_JUDGED);
  assert_non_null(strstr(j.reason, "no scan gave a verdict"));
  /* one 0-byte block lost: fails a 0 limit, passes any other */
  ms_snap_site s[] = {site_of(4, fr_cache, 2, 0)};
  ms_snap_unreach_site us[] = {{.id = 4, .lost = {.direct_bytes = 0, .direct_count = 1}}};
  ms_snapshot zero = {.sites = s, .nsites = 1,
                      .unreachable = {.present = true, .scanned = true, .lost = {.direct_count = 1}, .sites = us, .nsites = 1}};
  ms_check_take_unreach(&zero, &unr);
  assert_int_equal(unr.checked, 1);
  assert_int_equal(unr.blocks, 1);
  ms_judge_unreach(&unr, 0, &j);
  assert_int_equal(j.state, MS_JUDGED_FAIL);
  ms_judge_unreach(&unr, 1, &j);
  assert_int_equal(j.state, MS_JUDGED_PASS);
  /* direct and indirect bytes add up, per site and in total */
  ms_snap_unreach_site us2[] = {{.id = 4, .lost = {.direct_bytes = 100, .direct_count = 1, .indirect_bytes = 60, .indirect_count = 2}}};
  ms_snapshot lost = {.sites = s, .nsites = 1,
                      .unreachable = {.present = true, .scanned = true,
                                      .lost = {.direct_bytes = 100, .direct_count = 1, .indirect_bytes = 60, .indirect_count = 2},
                                      .sites = us2, .nsites = 1}};
  ms_check_take_unreach(&lost, &unr);
  assert_int_equal(unr.total, 160);
  assert_int_equal(unr.blocks, 4);
  assert_int_equal(unr.n, 1);
  assert_int_equal(unr.v[0].growth, 160);
  ms_judge_unreach(&unr, 159, &j);
  assert_int_equal(j.state, MS_JUDGED_FAIL);
  assert_non_null(strstr(j.reason, "in 4 blocks"));
  ms_judge_unreach(&unr, 160, &j);
  assert_int_equal(j.state, MS_JUDGED_PASS);
  ms_judge_unreach(&unr, UINT64_MAX, &j);
  assert_int_equal(j.state, MS_JUDGED_PASS);
  ms_check_free(&unr);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_baseline_judgement(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/base.json", tmp_dir);
  write_file(path, "{\"format\": \"not-memshim\", \"sites\": []}");
  assert_null(ms_check_load_baseline(path));
  write_file(path, "{\"format\": \"memshim-baseline\"");
  assert_null(ms_check_load_baseline(path));
  /* the stack of fr_cache by symbols (module basename!function, innermost first) grew 2 MiB in
   * the baseline run */
  write_file(path, "{\"format\": \"memshim-baseline\", \"version\": 1, \"sites\": ["
                   "{\"key\": \"libapp.so!cache_put;app!main;\", \"growth_bytes\": 2097152, \"live_bytes\": 0}]}");
  json_t *base = ms_check_load_baseline(path);
  assert_non_null(base);

  ms_check_agg agg, gpu;
  memset(&agg, 0, sizeof agg);
  memset(&gpu, 0, sizeof gpu);
  ms_snap_site s[] = {site_of(1, fr_cache, 2, 0), site_of(2, fr_pool, 1, 0)};
  ms_snap_leak_site l[] = {{.id = 1, .growth_bytes = 2560 << 10, .steady = true},
                           {.id = 2, .growth_bytes = 512 << 10, .steady = true}};
  ms_snapshot snap = {.sites = s, .nsites = 2, .leak = {.checked = true, .growth_bytes = 3 << 20, .sites = l, .nsites = 2}};
  ms_check_take(&snap, &agg, &gpu, 0);
  ms_judgement j;
  /* 0.5 MiB beyond the baseline at cache_put, 0.5 MiB new at pool_grow: within 1 MiB each */
  ms_judge_baseline(&agg, base, 1 << 20, path, &j);
  assert_int_equal(j.state, MS_JUDGED_PASS);
  for (size_t i = 0; i < agg.n; i++) assert_int_equal(agg.v[i].growth, 512 << 10); /* the excess */
  ms_check_free(&agg);
  /* the same growth against a limit of 256 KiB: both sites over it */
  memset(&agg, 0, sizeof agg);
  ms_check_take(&snap, &agg, &gpu, 0);
  ms_judge_baseline(&agg, base, 256 << 10, path, &j);
  assert_int_equal(j.state, MS_JUDGED_FAIL);
  assert_non_null(strstr(j.reason, "2 sites grew more than"));
  ms_check_free(&agg);
  /* cache_put grew less than in the baseline: no excess at all */
  l[0].growth_bytes = 1 << 20;
  l[1].steady = false;
  memset(&agg, 0, sizeof agg);
  ms_check_take(&snap, &agg, &gpu, 0);
  ms_judge_baseline(&agg, base, 256 << 10, path, &j);
  assert_int_equal(j.state, MS_JUDGED_PASS);
  assert_non_null(strstr(j.reason, "no site grew beyond"));
  ms_check_free(&agg);
  json_decref(base);
}

/* A Python site is keyed and named by its Python line: two processes' stacks under one line add up. */
static void test_python_site_key(void **state) {
  (void)state;
  ms_check_agg agg, gpu;
  memset(&agg, 0, sizeof agg);
  memset(&gpu, 0, sizeof gpu);
  ms_snap_site s[] = {site_of(3, fr_py, 2, 100)};
  ms_snap_leak_site l[] = {{.id = 3, .growth_bytes = 10, .steady = true}};
  ms_snapshot snap = {.sites = s, .nsites = 1, .leak = {.checked = true, .growth_bytes = 10, .sites = l, .nsites = 1}};
  ms_check_take(&snap, &agg, &gpu, 0);
  ms_check_take(&snap, &agg, &gpu, 0);
  assert_int_equal(agg.n, 1);
  assert_int_equal(agg.v[0].growth, 20);
  assert_int_equal(agg.v[0].procs, 2);
  assert_non_null(strstr(agg.v[0].where, "/app/job.py:12"));
  assert_non_null(strstr(agg.v[0].key, "libpython3.11.so!PyMem_Malloc;"));
  ms_check_free(&agg);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_run_args),           cmocka_unit_test(test_check_args),
    cmocka_unit_test(test_report_args),        cmocka_unit_test(test_snapshot_doctor_config_args),
    cmocka_unit_test(test_parse_pid),          cmocka_unit_test(test_target_env),
    cmocka_unit_test(test_target_state),       cmocka_unit_test(test_report_prefix),
    cmocka_unit_test(test_target_read_self),   cmocka_unit_test(test_doctor_self),
    cmocka_unit_test(test_snapshot_refusal),
    cmocka_unit_test(test_preload_and_library), cmocka_unit_test(test_mkdirs),
    cmocka_unit_test(test_spawn_status),       cmocka_unit_test(test_verdict_status),
    cmocka_unit_test(test_growth_judgement),   cmocka_unit_test(test_gpu_judgement),
    cmocka_unit_test(test_unreach_judgement),  cmocka_unit_test(test_baseline_judgement),
    cmocka_unit_test(test_python_site_key),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
