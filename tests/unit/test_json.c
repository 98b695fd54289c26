/* The CLI's JSON reader: values, escapes, errors with positions, getters with defaults. */
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

static ms_json *parse_ok(const char *text) {
  char err[200];
  ms_json *v = ms_json_parse(text, strlen(text), err, sizeof err);
  if (!v) fail_msg("parse failed: %s", err);
  return v;
}

static void parse_bad(const char *text, const char *why_part) {
  char err[200];
  ms_json *v = ms_json_parse(text, strlen(text), err, sizeof err);
  assert_null(v);
  if (!strstr(err, why_part)) fail_msg("error '%s' lacks '%s'", err, why_part);
}

static void test_values(void **state) {
  (void)state;
  ms_json *v = parse_ok(" {\"a\": 1, \"b\": [true, false, null, -2.5e1, \"x\"], \"c\": {\"d\": 9007199254740993}} ");
  assert_int_equal(v->type, MS_JSON_OBJECT);
  assert_int_equal(ms_json_count(v), 3);
  assert_true(ms_json_u64(ms_json_get(v, "a"), 0) == 1);
  const ms_json *b = ms_json_get(v, "b");
  assert_int_equal(ms_json_count(b), 5);
  assert_true(ms_json_bool(ms_json_index(b, 0), false));
  assert_false(ms_json_bool(ms_json_index(b, 1), true));
  assert_int_equal(ms_json_index(b, 2)->type, MS_JSON_NULL);
  assert_true(ms_json_number(ms_json_index(b, 3), 0) == -25.0);
  assert_string_equal(ms_json_string(ms_json_index(b, 4), ""), "x");
  assert_null(ms_json_index(b, 5));
  /* integers beyond 2^53 stay exact */
  assert_true(ms_json_u64(ms_json_path(v, "c.d"), 0) == 9007199254740993ull);
  /* defaults for absent or mistyped members */
  assert_true(ms_json_u64(ms_json_path(v, "c.nope"), 7) == 7);
  assert_string_equal(ms_json_string(ms_json_get(v, "a"), "dflt"), "dflt");
  assert_true(ms_json_u64(ms_json_index(b, 3), 3) == 3); /* negative: not a u64 */
  ms_json_free(v);
}

static void test_strings(void **state) {
  (void)state;
  ms_json *v = parse_ok("[\"q\\\"b\\\\s\\/n\\n\\t\", \"\\u00e9\\u20ac\\ud83d\\ude00\", \"\"]");
  assert_string_equal(ms_json_string(ms_json_index(v, 0), NULL), "q\"b\\s/n\n\t");
  assert_string_equal(ms_json_string(ms_json_index(v, 1), NULL), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  assert_string_equal(ms_json_string(ms_json_index(v, 2), NULL), "");
  ms_json_free(v);
}

static void test_errors(void **state) {
  (void)state;
  parse_bad("", "end of input");
  parse_bad("{\"a\" 1}", "':' expected");
  parse_bad("[1, 2", "',' or ']' expected");
  parse_bad("[1,]", "unexpected character");
  parse_bad("{\"a\":1} x", "trailing");
  parse_bad("\"abc", "unterminated");
  parse_bad("\"\\x\"", "bad escape");
  parse_bad("\"\\ud800\"", "surrogate");
  parse_bad("01", "trailing");
  parse_bad("1.", "digit expected");
  parse_bad("tru", "unexpected");
  parse_bad("{\n  \"a\": [1,\n  2 3]}", "line 3");
  char deep[600];
  memset(deep, '[', sizeof deep - 1);
  deep[sizeof deep - 1] = 0;
  parse_bad(deep, "nested too deeply");
}

static void test_duplicate_key_last_wins(void **state) {
  (void)state;
  ms_json *v = parse_ok("{\"k\": 1, \"k\": 2}");
  assert_true(ms_json_u64(ms_json_get(v, "k"), 0) == 2);
  ms_json_free(v);
}

static void test_file(void **state) {
  (void)state;
  char path[] = "/tmp/ms_json_test.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char doc[] = "{\"format\": \"memshim-report\", \"version\": 1}";
  assert_int_equal(write(fd, doc, sizeof doc - 1), (int)(sizeof doc - 1));
  close(fd);
  char err[200];
  ms_json *v = ms_json_parse_file(path, err, sizeof err);
  assert_non_null(v);
  assert_true(ms_json_u64(ms_json_get(v, "version"), 0) == 1);
  ms_json_free(v);
  unlink(path);
  assert_null(ms_json_parse_file(path, err, sizeof err));
  assert_non_null(strstr(err, path));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_values),
    cmocka_unit_test(test_strings),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_duplicate_key_last_wins),
    cmocka_unit_test(test_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
