#!/usr/bin/env bash
# A Python program leaking through a C extension called with ctypes: the gate fails and names
# the extension's function first (not libffi, not the interpreter). A clean Python program with
# churn passes.
. "$(dirname "$0")/lib/common.sh"
: "${MS_TEST_CLI:?}"
command -v cc >/dev/null || ms_skip "no C compiler to build the extension"

cat >"$MS_TMP/ext.c" <<'C'
#include <stdlib.h>
#include <string.h>
static void *kept[1 << 16];
static unsigned nkept;
/* The leak: every call keeps 64 KiB forever. */
__attribute__((noinline)) void ext_cache_tensor(int i) {
  void *p = malloc(65536);
  memset(p, i, 256);
  if (nkept < (1u << 16)) kept[nkept++] = p;
}
void *ext_kept(unsigned i) { return i < nkept ? kept[i] : 0; }
/* Clean: allocate and free. */
int ext_scratch(int n) {
  char *p = malloc((size_t)n);
  memset(p, 1, (size_t)n);
  int r = p[n / 2];
  free(p);
  return r;
}
C
cc -shared -fPIC -O1 -g -fno-builtin -o "$MS_TMP/libext.so" "$MS_TMP/ext.c" || ms_fail "cannot build the extension"

cat >"$MS_TMP/leak.py" <<'PY'
import ctypes, sys, time
ext = ctypes.CDLL(sys.argv[1])
leak = sys.argv[2] == "1"
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < 2.0:
    ext.ext_scratch(1000 + i % 5000)
    junk = [str(k) * 10 for k in range(200)]  # Python-side churn
    if leak and i % 2 == 0:
        ext.ext_cache_tensor(i)
    i += 1
    time.sleep(0.002)
print("iterations", i)
PY

rc=0
"$MS_TEST_CLI" check -- "$PYTHON" "$MS_TMP/leak.py" "$MS_TMP/libext.so" 1 >/dev/null 2>"$MS_TMP/leak.err" || rc=$?
cat "$MS_TMP/leak.err"
ms_assert_num "$rc" -eq 1 "leaky Python program: gate exit status"
first=$(sed -n '/^top growing call sites:/{n;p;q}' "$MS_TMP/leak.err")
line=$(grep -n 'ext.ext_cache_tensor(i)' "$MS_TMP/leak.py" | cut -d: -f1)
# named by the Python line that leaks, then the native function it reached
grep -q "^ *+[0-9.]* [KMG]\?i\?B *$MS_TMP/leak.py:$line <module> (.*from ext_cache_tensor ($MS_TMP/libext.so+" <<<"$first" ||
  ms_fail "first growing site is not leak.py:$line <module> from ext_cache_tensor in libext.so: $first"
ms_pass "Python leaking through a ctypes-called extension fails, named leak.py:$line <module> from ext_cache_tensor"

rc=0
"$MS_TEST_CLI" check -- "$PYTHON" "$MS_TMP/leak.py" "$MS_TMP/libext.so" 0 >/dev/null 2>"$MS_TMP/clean.err" || rc=$?
cat "$MS_TMP/clean.err"
ms_assert_num "$rc" -eq 0 "clean Python program: gate exit status"
ms_pass "clean Python program (ctypes + list churn) passes"

# The interpreter's own teardown frees what the program leaked: a slow finalization (a module
# global whose __del__ takes 2 s, cleared after the leak) must not hide a leak that grew for 3 s.
# Snapshots stop once Py_IsInitialized turns 0.
ms_require_python_module numpy
cat >"$MS_TMP/teardown.py" <<'PY'
import time
import numpy as np
leak = []                       # cleared first at module teardown: the leak is freed
class Sleeper:
    def __del__(self):
        time.sleep(2.0)         # a slow teardown after that
t0 = time.monotonic()
while time.monotonic() - t0 < 3.0:
    leak.append(np.ones(1 << 15))   # 256 KiB, kept
    time.sleep(0.005)
sleeper = Sleeper()
PY
rc=0
"$MS_TEST_CLI" check -- "$PYTHON" "$MS_TMP/teardown.py" >/dev/null 2>"$MS_TMP/td.err" || rc=$?
cat "$MS_TMP/td.err"
ms_assert_num "$rc" -eq 1 "a leak freed by a slow interpreter teardown: gate exit status"
line=$(grep -n 'leak.append' "$MS_TMP/teardown.py" | cut -d: -f1)
sed -n '/^top growing call sites:/{n;p;q}' "$MS_TMP/td.err" | grep -q "teardown.py:$line <module>" ||
  ms_fail "the leak is not named teardown.py:$line first"
ms_pass "a leak the interpreter's teardown frees still fails the gate, named teardown.py:$line"
