#!/usr/bin/env bash
# A program that loads libpython with dlopen after start-up (an embedding host): memshim finds
# the interpreter from the profiler's snapshot job once the library is there, and the Python
# code run afterwards is named in the report.
. "$(dirname "$0")/lib/common.sh"
lib=""
for p in /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.1[0-3].*/lib/libpython3.1?.so.1.0; do
  [ -f "$p" ] && { lib=$p; break; }
done
[ -n "$lib" ] || ms_skip "no shared libpython 3.10-3.13 (Debian's libpython3.11, or a pyenv build)"
echo "libpython: $lib"
rc=0
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_VERBOSE=2 MEMSHIM_LOG="$MS_TMP/log" MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=json \
  MEMSHIM_REPORT_PATH="$MS_TMP/m.%p" "$PROGS/py_embed" "$lib" "$MS_TMP/log" || rc=$?
cat "$MS_TMP/log"
ms_assert_num "$rc" -eq 0 "embedding host: exit status (3: the interpreter was never found)"
"$PYTHON" - "$MS_TMP"/m.*.json <<'PY' || ms_fail "the report does not name embedded_work"
import json, sys
d = json.load(open(sys.argv[1]))
names = {(f["file"], f["line"], f["function"]) for s in d["sites"] for f in s["frames"] if f["kind"] == "python"}
assert ("<string>", 3, "embedded_work") in names, sorted(names)[:10]
PY
ms_pass "libpython loaded after start-up: found by the snapshot job, embedded_work named"
