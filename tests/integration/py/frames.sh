#!/usr/bin/env bash
# Python call sites on one interpreter (ctest runs it once per label: system, 3.8 ... 3.13;
# skipped when that interpreter is absent): the built-in layout against the interpreter's own
# headers, then in exact mode nested functions, methods, generators, comprehensions, a thread,
# exec'd code and non-ASCII names (also under python -I), a leak through ctypes malloc with the
# GIL released (MEMSHIM_LEAK_CHECK names the function and file:line first), fork, exit with
# daemon threads and atexit handlers, and the collector on every allocation.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/py.sh"
label=${1:?usage: frames.sh system|X.Y}
PY=$(ms_py_find "$label") ||
  ms_skip "CPython $label is not installed (pyenv versions, /usr/bin/python3, or $MS_PY_NEXT_ROOT: scripts/python-next.sh)"
ver=$(ms_py_version "$PY")
echo "interpreter: $PY ($ver)"
run() { ms_preload MEMSHIM_PROFILE=1 MEMSHIM_VERBOSE=1 "$@"; }

# 1. The built-in layout row against offsetof() in the interpreter's own headers.
inc=$(ms_py_host_path "$PY" "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')")
if [ -f "$inc/Python.h" ] && command -v cc >/dev/null; then
  # -idirafter: a Debian pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>
  cc -std=gnu11 -w -I"$inc" -I"$inc/internal" -idirafter "$(dirname "$inc")" -I"$SRC_DIR/src" -o "$MS_TMP/layout_check" \
    "$MS_PY_DIR/layout_check.c" "$SRC_DIR/src/profile/py_layout.c" || ms_fail "cannot build layout_check"
  "$MS_TMP/layout_check" || ms_fail "the built-in layout of CPython $ver differs from its headers"
  ms_pass "layout of CPython $ver matches its headers"
else
  echo "note: no headers for CPython $ver ($inc): its layout is checked at run time only (canaries)"
fi

# 2. The call shapes, exact mode; the reports written while the data is alive (signal).
for flags in "" "-I"; do
  mkdir -p "$MS_TMP/f$flags"
  run MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=text,json,collapsed MEMSHIM_LOG="$MS_TMP/f$flags/log" \
    MEMSHIM_REPORT_PATH="$MS_TMP/f$flags/m.%p" "$PY" $flags "$MS_PY_DIR/frames.py" || ms_fail "frames.py $flags failed"
  grep -q "Python call sites off" "$MS_TMP/f$flags/log" && ms_fail "feature refused: $(cat "$MS_TMP/f$flags/log")"
  "$PYTHON" "$MS_PY_DIR/check_frames.py" "$MS_TMP/f$flags/signal" "$MS_PY_DIR/frames.py" "$ver" ||
    ms_fail "python $flags: frames not named as expected"
done
ms_pass "nested, method, generator, comprehension, thread, exec, non-ASCII names: JSON, text and collapsed (also python -I)"

# 3. A leak through ctypes malloc (the GIL released while malloc runs): the gate names the
#    Python function and its file:line first, on stderr and in the JSON report.
rc=0
ms_preload MEMSHIM_LEAK_CHECK=1M MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/lk.%p" \
  "$PY" "$MS_PY_DIR/leak.py" ctypes 2 >/dev/null 2>"$MS_TMP/lk.err" || rc=$?
cat "$MS_TMP/lk.err"
ms_assert_num "$rc" -eq 1 "leaking Python program under MEMSHIM_LEAK_CHECK: exit status"
want="$MS_PY_DIR/leak.py:$(ms_py_line leak.py leak.ctypes) keep_blocks"
first=$(grep -m1 ' bytes at ' "$MS_TMP/lk.err" || true)
case "$first" in *" bytes at $want ("*) ;; *) ms_fail "first leaking site is not '$want': $first" ;; esac
"$PYTHON" "$MS_PY_DIR/check_leak.py" "$MS_TMP"/lk.*.json "$want" || ms_fail "JSON report does not name the leak"
ms_pass "ctypes leak (GIL released): MEMSHIM_LEAK_CHECK and the JSON name $want first"

