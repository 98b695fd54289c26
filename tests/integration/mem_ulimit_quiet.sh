#!/usr/bin/env bash
# Under a tight address-space limit (ulimit -v) memshim stays silent where plain jemalloc does:
# whatever jemalloc runs, memshim runs too (it may run more: it maps no libjemalloc.so.2 or
# libstdc++), and no line of ours reaches stderr — also when the limit refuses the monitor
# thread its stack (a Python process holding 40 MiB wants the thread for the heap policy).
. "$(dirname "$0")/lib/common.sh"
JE=$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 2>/dev/null | head -1)
[ -n "$JE" ] || ms_skip "libjemalloc.so.2 not installed (the comparison needs it)"

run() { # lib limit-kb command...: prints "rc" and leaves stderr in $MS_TMP/err
  local lib=$1 kb=$2
  shift 2
  bash -c 'ulimit -v "$1"; shift; exec env LD_PRELOAD="$0" "$@"' "$lib" "$kb" "$@" >/dev/null 2>"$MS_TMP/err"
  echo $?
}
checked=0
for kb in 80000 120000 200000; do
  for cmd in "/bin/true" "$PYTHON -c x=bytearray(40<<20)" "$PYTHON -c x=[bytearray(1<<20)for\\ _\\ in\\ range(150)]"; do
    # shellcheck disable=SC2086 # the command is a word list
    je_rc=$(run "$JE" $kb $cmd)
    # shellcheck disable=SC2086
    ms_rc=$(run "$MS_TEST_LIB" $kb $cmd)
    [ "$je_rc" -ne 0 ] || ms_assert_num "$ms_rc" -eq 0 "exit status of '$cmd' under ulimit -v $kb (jemalloc's was 0)"
    if grep -q memshim "$MS_TMP/err"; then ms_fail "memshim spoke under ulimit -v $kb ('$cmd'): $(cat "$MS_TMP/err")"; fi
    checked=$((checked + 1))
  done
done
ms_pass "$checked runs under ulimit -v: memshim succeeds wherever jemalloc does, and says nothing"
