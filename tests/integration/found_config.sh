#!/usr/bin/env bash
# Configuration end to end: a malformed value of each type prints exactly one
# `memshim: MEMSHIM_X=...: <why>; using <default>` line and the program still runs; an unknown
# MEMSHIM_* variable warns once; `memshim config` lists every row of the option table with its
# current value and source; MEMSHIM_BACKEND is read the same way by the bootstrap selector and
# the option parser; `memshim run -- cmd` preloads the library and reports a missing command.
. "$(dirname "$0")/lib/common.sh"
cli=$MS_TEST_CLI
. "$(dirname "$0")/lib/found.sh"
prog=$PROGS/found_entry

# bad_value VAR=VALUE DEFAULT: one warning line, exactly this format, and a normal run.
bad_value() {
  local assign=$1 default=$2
  env "$assign" LD_PRELOAD="$MS_TEST_LIB" "$prog" >"$MS_TMP/out" 2>"$MS_TMP/err" ||
    ms_fail "$assign: the program failed: $(cat "$MS_TMP/err")"
  grep -q "0 failed, counters checked" "$MS_TMP/out" || ms_fail "$assign: $(cat "$MS_TMP/out")"
  [ "$(wc -l <"$MS_TMP/err")" -eq 1 ] || ms_fail "$assign: want one stderr line, got: $(cat "$MS_TMP/err")"
  local line
  line=$(cat "$MS_TMP/err")
  [[ "$line" == "memshim: $assign: "*"; using $default" ]] || ms_fail "$assign: bad warning format: $line"
  local why=${line#"memshim: $assign: "}
  why=${why%"; using $default"}
  [ -n "$why" ] || ms_fail "$assign: the warning gives no reason: $line"
}
bad_value MEMSHIM_ENABLE=maybe 1                 # bool
bad_value MEMSHIM_VERBOSE=loud 0                 # int
bad_value MEMSHIM_VERBOSE=9 0                    # int out of range
bad_value MEMSHIM_RETAINED_MAX=12Q 64M           # size, bad suffix
bad_value MEMSHIM_RETAINED_MAX=99999999999G 64M  # size overflow
bad_value MEMSHIM_PURGE_INTERVAL=5parsecs 200ms  # duration
bad_value MEMSHIM_BACKEND=tcmalloc jemalloc      # enum
bad_value MEMSHIM_REPORT=text,pdf text           # list
bad_value MEMSHIM_REPORT_SIGNAL=SIGKILL SIGRTMIN+9  # signal
bad_value MEMSHIM_REPORT_SIGNAL=RTMIN+99 SIGRTMIN+9  # signal past SIGRTMAX
bad_value MEMSHIM_LEAK_WARMUP=1.5 0.25           # fraction
ms_pass "malformed values of every type: one 'memshim: VAR=value: why; using default' line, program runs"

# Two bad values: two lines, in any order; the unknown variable: one line.
env MEMSHIM_ENABLE=x MEMSHIM_FROBNICATE=1 LD_PRELOAD="$MS_TEST_LIB" "$prog" >"$MS_TMP/out" 2>"$MS_TMP/err" ||
  ms_fail "unknown variable: the program failed"
[ "$(grep -c 'MEMSHIM_FROBNICATE' "$MS_TMP/err")" -eq 1 ] || ms_fail "unknown variable: $(cat "$MS_TMP/err")"
grep -q '^memshim: MEMSHIM_FROBNICATE: unknown option' "$MS_TMP/err" || ms_fail "unknown variable: $(cat "$MS_TMP/err")"
[ "$(wc -l <"$MS_TMP/err")" -eq 2 ] || ms_fail "bad + unknown: $(cat "$MS_TMP/err")"
ms_pass "an unknown MEMSHIM_* variable warns exactly once"

# Good values are silent.
env MEMSHIM_ENABLE=yes MEMSHIM_RETAINED_MAX=128MiB MEMSHIM_PURGE_INTERVAL=1s MEMSHIM_BACKEND=jemalloc \
  LD_PRELOAD="$MS_TEST_LIB" "$prog" >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "good values: program failed"
[ ! -s "$MS_TMP/err" ] || ms_fail "good values warned: $(cat "$MS_TMP/err")"
ms_pass "well-formed values are silent"

# MEMSHIM_BACKEND spelled as the option parser accepts it selects glibc.
found_backend_prog
for v in glibc GLIBC Glibc " glibc "; do
  got=$(env MEMSHIM_BACKEND="$v" LD_PRELOAD="$MS_TEST_LIB" "$MS_TMP/backend" 2>"$MS_TMP/err")
  [ "$got" = glibc ] && [ ! -s "$MS_TMP/err" ] || ms_fail "MEMSHIM_BACKEND='$v' gave $got $(cat "$MS_TMP/err")"
done
ms_pass "MEMSHIM_BACKEND is case-insensitive and blank-tolerant, like the option table"

# memshim config: every row of the table, with current values and their source.
# Rows look like `[MS_OPT_X] = {"x", "MEMSHIM_X", ...` and may wrap.
tr '\n' ' ' <"$SRC_DIR/src/config/options.c" | grep -oE '\[MS_OPT_[A-Z_]+\] = \{"[a-z_]+", +"MEMSHIM_[A-Z_]+"' |
  grep -oE 'MEMSHIM_[A-Z_]+' | sort >"$MS_TMP/table"
[ "$(wc -l <"$MS_TMP/table")" -ge 4 ] || ms_fail "could not read the option table from options.c"
env MEMSHIM_RETAINED_MAX=128M MEMSHIM_VERBOSE=loud "$cli" config >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "memshim config failed"
awk 'NR > 1 && /^$/ { exit } NR > 1 {print $1}' "$MS_TMP/out" | sort >"$MS_TMP/listed" # the table ends at the blank line (the container section follows)
diff "$MS_TMP/table" "$MS_TMP/listed" >"$MS_TMP/diff" || ms_fail "memshim config rows differ from the table: $(cat "$MS_TMP/diff")"
grep -qE '^MEMSHIM_RETAINED_MAX +size +128M +environment ' "$MS_TMP/out" || ms_fail "config: $(grep RETAINED "$MS_TMP/out")"
grep -qE '^MEMSHIM_VERBOSE +int +0 +default \(bad value' "$MS_TMP/out" || ms_fail "config: $(grep VERBOSE "$MS_TMP/out")"
grep -qE '^MEMSHIM_ENABLE +bool +1 +default ' "$MS_TMP/out" || ms_fail "config: $(grep ENABLE "$MS_TMP/out")"
[ "$(cat "$MS_TMP/err")" = "memshim: MEMSHIM_VERBOSE=loud: not an integer; using 0" ] ||
  ms_fail "config: bad value message: $(cat "$MS_TMP/err")"
ms_pass "memshim config lists all $(wc -l <"$MS_TMP/table") options with value and source"

# memshim config --json: the same rows, values and sources as one JSON object
env MEMSHIM_RETAINED_MAX=128M MEMSHIM_VERBOSE=loud "$cli" config --json >"$MS_TMP/json" 2>/dev/null || ms_fail "memshim config --json failed"
"$PYTHON" - "$MS_TMP/json" "$MS_TMP/out" <<'PY' || ms_fail "config --json differs from the table"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["format"] == "memshim-config" and doc["version"] == 1, doc.get("format")
table = open(sys.argv[2]).read().split("\n\n")[0]  # the option rows; the container section follows
rows = {l.split()[0]: [w if w != "\"\"" else "" for w in l.split()[1:4]] for l in table.splitlines()[1:]}
got = {o["variable"]: [o["type"], o["value"], o["source"].split()[0]] for o in doc["options"]}
assert set(got) == set(rows), set(got) ^ set(rows)
bad = {k: (got[k], rows[k]) for k in rows if got[k][:2] != rows[k][:2] or got[k][2] != rows[k][2]}
assert not bad, bad
assert got["MEMSHIM_RETAINED_MAX"] == ["size", "128M", "environment"], got["MEMSHIM_RETAINED_MAX"]
PY
ms_pass "memshim config --json: the same $(wc -l <"$MS_TMP/table") options, values and sources"

# memshim run: preloads the library (the program sees memshim's counters), passes the status.
MEMSHIM_LIBRARY_PATH=$MS_TEST_LIB "$cli" run -- "$prog" >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "run: $(cat "$MS_TMP/err")"
grep -q "0 failed, counters checked" "$MS_TMP/out" || ms_fail "run did not preload: $(cat "$MS_TMP/out")"
[ ! -s "$MS_TMP/err" ] || ms_fail "run: unexpected stderr: $(cat "$MS_TMP/err")"
# Found next to the CLI binary, without MEMSHIM_LIBRARY_PATH, when both sit in one directory.
if [ "$(dirname "$cli")" = "$(dirname "$MS_TEST_LIB")" ]; then
  env -u MEMSHIM_LIBRARY_PATH "$cli" run -- "$prog" >"$MS_TMP/out" 2>&1 || ms_fail "run (library next to cli): $(cat "$MS_TMP/out")"
  grep -q "counters checked" "$MS_TMP/out" || ms_fail "run (library next to cli): $(cat "$MS_TMP/out")"
fi
rc=0
MEMSHIM_LIBRARY_PATH=$MS_TEST_LIB "$cli" run -- "$MS_TMP/no-such-command" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
[ "$rc" -eq 127 ] || ms_fail "missing command: exit $rc, want 127"
grep -q "cannot run '$MS_TMP/no-such-command': No such file or directory" "$MS_TMP/err" ||
  ms_fail "missing command: unclear message: $(cat "$MS_TMP/err")"
ms_pass "memshim run -- cmd preloads the library; a missing command exits 127 with a clear message"
