/* backend/select.c: the allocator a process gets, decided at its first allocation from
 * MEMSHIM_BACKEND read without libc's help, from environ or, before libc set it, from
 * /proc/self/environ. The decision must be the option table's (memshim config and doctor show
 * the table's reading): every value here is judged both ways and must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "config/options.h"

extern char **environ;

/* The two fillers select.c calls (backend/jemalloc.c and glibc.c, not linked here). */
static int glibc_missing;
void ms_backend_jemalloc(ms_backend *be) {
  memset(be, 0, sizeof *be);
  be->name = "jemalloc";
}
int ms_backend_glibc(ms_backend *be) {
  if (glibc_missing) return -1;
  memset(be, 0, sizeof *be);
  be->name = "glibc";
  return 0;
}

static int select_with(const char *value) {
  if (value) setenv(ms_option_env(MS_OPT_BACKEND), value, 1);
  else unsetenv(ms_option_env(MS_OPT_BACKEND));
  ms_be_kind = -1;
  ms_backend_select();
  return ms_be_kind;
}

/* The option table's reading of the same value: glibc only when it parses as glibc. */
static int table_kind(const char *value) {
  uint64_t v;
  const char *why;
  const ms_option_def *d = ms_option_def_get(MS_OPT_BACKEND);
  return ms_parse_enum(value, d->choices, &v, &why) == 0 && v == MS_BACKEND_GLIBC ? MS_BE_GLIBC : MS_BE_JEMALLOC;
}

static const char *const values[] = {"glibc", "GLIBC", "GlibC", " glibc", "glibc ", "\tglibc\t", "glibc\n", "\r\nglibc",
                                     "glibc\v", "jemalloc", "JEMALLOC", "", "gl", "glib", "glibcc", "glibc,", "g libc",
                                     "glibc x", "tcmalloc", "off", "                        glibc                     ",
                                     "glibc                    x"};

static void test_agrees_with_table(void **state) {
  (void)state;
  unsigned glibc = 0;
  for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
    int want = table_kind(values[i]), got = select_with(values[i]);
    if (got != want) fail_msg("MEMSHIM_BACKEND='%s': select.c picks %d, the option table reads %d", values[i], got, want);
    assert_string_equal(ms_be.name, got == MS_BE_GLIBC ? "glibc" : "jemalloc");
    glibc += got == MS_BE_GLIBC;
  }
  assert_true(glibc >= 6); /* both outcomes were exercised */
  assert_int_equal(select_with(NULL), MS_BE_JEMALLOC); /* unset: the default */
  /* decided once: a later change of the environment changes nothing */
  setenv(ms_option_env(MS_OPT_BACKEND), "glibc", 1);
  ms_backend_select();
  assert_int_equal(ms_be_kind, MS_BE_JEMALLOC);
  unsetenv(ms_option_env(MS_OPT_BACKEND));
}

static void test_glibc_missing(void **state) {
  (void)state;
  glibc_missing = 1; /* glibc's allocator not found: jemalloc serves, said by ms_init */
  assert_int_equal(select_with("glibc"), MS_BE_JEMALLOC);
  assert_string_equal(ms_be.name, "jemalloc");
  glibc_missing = 0;
}

/* Before libc sets environ: the same decision from /proc/self/environ, in a child started with
 * the environment under test. */
static int child_main(void) {
  char **saved = environ;
  environ = NULL;
  ms_be_kind = -1;
  ms_backend_select();
  environ = saved;
  return ms_be_kind == atoi(getenv("MS_WANT_KIND")) ? 0 : 1;
}

static void proc_case(const char *const *entries, int want) {
  char want_text[32];
  snprintf(want_text, sizeof want_text, "MS_WANT_KIND=%d", want);
  char *env[8];
  int n = 0;
  env[n++] = "MS_TEST_SELECT_CHILD=1";
  env[n++] = want_text;
  for (; *entries; entries++) env[n++] = (char *)*entries;
  env[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char *argv[] = {"test_backend_select", NULL};
    execve("/proc/self/exe", argv, env);
    _exit(127);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  if (WEXITSTATUS(st) != 0) fail_msg("from /proc/self/environ: %s... did not give backend %d", env[2], want);
}

static void test_from_proc_environ(void **state) {
  (void)state;
  proc_case((const char *const[]){"MEMSHIM_BACKEND=glibc", NULL}, MS_BE_GLIBC);
  proc_case((const char *const[]){"MEMSHIM_BACKEND= GLIBC\t", NULL}, MS_BE_GLIBC);
  proc_case((const char *const[]){"MEMSHIM_BACKEND=glibcx", NULL}, MS_BE_JEMALLOC);
  proc_case((const char *const[]){"MEMSHIM_BACKEND_X=glibc", "XMEMSHIM_BACKEND=glibc", NULL}, MS_BE_JEMALLOC);
  proc_case((const char *const[]){"A=MEMSHIM_BACKEND=glibc", NULL}, MS_BE_JEMALLOC); /* not at an entry's start */
  proc_case((const char *const[]){"MEMSHIM_BACKEND=jemalloc", "MEMSHIM_BACKEND=glibc", NULL}, MS_BE_GLIBC); /* the last */
  proc_case((const char *const[]){NULL}, MS_BE_JEMALLOC);
  /* values longer than the scan keeps: white space around the name, or something after it */
  proc_case((const char *const[]){"MEMSHIM_BACKEND=                        glibc                     ", NULL}, MS_BE_GLIBC);
  proc_case((const char *const[]){"MEMSHIM_BACKEND=glibc                    x", NULL}, MS_BE_JEMALLOC);
  proc_case((const char *const[]){"MEMSHIM_BACKEND=glibc x", NULL}, MS_BE_JEMALLOC);
}

int main(void) {
  if (getenv("MS_TEST_SELECT_CHILD")) return child_main();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_agrees_with_table),
    cmocka_unit_test(test_glibc_missing),
    cmocka_unit_test(test_from_proc_environ),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
