/* The option table: every parser, every error path, and the table's own invariants. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/options.h"
#include "config/path_template.h"

static void size_ok(const char *s, uint64_t want) {
  uint64_t v = 12345;
  const char *why = NULL;
  assert_int_equal(ms_parse_size(s, false, &v, &why), 0);
  assert_true(v == want);
}

static void size_bad(const char *s, bool off, const char *why_part) {
  uint64_t v = 777;
  const char *why = NULL;
  assert_int_equal(ms_parse_size(s, off, &v, &why), -1);
  assert_non_null(why);
  assert_non_null(strstr(why, why_part));
  assert_true(v == 777); /* untouched on error */
}

static void test_size(void **state) {
  (void)state;
  size_ok("1", 1);
  size_ok("4096", 4096);
  size_ok("64K", 64ull << 10);
  size_ok("64k", 64ull << 10);
  size_ok("64M", 64ull << 20);
  size_ok("64MiB", 64ull << 20);
  size_ok("2G", 2ull << 30);
  size_ok("1T", 1ull << 40);
  size_ok(" 8M ", 8ull << 20);
  size_ok("3G", 3ull << 30);
}

static void test_size_edges(void **state) {
  (void)state;
  uint64_t v;
  const char *why;
  /* 2^64 - 1 parses; one more overflows. */
  assert_int_equal(ms_parse_size("18446744073709551615", false, &v, &why), 0);
  assert_true(v == UINT64_MAX);
  size_bad("18446744073709551616", false, "overflow");
  size_bad("16777216T", false, "overflow"); /* 2^24 * 2^40 = 2^64 */
  size_bad("17179869184G", false, "overflow");
  assert_int_equal(ms_parse_size("16777215T", false, &v, &why), 0);
  assert_true(v == (16777215ull << 40));
  size_bad("", false, "not a size");
  size_bad("M", false, "not a size");
  size_bad("-1", false, "not a size");
  size_bad("12Q", false, "suffix");
  size_bad("12MX", false, "trailing");
  size_bad("1.5G", false, "suffix");
  size_bad("0", false, "greater than 0");
  size_bad("off", false, "not a size");
  assert_int_equal(ms_parse_size("off", true, &v, &why), 0);
  assert_true(v == 0);
  assert_int_equal(ms_parse_size("0", true, &v, &why), 0);
  assert_true(v == 0);
}

static void test_duration(void **state) {
  (void)state;
  uint64_t v;
  const char *why;
  assert_int_equal(ms_parse_duration_ms("200ms", false, &v, &why), 0);
  assert_true(v == 200);
  assert_int_equal(ms_parse_duration_ms("200", false, &v, &why), 0);
  assert_true(v == 200);
  assert_int_equal(ms_parse_duration_ms("3s", false, &v, &why), 0);
  assert_true(v == 3000);
  assert_int_equal(ms_parse_duration_ms("2m", false, &v, &why), 0);
  assert_true(v == 120000);
  assert_int_equal(ms_parse_duration_ms("1h", false, &v, &why), 0);
  assert_true(v == 3600000);
  assert_int_equal(ms_parse_duration_ms("off", true, &v, &why), 0);
  assert_true(v == 0);
  assert_int_equal(ms_parse_duration_ms("off", false, &v, &why), -1);
  assert_int_equal(ms_parse_duration_ms("0", false, &v, &why), -1);
  assert_non_null(strstr(why, "greater than 0"));
  assert_int_equal(ms_parse_duration_ms("5 parsecs", false, &v, &why), -1);
  assert_non_null(strstr(why, "unit"));
  assert_int_equal(ms_parse_duration_ms("abc", false, &v, &why), -1);
  assert_int_equal(ms_parse_duration_ms("99999999999999999999", false, &v, &why), -1);
  assert_non_null(strstr(why, "overflow"));
  assert_int_equal(ms_parse_duration_ms("18446744073709552s", false, &v, &why), -1);
  assert_non_null(strstr(why, "overflow"));
}

