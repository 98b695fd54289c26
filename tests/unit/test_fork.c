/* interpose/fork.c's naming rules: which loaded library is a thread pool the verbose fork line
 * names, and which OpenMP runtime's pool fork breaks (the warning in a child is for libgomp's
 * only). The warning itself, end to end: tests/integration/fork_openmp.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "interpose/fork.h"
#include "util/guard.h"

/* fork.c's neighbours in the library, which this test does not link */
bool ms_enabled, ms_initialized;
MS_TLS int ms_tls_guard;
bool ms_unwind_fork_prepare(void) { return false; }
void ms_unwind_fork_done(bool prepared, bool child) { (void)prepared, (void)child; }

static void test_pool_name(void **state) {
  (void)state;
  assert_string_equal(ms_fork_pool_name("/usr/lib/python3/dist-packages/tokenizers/tokenizers.cpython-311-x86_64-linux-gnu.so"),
                      "HF tokenizers");
  assert_string_equal(ms_fork_pool_name("/usr/lib/x86_64-linux-gnu/libgomp.so.1"), "OpenMP (libgomp)");
  assert_string_equal(ms_fork_pool_name("/venv/lib/python3.11/site-packages/torch.libs/libgomp-a34b3233.so.1"),
                      "OpenMP (libgomp)");
  assert_string_equal(ms_fork_pool_name("/opt/intel/lib/libiomp5.so"), "OpenMP (libiomp)");
  assert_string_equal(ms_fork_pool_name("/usr/lib/llvm-14/lib/libomp.so.5"), "OpenMP (libomp)");
  assert_string_equal(ms_fork_pool_name("libgomp.so.1"), "OpenMP (libgomp)"); /* no directory */
  /* by the file's own name, not a directory's */
  assert_null(ms_fork_pool_name("/opt/libgomp/lib/libc.so.6"));
  assert_null(ms_fork_pool_name("/usr/lib/x86_64-linux-gnu/libpthread.so.0"));
  assert_null(ms_fork_pool_name("/usr/lib/libgo.so.21"));
  assert_null(ms_fork_pool_name("/lib/"));
  assert_null(ms_fork_pool_name("")); /* the main program's entry */
  assert_null(ms_fork_pool_name(NULL));
}

static void test_is_libgomp(void **state) {
  (void)state;
  assert_true(ms_fork_is_libgomp("/usr/lib/x86_64-linux-gnu/libgomp.so.1"));
  assert_true(ms_fork_is_libgomp("/venv/site-packages/scikit_learn.libs/libgomp-d22c30c5.so.1.0.0"));
  assert_true(ms_fork_is_libgomp("libgomp.so.1"));
  assert_false(ms_fork_is_libgomp("/usr/lib/llvm-14/lib/libomp.so.5"));
  assert_false(ms_fork_is_libgomp("/opt/intel/lib/libiomp5.so"));
  assert_false(ms_fork_is_libgomp("/opt/libgomp/libomp.so"));
  assert_false(ms_fork_is_libgomp(""));
  assert_false(ms_fork_is_libgomp(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pool_name),
    cmocka_unit_test(test_is_libgomp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
