# Sourced by every integration test. ctest sets MS_TEST_LIB, MS_TEST_CLI, PROGS, SRC_DIR,
# BUILD_DIR and PYTHON. Exit codes: 0 pass, 1 fail, 77 skipped (a prerequisite is absent).
set -euo pipefail

: "${MS_TEST_LIB:?run through ctest}" "${PROGS:?}" "${PYTHON:=/usr/bin/python3}"

ms_fail() { echo "FAIL: $*" >&2; exit 1; }
ms_pass() { echo "PASS: $*"; }
ms_skip() { echo "SKIP: $*" >&2; exit 77; }

# A private temporary directory, removed at exit.
MS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/memshim-test.XXXXXX")
trap 'rm -rf "$MS_TMP"' EXIT

# Run a command with libmemshim.so preloaded (extra VAR=value words may precede it).
ms_preload() { env LD_PRELOAD="$MS_TEST_LIB" "$@"; }

# Assert that "$1" (a number) compares with "$3" by "$2" (-le, -ge, -eq, ...).
ms_assert_num() {
  local a=$1 op=$2 b=$3 what=${4:-value}
  [ "$a" "$op" "$b" ] || ms_fail "$what: expected $a $op $b"
}

# The default MEMSHIM_REPORT_SIGNAL as the option table writes it (SIGRTMIN+9), for kill -s.
ms_report_signal() { env -u MEMSHIM_REPORT_SIGNAL "$MS_TEST_CLI" config | awk '$1 == "MEMSHIM_REPORT_SIGNAL" { print $3 }'; }

ms_require_python_module() {
  "$PYTHON" -c "import $1" 2>/dev/null || ms_skip "python module $1 is not installed (scripts/test.sh installs it)"
}

# ms_wait_for SECONDS CMD...: poll CMD until it succeeds (0) or SECONDS pass (1). Tests wait for
# the event they assert on (a file appears, a counter moves, a pid ends), never for a fixed time:
# both cores may be busy with other jobs, so give generous time-outs (60 s+).
ms_wait_for() {
  local limit=$1 start=$SECONDS; shift
  until "$@"; do
    [ $((SECONDS - start)) -lt "$limit" ] || return 1
    sleep 0.05
  done
}

# ms_metric FILE NAME: the first sample of Prometheus metric NAME in FILE (empty when absent).
ms_metric() { awk -v m="$2" '$1 ~ "^"m"[{]" {print $2; exit}' "$1" 2>/dev/null || true; }