# 4. fork: each process's own report names its own function.
mkdir -p "$MS_TMP/fork"
run MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/fork/m.%p" MEMSHIM_LOG="$MS_TMP/fork/log" \
  "$PY" "$MS_PY_DIR/fork.py" >/dev/null || ms_fail "fork.py failed"
"$PYTHON" - "$MS_TMP/fork" "$MS_PY_DIR/fork.py:$(ms_py_line fork.py fork.parent)" \
  "$MS_PY_DIR/fork.py:$(ms_py_line fork.py fork.child)" <<'PY' || ms_fail "fork: reports do not name parent_work/child_work"
import glob, json, sys
reports = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/m.*.json")]
assert len(reports) == 2, len(reports)
pids = {r["process"]["pid"] for r in reports}
def names(r):
    out = set()
    for s in r["sites"]:
        py = [f for f in s["frames"] if f["kind"] == "python"]
        if py and s["memory"]["heap"]["allocated_bytes"] >= 2000000:
            out.add("%s:%d %s" % (py[0]["file"], py[0]["line"], py[0]["function"]))
    return out
parent = next(r for r in reports if r["process"]["ppid"] not in pids)
child = next(r for r in reports if r["process"]["ppid"] in pids)
assert sys.argv[2] + " parent_work" in names(parent), names(parent)
assert sys.argv[3] + " child_work" in names(child), names(child)
PY
ms_pass "fork: parent and child reports name parent_work and child_work"

# 5. Exit with daemon threads allocating (from Python, and from C with the GIL released) and an
#    atexit handler allocating: exit status 0, the report names the handler.
mkdir -p "$MS_TMP/exit"
for i in 1 2 3; do
  rm -f "$MS_TMP"/exit/*
  run MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/exit/m.%p" \
    "$PY" "$MS_PY_DIR/exit.py" >/dev/null 2>"$MS_TMP/exit.err" || { cat "$MS_TMP/exit.err"; ms_fail "exit.py run $i failed"; }
done
"$PYTHON" - "$MS_TMP/exit" "$MS_PY_DIR/exit.py:$(ms_py_line exit.py atexit) at_exit_work" <<'PY' || ms_fail "exit report does not name at_exit_work"
import glob, json, sys
(r,) = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/m.*.json")]
firsts = set()
for s in r["sites"]:
    py = [f for f in s["frames"] if f["kind"] == "python"]
    if py:
        firsts.add("%s:%d %s" % (py[0]["file"], py[0]["line"], py[0]["function"]))
assert sys.argv[2] in firsts, sorted(firsts)[:20]
PY
ms_pass "exit with daemon threads and an atexit handler (3 runs): clean exit, handler named"

# 6. gc.set_threshold(1) in exact mode: the collector and finalizers run inside allocations.
mkdir -p "$MS_TMP/gc"
run MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/gc/m.%p" \
  "$PY" "$MS_PY_DIR/gc_stress.py" 2>"$MS_TMP/gc.err" || { cat "$MS_TMP/gc.err"; ms_fail "gc_stress.py failed"; }
"$PYTHON" - "$MS_TMP/gc" "$MS_PY_DIR/gc_stress.py:$(ms_py_line gc_stress.py gc.work) work" <<'PY' || ms_fail "gc_stress: work not named"
import glob, json, sys
(r,) = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/m.*.json")]
firsts = {"%s:%d %s" % (f["file"], f["line"], f["function"])
          for s in r["sites"] for f in s["frames"][:] if f["kind"] == "python"}
assert sys.argv[2] in firsts, sorted(firsts)[:20]
assert any(f["function"].endswith("__del__") for s in r["sites"] for f in s["frames"] if f["kind"] == "python"), "no finalizer frame"
PY
ms_pass "gc.set_threshold(1), exact mode: finalizers and collections inside sampled allocations, work named"