static void test_bool(void **state) {
  (void)state;
  const char *yes[] = {"1", "true", "TRUE", "yes", "on"}, *no[] = {"0", "false", "No", "off"};
  uint64_t v;
  const char *why;
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(ms_parse_bool(yes[i], &v, &why), 0);
    assert_true(v == 1);
  }
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(ms_parse_bool(no[i], &v, &why), 0);
    assert_true(v == 0);
  }
  assert_int_equal(ms_parse_bool("2", &v, &why), -1);
  assert_int_equal(ms_parse_bool("", &v, &why), -1);
  assert_int_equal(ms_parse_bool("yess", &v, &why), -1);
  assert_non_null(strstr(why, "boolean"));
}

static void test_percent_int(void **state) {
  (void)state;
  uint64_t v;
  const char *why;
  assert_int_equal(ms_parse_percent("0", &v, &why), 0);
  assert_true(v == 0);
  assert_int_equal(ms_parse_percent("85%", &v, &why), 0);
  assert_true(v == 85);
  assert_int_equal(ms_parse_percent("100", &v, &why), 0);
  assert_int_equal(ms_parse_percent("101", &v, &why), -1);
  assert_non_null(strstr(why, "above 100"));
  assert_int_equal(ms_parse_percent("5%%", &v, &why), -1);
  assert_int_equal(ms_parse_percent("x", &v, &why), -1);
  assert_int_equal(ms_parse_int("32", 1, 128, &v, &why), 0);
  assert_true(v == 32);
  assert_int_equal(ms_parse_int("0", 1, 128, &v, &why), -1);
  assert_non_null(strstr(why, "range"));
  assert_int_equal(ms_parse_int("129", 1, 128, &v, &why), -1);
  assert_int_equal(ms_parse_int("99999999999999999999999", 1, 128, &v, &why), -1);
  assert_int_equal(ms_parse_int("3x", 1, 128, &v, &why), -1);
  assert_non_null(strstr(why, "integer"));
}

static void test_enum_list(void **state) {
  (void)state;
  uint64_t v;
  const char *why;
  assert_int_equal(ms_parse_enum("jemalloc", "jemalloc|glibc", &v, &why), 0);
  assert_true(v == 0);
  assert_int_equal(ms_parse_enum("GLIBC", "jemalloc|glibc", &v, &why), 0);
  assert_true(v == 1);
  assert_int_equal(ms_parse_enum("tcmalloc", "jemalloc|glibc", &v, &why), -1);
  assert_int_equal(ms_parse_enum("glib", "jemalloc|glibc", &v, &why), -1);
  assert_int_equal(ms_parse_enum("", "jemalloc|glibc", &v, &why), -1);
  assert_int_equal(ms_parse_list("text,json", "text|json|collapsed", &v, &why), 0);
  assert_true(v == 3);
  assert_int_equal(ms_parse_list(" collapsed , text ", "text|json|collapsed", &v, &why), 0);
  assert_true(v == 5);
  assert_int_equal(ms_parse_list("text,,json", "text|json|collapsed", &v, &why), 0);
  assert_true(v == 3);
  assert_int_equal(ms_parse_list("text,pdf", "text|json|collapsed", &v, &why), -1);
  assert_non_null(strstr(why, "unknown item"));
  assert_int_equal(ms_parse_list(",", "text|json|collapsed", &v, &why), -1);
  v = 7;
  assert_int_equal(ms_parse_list(" off", "text|json|collapsed", &v, &why), 0);
  assert_true(v == 0);
  assert_int_equal(ms_parse_list("text,off", "text|json|collapsed", &v, &why), -1);
}

