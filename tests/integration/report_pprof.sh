#!/usr/bin/env bash
# pprof output read by the real client (go tool pprof): a leaking C++ program's profile written
# by the library (MEMSHIM_REPORT=pprof) is byte for byte what the CLI makes from the same run's
# JSON; -top lists the leaking function with the JSON's live bytes, the four sample types are
# there, the main mapping carries the executable's build id (readelf -n); the Python fixture's
# frames are functions with file:line, the GPU fixture's sites have device_inuse_space.
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
command -v go >/dev/null || ms_skip "go is not installed (Debian package golang-go; scripts/test.sh installs it)"
export HOME=$MS_TMP PPROF_TMPDIR=$MS_TMP GOCACHE=$MS_TMP/gocache
data=$SRC_DIR/tests/integration/data
pprof() { go tool pprof "$@" 2>"$MS_TMP/pprof.err" || { cat "$MS_TMP/pprof.err"; ms_fail "go tool pprof $* failed"; }; }

ms_preload MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json,pprof MEMSHIM_REPORT_PATH="$MS_TMP/cxx" "$PROGS/prof_leaky_cxx" 1 >/dev/null
[ -s "$MS_TMP/cxx.pb.gz" ] || ms_fail "MEMSHIM_REPORT=pprof wrote no cxx.pb.gz"
gzip -t "$MS_TMP/cxx.pb.gz" || ms_fail "not a valid gzip file"
"$cli" report "$MS_TMP/cxx.json" --format pprof >"$MS_TMP/cli.pb.gz" || ms_fail "report --format pprof failed"
cmp -s "$MS_TMP/cxx.pb.gz" "$MS_TMP/cli.pb.gz" || ms_fail "the library's profile differs from the CLI's for the same report"
ms_pass "library and CLI write the same profile ($(stat -c %s "$MS_TMP/cxx.pb.gz") bytes, gzip ok)"

fn='SessionRegistry::register_session'
live=$("$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(s["memory"]["heap"]["live_bytes"] for s in d["sites"] if s["frames"] and s["frames"][0]["function"].startswith(sys.argv[2])))' \
  "$MS_TMP/cxx.json" "$fn")
ms_assert_num "$live" -gt 0 "live bytes of $fn in the JSON"
pprof -top -sample_index=inuse_space "$MS_TMP/cxx.pb.gz" >"$MS_TMP/top"
awk -v f="$fn" '$NF == f { found = 1 } END { exit !found }' "$MS_TMP/top" || { cat "$MS_TMP/top"; ms_fail "-top does not list $fn"; }
pprof -raw "$MS_TMP/cxx.pb.gz" >"$MS_TMP/raw"
grep -q '^inuse_space/bytes\[dflt\] inuse_objects/count alloc_space/bytes alloc_objects/count$' "$MS_TMP/raw" ||
  ms_fail "sample types: $(grep '/bytes' "$MS_TMP/raw")"
got=$(awk -v f="$fn" '
  /^Samples:/ { s = 1; next } /^Locations/ { s = 0; l = 1; next } /^Mappings/ { l = 0 }
  s && /:/ { split($0, a, ":"); split(a[1], v, " "); n = split(a[2], ids, " "); leaf[NR] = ids[1]; val[NR] = v[1] }
  l && index($0, " " f " ") { id = $1; sub(":", "", id); mine[id] = 1 }
  END { for (k in leaf) if (leaf[k] in mine) t += val[k]; print t + 0 }' "$MS_TMP/raw")
ms_assert_num "$got" -eq "$live" "inuse_space of $fn in the profile (JSON: $live)"
want_id=$(readelf -n "$PROGS/prof_leaky_cxx" | awk '/Build ID:/ { print $3 }')
grep -q "^1: 0x[0-9a-f]*/0x[0-9a-f]*/0x0 $PROGS/prof_leaky_cxx $want_id \[FN\]$" "$MS_TMP/raw" ||
  ms_fail "mapping 1 is not the executable with build id $want_id: $(sed -n '/^Mappings/,$p' "$MS_TMP/raw")"
ms_pass "go tool pprof -top lists $fn with its $live live bytes; mapping 1 = the executable, build id $want_id"

"$cli" report "$data/report_python.json" --format pprof >"$MS_TMP/py.pb.gz"
pprof -raw "$MS_TMP/py.pb.gz" >"$MS_TMP/raw"
grep -qE '^ +[0-9]+: 0x0 Encoder\.encode_batch /app/worker\.py:42 s=0$' "$MS_TMP/raw" ||
  ms_fail "the Python frame is not a function with file:line: $(sed -n '/^Locations/,/^Mappings/p' "$MS_TMP/raw")"
pprof -top "$MS_TMP/py.pb.gz" >"$MS_TMP/top"
grep -qE ' 64MB +66\.67% +66\.67% +64MB +66\.67%  tokenizer_encode$' "$MS_TMP/top" || { cat "$MS_TMP/top"; ms_fail "python fixture -top"; }
"$cli" report "$data/report_gpu.json" --format pprof >"$MS_TMP/gpu.pb.gz"
pprof -top -sample_index=device_inuse_space "$MS_TMP/gpu.pb.gz" >"$MS_TMP/top"
grep -qE '^ +11GB +100% +100% +11GB +100%  cudaMalloc$' "$MS_TMP/top" || { cat "$MS_TMP/top"; ms_fail "GPU fixture: device_inuse_space"; }
grep -qE ' 3GB .* Synth\.speak$' "$MS_TMP/top" || ms_fail "GPU fixture: the growing Python caller is missing"
ms_pass "fixtures: Python frames carry file:line, GPU sites have device_inuse_space (cudaMalloc 11GB)"
