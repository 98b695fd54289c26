#!/usr/bin/env bash
# Issue 12, glibc's malloc API keeps its meaning under the preload, jemalloc and glibc backends:
# - malloc_trim(0) after freeing 500 MB of 100 KB blocks (a live block after them, so the heap
#   cannot shrink from its top; MEMSHIM_RETAINED_MAX=off MEMSHIM_IDLE_PURGE=off so only the trim
#   returns memory) returns 1 and brings RSS back within 8 MB of where it was before the
#   allocation — from C and from Python (ctypes.CDLL(None).malloc_trim, seed 003's workaround);
# - mallinfo2/mallinfo: uordblks follows the live bytes (60 MiB, then 30 MiB), arena >= uordblks,
#   both agree (checked by the program);
# - malloc_stats prints glibc's layout (the same labels as glibc's own) with in-use >= 60 MiB;
# - malloc_info writes XML that parses, in glibc's form, with the heap's size;
# - __libc_malloc/calloc/realloc/memalign/valloc then free, and malloc then __libc_free, work.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI
NOPOLICY=(MEMSHIM_RETAINED_MAX=off MEMSHIM_IDLE_PURGE=off)

check_trim() { # what, output file
  local r before peak freed trimmed
  r=$(sed -n 's/^malloc_trim(0) = //p' "$2")
  read -r before peak freed trimmed < <(sed -n 's/^rss_kib before \([0-9]*\) peak \([0-9]*\) freed \([0-9]*\) trimmed \([0-9]*\)$/\1 \2 \3 \4/p' "$2")
  [ "$r" = 1 ] || ms_fail "$1: malloc_trim(0) returned '$r', want 1: $(cat "$2")"
  ms_assert_num $((peak - before)) -ge 480000 "$1: KiB allocated (RSS peak - before)"
  ms_assert_num $((freed - trimmed)) -ge 50000 "$1: KiB the trim gave back (or it had nothing to do)"
  ms_assert_num "$trimmed" -le $((before + 8192)) "$1: RSS KiB after the trim (before: $before)"
  ms_pass "$1: malloc_trim(0) = 1; RSS $((before / 1024)) MB -> peak $((peak / 1024)) -> freed $((freed / 1024)) -> trimmed $((trimmed / 1024)) MB"
}

"$PROGS/trust_glibc_api" stats 2>"$MS_TMP/native_stats" >/dev/null
for be in jemalloc glibc; do
  run() { timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_BACKEND=$be "$@"; }
  run "${NOPOLICY[@]}" "$PROGS/trust_glibc_api" trim >"$MS_TMP/out" || ms_fail "trim ($be): $(cat "$MS_TMP/out")"
  check_trim "C malloc_trim ($be)" "$MS_TMP/out"
  run "${NOPOLICY[@]}" "$PYTHON" "$(dirname "$0")/lib/trust_py_malloc_trim.py" >"$MS_TMP/out" ||
    ms_fail "Python trim ($be): $(cat "$MS_TMP/out")"
  check_trim "Python ctypes.CDLL(None).malloc_trim ($be)" "$MS_TMP/out"

  run "$PROGS/trust_glibc_api" mallinfo >"$MS_TMP/out" 2>&1 || ms_fail "mallinfo ($be): $(cat "$MS_TMP/out")"
  ms_pass "mallinfo2/mallinfo ($be): uordblks $(sed -n 's/^\(.*live\): mallinfo2 arena [0-9]* uordblks \([0-9]*\).*/\2 with \1/p' "$MS_TMP/out" | paste -sd',' -)"

  run "$PROGS/trust_glibc_api" stats 2>"$MS_TMP/stats" >/dev/null || ms_fail "malloc_stats ($be)"
  labels() { sed -n 's/^\([^=]*[a-z):]\) *=.*$/\1/p; /^Arena 0:$/p; /^Total (incl. mmap):$/p' "$1" | sort -u; }
  diff <(labels "$MS_TMP/native_stats") <(labels "$MS_TMP/stats") >&2 ||
    ms_fail "malloc_stats ($be): labels differ from glibc's own: $(cat "$MS_TMP/stats")"
  inuse=$(sed -n 's/^in use bytes *= *//p' "$MS_TMP/stats" | tail -1)
  ms_assert_num "$inuse" -ge 62914560 "malloc_stats ($be): total in use bytes with 60 MiB live"
  ms_pass "malloc_stats ($be): glibc's labels, in use $inuse bytes"

  run "$PROGS/trust_glibc_api" info "$MS_TMP/info.xml" || ms_fail "malloc_info ($be)"
  "$PYTHON" - "$MS_TMP/info.xml" <<'PY' || ms_fail "malloc_info ($be): $(cat "$MS_TMP/info.xml")"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "malloc" and root.get("version") == "1", root.attrib
assert root.find("heap[@nr='0']") is not None
current = int(root.find("system[@type='current']").get("size"))
assert current >= 60 << 20, current
assert root.find("total[@type='rest']") is not None and root.find("aspace[@type='total']") is not None
print("malloc_info: system current %d" % current)
PY
  ms_pass "malloc_info ($be): parseable XML in glibc's form"

  run "$PROGS/trust_glibc_api" libc >"$MS_TMP/out" 2>&1 || ms_fail "__libc_* ($be): status $?: $(cat "$MS_TMP/out")"
  ms_pass "__libc_* names ($be): $(sed 's/^ok: //' "$MS_TMP/out")"
done