static void test_signal_fraction(void **state) {
  (void)state;
  uint64_t v;
  const char *why;
  assert_int_equal(ms_parse_signal("SIGUSR2", true, &v, &why), 0);
  assert_true(v == SIGUSR2);
  assert_int_equal(ms_parse_signal("usr1", true, &v, &why), 0);
  assert_true(v == SIGUSR1);
  assert_int_equal(ms_parse_signal("10", true, &v, &why), 0);
  assert_true(v == 10);
  assert_int_equal(ms_parse_signal("off", true, &v, &why), 0);
  assert_true(v == 0);
  assert_int_equal(ms_parse_signal("SIGKILL", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("9", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("11", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("32", true, &v, &why), -1); /* glibc's own */
  assert_int_equal(ms_parse_signal("SIGRTMIN+9", true, &v, &why), 0);
  assert_true(v == (uint64_t)SIGRTMIN + 9);
  assert_int_equal(ms_parse_signal("rtmin+2", true, &v, &why), 0);
  assert_true(v == (uint64_t)SIGRTMIN + 2);
  assert_int_equal(ms_parse_signal("RTMAX-1", true, &v, &why), 0);
  assert_true(v == (uint64_t)SIGRTMAX - 1);
  assert_int_equal(ms_parse_signal("SIGRTMIN", true, &v, &why), 0);
  assert_true(v == (uint64_t)SIGRTMIN);
  assert_int_equal(ms_parse_signal("RTMIN+99", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("RTMIN-1", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("RTMAX+1", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("RTMIN+", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("RTMIN+3x", true, &v, &why), -1);
  char buf[32];
  ms_signal_format(SIGRTMIN + 9, buf, sizeof buf);
  assert_string_equal(buf, "SIGRTMIN+9");
  ms_signal_format(SIGUSR2, buf, sizeof buf);
  assert_string_equal(buf, "SIGUSR2");
  assert_int_equal(ms_parse_signal("65", true, &v, &why), -1);
  assert_int_equal(ms_parse_signal("SIGFOO", true, &v, &why), -1);
  double f = -1;
  assert_int_equal(ms_parse_fraction("0.25", &f, &v, &why), 1);
  assert_true(f == 0.25);
  assert_int_equal(ms_parse_fraction("30s", &f, &v, &why), 0);
  assert_true(v == 30000);
  assert_int_equal(ms_parse_fraction("1.5", &f, &v, &why), -1);
  assert_int_equal(ms_parse_fraction("-0.1", &f, &v, &why), -1);
  assert_int_equal(ms_parse_fraction("0.5x", &f, &v, &why), -1);
  assert_int_equal(ms_parse_fraction("soon", &f, &v, &why), -1);
}

/* Every row: names agree, defaults parse, help exists, names are unique. */
static void test_table_rows(void **state) {
  (void)state;
  ms_options_reset();
  for (int i = 0; i < MS_OPT__COUNT; i++) {
    const ms_option_def *d = ms_option_def_get((ms_option_id)i);
    assert_non_null(d);
    assert_non_null(d->name);
    assert_non_null(d->help);
    assert_true(strlen(d->help) > 10);
    assert_int_equal(strncmp(d->env, "MEMSHIM_", 8), 0);
    char upper[64];
    size_t n = strlen(d->name);
    assert_true(n < sizeof upper);
    for (size_t k = 0; k <= n; k++) upper[k] = (char)(d->name[k] >= 'a' && d->name[k] <= 'z' ? d->name[k] - 32 : d->name[k]);
    assert_string_equal(upper, d->env + 8);
    assert_int_equal(ms_option_find(d->env), i);
    assert_int_equal(ms_option_find(d->name), i);
    assert_int_equal(ms_opt_source_get((ms_option_id)i), MS_SRC_DEFAULT);
    for (int j = 0; j < i; j++) assert_string_not_equal(ms_option_def_get((ms_option_id)j)->env, d->env);
  }
  assert_int_equal(ms_options_warning_count(), 0);
  assert_int_equal(ms_option_find("MEMSHIM_NOPE"), -1);
}

static void test_defaults(void **state) {
  (void)state;
  ms_options_reset();
  assert_true(ms_opt_bool(MS_OPT_ENABLE));
  assert_true(ms_opt_bool(MS_OPT_TOKENIZERS_PARALLELISM));
  assert_true(ms_opt_u64(MS_OPT_RETAINED_MAX) == 64ull << 20);
  assert_true(ms_opt_u64(MS_OPT_PURGE_INTERVAL) == 200);
  assert_true(ms_opt_u64(MS_OPT_IDLE_PURGE) == 1000);
  assert_true(ms_opt_u64(MS_OPT_RSS_SOFT_LIMIT) == 0);
  assert_true(ms_opt_u64(MS_OPT_MMAP_MIN) == 1ull << 20);
  assert_true(ms_opt_u64(MS_OPT_SAMPLE_BYTES) == 512ull << 10);
  assert_true(ms_opt_u64(MS_OPT_STACK_DEPTH) == 32);
  assert_true(ms_opt_u64(MS_OPT_BACKEND) == MS_BACKEND_JEMALLOC);
  assert_true(ms_opt_u64(MS_OPT_REPORT_SIGNAL) == (uint64_t)SIGRTMIN + 9);
  assert_string_equal(ms_opt_str(MS_OPT_REPORT_PATH), MS_REPORT_PATH_DEFAULT);
  assert_string_equal(MS_REPORT_PATH_DEFAULT, "%T/memshim-%u/memshim.%p"); /* what the docs say */
  assert_string_equal(ms_opt_str(MS_OPT_LOG), "");
}

static void test_load_env(void **state) {
  (void)state;
  char *env[] = {"PATH=/bin", "MEMSHIM_RETAINED_MAX=128M", "MEMSHIM_BACKEND=glibc",
                 "MEMSHIM_PURGE_INTERVAL=fast", "MEMSHIM_NO_SUCH_THING=1", "MEMSHIM_LIBRARY_PATH=/x",
                 "MEMSHIM_REPORT=json,collapsed", "MEMSHIM_LOG=/tmp/x.%p.log", NULL};
  ms_options_load(env);
  assert_true(ms_opt_u64(MS_OPT_RETAINED_MAX) == 128ull << 20);
  assert_int_equal(ms_opt_source_get(MS_OPT_RETAINED_MAX), MS_SRC_ENV);
  assert_true(ms_opt_u64(MS_OPT_BACKEND) == MS_BACKEND_GLIBC);
  /* bad value: default kept, marked invalid */
  assert_true(ms_opt_u64(MS_OPT_PURGE_INTERVAL) == 200);
  assert_int_equal(ms_opt_source_get(MS_OPT_PURGE_INTERVAL), MS_SRC_INVALID);
  assert_true(ms_opt_u64(MS_OPT_REPORT) == (MS_REPORT_JSON | MS_REPORT_COLLAPSED));
  assert_string_equal(ms_opt_str(MS_OPT_LOG), "/tmp/x.%p.log");
  /* one warning for the bad value, one for the unknown name; the CLI's own variable is known */
  assert_int_equal(ms_options_warning_count(), 2);
  char buf[64];
  ms_option_format(MS_OPT_RETAINED_MAX, buf, sizeof buf);
  assert_string_equal(buf, "128M");
  ms_option_format(MS_OPT_REPORT, buf, sizeof buf);
  assert_string_equal(buf, "json,collapsed");
  ms_option_format(MS_OPT_MMAP_RESIDENT_MAX, buf, sizeof buf);
  assert_string_equal(buf, "off");
  ms_option_format(MS_OPT_PURGE_INTERVAL, buf, sizeof buf);
  assert_string_equal(buf, "200ms");
  ms_option_format(MS_OPT_IDLE_PURGE, buf, sizeof buf);
  assert_string_equal(buf, "1s");
}

/* The report directory's default: %T is TMPDIR only when absolute; "" means the default. */
static void test_report_default(void **state) {
  (void)state;
  assert_string_equal(ms_tmpdir_of(NULL), "/tmp");
  assert_string_equal(ms_tmpdir_of(""), "/tmp");
  assert_string_equal(ms_tmpdir_of("relative/dir"), "/tmp");
  assert_string_equal(ms_tmpdir_of("/var/tmp"), "/var/tmp");
  const char *why;
  ms_options_reset();
  assert_true(ms_report_path_is_default());
  assert_int_equal(ms_option_set(MS_OPT_REPORT_PATH, "", &why), 0);
  assert_string_equal(ms_report_path_template(), MS_REPORT_PATH_DEFAULT);
  assert_true(ms_report_path_is_default());
  assert_int_equal(ms_option_set(MS_OPT_REPORT_PATH, "/srv/r.%p", &why), 0);
  assert_string_equal(ms_report_path_template(), "/srv/r.%p");
  assert_false(ms_report_path_is_default());
  ms_options_reset();
}

static void test_set_and_long_path(void **state) {
  (void)state;
  ms_options_reset();
  const char *why = NULL;
  assert_int_equal(ms_option_set(MS_OPT_STACK_DEPTH, "64", &why), 0);
  assert_true(ms_opt_u64(MS_OPT_STACK_DEPTH) == 64);
  assert_int_equal(ms_option_set(MS_OPT_STACK_DEPTH, "0", &why), -1);
  assert_true(ms_opt_u64(MS_OPT_STACK_DEPTH) == 64);
  char longpath[MS_PATH_MAX + 10];
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = 0;
  assert_int_equal(ms_option_set(MS_OPT_REPORT_PATH, longpath, &why), -1);
  assert_non_null(strstr(why, "too long"));
  assert_string_equal(ms_opt_str(MS_OPT_REPORT_PATH), MS_REPORT_PATH_DEFAULT);
}

/* A flood of bad variables prints a bounded number of lines (the count goes on). */
static void test_warning_cap(void **state) {
  (void)state;
  static char bad[40][48];
  char *env[41];
  for (int i = 0; i < 40; i++) {
    snprintf(bad[i], sizeof bad[i], "MEMSHIM_BOGUS_%d=1", i);
    env[i] = bad[i];
  }
  env[40] = NULL;
  ms_options_load(env);
  assert_int_equal(ms_options_warning_count(), 40);
}

/* One expander for the library and the CLI: values, escapes, an unknown start time as a glob. */
static void test_path_template(void **state) {
  (void)state;
  char out[128], glob[128];
  ms_path_vars v = {42, 1000, "/var/tmp", 1700000000};
  assert_int_equal(ms_path_template_expand("%T/m-%u/r.%p.%t%%", &v, out, sizeof out, glob, sizeof glob), 0);
  assert_string_equal(out, "/var/tmp/m-1000/r.42.1700000000%");
  assert_string_equal(glob, "/var/tmp/m-1000/r.42.1700000000%");
  v.tmpdir = "relative"; /* not absolute: /tmp */
  v.start = -1;          /* unknown: kept as %t, any digits in the glob */
  assert_int_equal(ms_path_template_expand("%T/a*[b]?.%t", &v, out, sizeof out, glob, sizeof glob), 0);
  assert_string_equal(out, "/tmp/a*[b]?.%t");
  assert_string_equal(glob, "/tmp/a\\*\\[b]\\?.[0-9]*");
  v.euid = -1; /* unknown uid: a template that needs it fails, one that does not expands */
  assert_int_equal(ms_path_template_expand("%u/x", &v, out, sizeof out, NULL, 0), -1);
  assert_int_equal(ms_path_template_expand("x.%p", &v, out, sizeof out, NULL, 0), 0);
  assert_string_equal(out, "x.42");
  assert_int_equal(ms_path_template_expand("abcdef", &v, out, 6, NULL, 0), -1); /* no room for the NUL */
  assert_int_equal(ms_path_template_expand("abcde", &v, out, 6, NULL, 0), 0);
}

/* Every row, every type: a value formatted as `memshim config` prints it reads back as the same
 * value (rows added later are covered too), and the sample values a type takes are accepted. */
static void test_format_round_trip(void **state) {
  (void)state;
  static const char *const samples[][6] = {
    [MS_OPT_BOOL] = {"0", "1", "yes", "off"},
    [MS_OPT_INT] = {"1", "7", "64", "128"},
    [MS_OPT_SIZE] = {"3M", "1536K", "12345", "off", "2G", "1T"},
    [MS_OPT_PERCENT] = {"0", "85%", "100"},
    [MS_OPT_DURATION] = {"1500ms", "2s", "off", "90s", "1h", "7"},
    [MS_OPT_ENUM] = {"jemalloc", "glibc", "native", "on", "off"},
    [MS_OPT_LIST] = {"text", "json,collapsed", "off", "html,pprof,text"},
    [MS_OPT_PATH] = {"", "/x/r.%p", "rel/%T/%u"},
    [MS_OPT_SIGNAL] = {"SIGUSR1", "SIGRTMIN+3", "off", "12"},
    [MS_OPT_FRACTION] = {"0.3", "45s", "0.25", "off"},
  };
  unsigned accepted = 0;
  for (int id = 0; id < MS_OPT__COUNT; id++) {
    const ms_option_def *d = ms_option_def_get((ms_option_id)id);
    for (size_t k = 0; k < 6 && samples[d->type][k]; k++) {
      const char *why;
      ms_options_reset();
      if (ms_option_set((ms_option_id)id, samples[d->type][k], &why) != 0) continue;
      accepted++;
      uint64_t u = ms_opt_u64((ms_option_id)id), ms1 = 0, ms2 = 0;
      double f1 = -1, f2 = -1;
      bool frac = ms_opt_fraction((ms_option_id)id, &f1, &ms1);
      char text[MS_PATH_MAX + 16], str[MS_PATH_MAX + 16];
      snprintf(str, sizeof str, "%s", d->type == MS_OPT_PATH ? ms_opt_str((ms_option_id)id) : "");
      ms_option_format((ms_option_id)id, text, sizeof text);
      ms_options_reset();
      if (ms_option_set((ms_option_id)id, text, &why) != 0) fail_msg("%s: '%s' printed as '%s', which does not parse: %s", d->name, samples[d->type][k], text, why);
      assert_true(ms_opt_u64((ms_option_id)id) == u);
      assert_int_equal(ms_opt_fraction((ms_option_id)id, &f2, &ms2), frac);
      if (frac) assert_true(f1 == f2);
      else assert_true(ms1 == ms2);
      if (d->type == MS_OPT_PATH) assert_string_equal(ms_opt_str((ms_option_id)id), str);
    }
  }
  assert_true(accepted >= MS_OPT__COUNT); /* each row took one sample at least */
  ms_options_reset();
  /* the FRACTION accessor: a fraction or a duration, never both */
  double f = -1;
  uint64_t ms = 7;
  const char *why;
  assert_int_equal(ms_option_set(MS_OPT_LEAK_WARMUP, "0.4", &why), 0);
  assert_true(ms_opt_fraction(MS_OPT_LEAK_WARMUP, &f, &ms));
  assert_true(f == 0.4 && ms == 7);
  assert_int_equal(ms_option_set(MS_OPT_LEAK_WARMUP, "3s", &why), 0);
  assert_false(ms_opt_fraction(MS_OPT_LEAK_WARMUP, &f, &ms));
  assert_true(ms == 3000);
  ms_options_reset();
}

/* The MEMSHIM_* names that are not options: known (no warning), and only those exactly. */
static void test_internal_names(void **state) {
  (void)state;
  assert_true(ms_env_is_internal(MS_ENV_LIBRARY_PATH, strlen(MS_ENV_LIBRARY_PATH)));
  assert_true(ms_env_is_internal(MS_ENV_REPORT_DIR_UNWRITABLE, strlen(MS_ENV_REPORT_DIR_UNWRITABLE)));
  assert_true(ms_env_is_internal("MEMSHIM_LIBRARY_PATH=/x", 20)); /* the name part of an entry */
  assert_false(ms_env_is_internal("MEMSHIM_LIBRARY_PAT", 19));
  assert_false(ms_env_is_internal("MEMSHIM_LIBRARY_PATHS", 21));
  assert_false(ms_env_is_internal("MEMSHIM_PROFILE", 15)); /* an option, not internal */
  assert_int_equal(ms_option_find("MEMSHIM_LIBRARY_PATH"), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_size_edges), cmocka_unit_test(test_duration), cmocka_unit_test(test_bool),
    cmocka_unit_test(test_percent_int), cmocka_unit_test(test_enum_list),
    cmocka_unit_test(test_signal_fraction), cmocka_unit_test(test_table_rows),
    cmocka_unit_test(test_defaults), cmocka_unit_test(test_load_env),
    cmocka_unit_test(test_set_and_long_path), cmocka_unit_test(test_warning_cap),
    cmocka_unit_test(test_report_default), cmocka_unit_test(test_path_template),
    cmocka_unit_test(test_size),
    cmocka_unit_test(test_format_round_trip), cmocka_unit_test(test_internal_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
