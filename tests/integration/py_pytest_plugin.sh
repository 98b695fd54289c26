#!/usr/bin/env bash
# The pytest plugin (python/pytest_memshim, docs/pytest.md) on tests/integration/py/pytest_sample,
# per-test outcomes read from pytest's junit XML:
# - exact mode under `memshim run --profile`: a test leaking 512 KiB per run fails limit_leaks
#   naming its file:line; an lru_cache filled by the warm-up run passes; 50 MiB held for a moment
#   fails limit_memory("10 MB") naming the allocating line and passes limit_memory("100 MB");
# - sampling every 64 KiB: the same outcomes (a 2 MiB leak per run; the noise floor keeps the
#   clean test passing);
# - without the library, and with it but profiling off: every marked test fails with a memshim:
#   message saying how to run it, the unmarked test passes;
# - installed with `pip install ./python` into a venv (offline): the pytest11 entry point loads it
#   without -p, --memshim-leak-runs is honoured.
# Outcomes do not depend on time: no sleeps, no rates.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/py.sh"
"$PYTHON" -c 'import pytest' 2>/dev/null || ms_skip "pytest is not installed for $PYTHON (scripts/lib/deps.sh: python3-pytest)"

sample=$MS_PY_DIR/pytest_sample
file=$sample/test_sample.py
leak="$file:$(ms_py_line pytest_sample/test_sample.py leak) test_leaks"
peak="$file:$(ms_py_line pytest_sample/test_sample.py peak) allocate_big"
export PYTHONDONTWRITEBYTECODE=1 MEMSHIM_REPORT_PATH="$MS_TMP/exit.%p"
cd "$MS_TMP"

# run_pytest NAME [VAR=value...] [--] pytest args: junit XML in $MS_TMP/NAME.xml, output in NAME.out
run_pytest() {
  local name=$1 rc=0
  shift
  env PYTHONPATH="$SRC_DIR/python" "$@" --junitxml="$MS_TMP/$name.xml" -p no:cacheprovider "$file" \
    >"$MS_TMP/$name.out" 2>&1 || rc=$?
  [ "$rc" -eq 1 ] || { cat "$MS_TMP/$name.out"; ms_fail "$name: pytest exit status $rc, expected 1 (some tests fail)"; }
}
check() {
  local name=$1
  shift
  "$PYTHON" "$sample/check_junit.py" "$MS_TMP/$name.xml" "$@" || { cat "$MS_TMP/$name.out"; ms_fail "$name: outcomes"; }
}

run_pytest exact MEMSHIM_SAMPLE_BYTES=1 "$MS_TEST_CLI" run --profile -- "$PYTHON" -m pytest -p pytest_memshim
grep -q "memshim 0.1.0: profiling, exact" "$MS_TMP/exact.out" || ms_fail "exact: no memshim header line"
check exact "test_leaks=failed~at $leak" "test_leaks=failed~grew by 2.5 MiB over 5 runs" test_cache_warmup=passed \
  "test_peak_over_limit=failed~at $peak" test_peak_under_limit=passed test_unmarked=passed
ms_pass "exact: the leak fails naming $leak, the warm-up cache passes, limit_memory fails at 10 MB naming $peak, passes at 100 MB"

run_pytest sampled MS_SAMPLE_LEAK_KB=2048 MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_PROFILE=1 LD_PRELOAD="$MS_TEST_LIB" \
  "$PYTHON" -m pytest -p pytest_memshim
grep -q "memshim 0.1.0: profiling, sampling every 64.0 KiB" "$MS_TMP/sampled.out" || ms_fail "sampled: no memshim header line"
check sampled "test_leaks=failed~at $leak" test_cache_warmup=passed "test_peak_over_limit=failed~at $peak" \
  test_peak_under_limit=passed test_unmarked=passed
ms_pass "sampling every 64 KiB: the same outcomes"

# expect_marked TEXT: every marked test failed with TEXT in its message
expect_marked() { local t; for t in test_leaks test_cache_warmup test_peak_over_limit test_peak_under_limit; do echo "$t=failed~$1"; done; }
run_pytest unloaded "$PYTHON" -m pytest -p pytest_memshim
mapfile -t want < <(expect_marked "memshim: libmemshim.so is not loaded in this process; run pytest under")
check unloaded "${want[@]}" "test_leaks=failed~memshim run --profile -- python3 -m pytest" test_unmarked=passed
run_pytest profiling_off LD_PRELOAD="$MS_TEST_LIB" "$PYTHON" -m pytest -p pytest_memshim
mapfile -t want < <(expect_marked "memshim: libmemshim.so is loaded but profiling is off")
check profiling_off "${want[@]}" test_unmarked=passed
ms_pass "no library, or profiling off: every marked test fails with a memshim: message, none passes unmeasured"

# Offline install into a venv that sees Debian's pytest; built from a copy (pip builds in the tree).
"$PYTHON" -m venv --system-site-packages "$MS_TMP/venv" || ms_fail "python3 -m venv"
cp -r "$SRC_DIR/python" "$MS_TMP/python-src"
"$MS_TMP/venv/bin/pip" install --no-index --no-deps -q "$MS_TMP/python-src" >"$MS_TMP/pip.out" 2>&1 ||
  { cat "$MS_TMP/pip.out"; ms_fail "pip install ./python (offline)"; }
rc=0
env MEMSHIM_SAMPLE_BYTES=1 "$MS_TEST_CLI" run --profile -- "$MS_TMP/venv/bin/python" -m pytest --memshim-leak-runs 3 \
  -k "leaks or unmarked" --junitxml="$MS_TMP/venv.xml" -p no:cacheprovider "$file" >"$MS_TMP/venv.out" 2>&1 || rc=$?
ms_assert_num "$rc" -eq 1 "installed plugin: pytest exit status"
grep -q "limit_leaks runs: 1 warm-up + 3" "$MS_TMP/venv.out" || { cat "$MS_TMP/venv.out"; ms_fail "installed plugin not loaded by its entry point"; }
"$PYTHON" "$sample/check_junit.py" "$MS_TMP/venv.xml" "test_leaks=failed~grew by 1.5 MiB over 3 runs" test_unmarked=passed ||
  { cat "$MS_TMP/venv.out"; ms_fail "installed plugin: outcomes"; }
ms_pass "pip install ./python offline: loaded through its pytest11 entry point, --memshim-leak-runs 3 honoured"
