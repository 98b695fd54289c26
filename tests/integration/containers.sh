#!/usr/bin/env bash
# ctest-label: slow
# ctest-timeout: 2400
# The examples' images, built and run for real with podman (set-up in lib/podman.sh: runc, host
# network, the test's cgroup, a debootstrap base image cached outside the checkout). Both Dockerfiles
# build from the source tree; the encode worker with PYTHON_PACKAGES=debian (no PyPI here). Checks:
# each image's LD_PRELOAD is the path CMake says the .deb installs and a process in the image maps
# that file; the TTS server, driven over 127.0.0.1, stopped like `docker stop`, leaves a memshim
# JSON report whose sites name server.py lines that build the model, and the host's CLI reads it;
# the encode worker encodes its input and leaves its Prometheus textfile and report; the GitHub
# Actions example's steps (install, build, leak gate, timeline) run in its container image.
# Cold (empty cache): debootstrap + both builds, several minutes; warm: the cached base and layers.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/podman.sh"
# A command that fails outside an `|| ms_fail` says which, instead of a silent set -e exit.
set -E
trap 'echo "FAIL: containers.sh line $LINENO: $BASH_COMMAND (status $?)" >&2' ERR
: "${BUILD_DIR:?}" "${MS_TEST_CLI:?}"
command -v curl >/dev/null || ms_skip "curl is not installed"
ms_podman_setup

t0=$SECONDS
ms_podman_base
echo "base image $MS_PODMAN_BASE ready after $((SECONDS - t0)) s"
want=$(cat "$BUILD_DIR/package-preload-path") || ms_fail "no package-preload-path in $BUILD_DIR (cmake/install.cmake)"

t1=$SECONDS
ms_podman_build tts-server "$SRC_DIR/examples/tts-server/Dockerfile"
tts=$MS_PODMAN_TAG
echo "tts-server image built in $((SECONDS - t1)) s"
t1=$SECONDS
ms_podman_build encode-worker "$SRC_DIR/examples/encode-worker/Dockerfile" --build-arg PYTHON_PACKAGES=debian
enc=$MS_PODMAN_TAG
echo "encode-worker image (PYTHON_PACKAGES=debian) built in $((SECONDS - t1)) s"
# The build stage both share, tagged too so that its layers stay cached (instant: all cached).
ms_podman_build memshim-build "$SRC_DIR/examples/tts-server/Dockerfile" --target memshim-build

# The preload path: the image's ENV names it, the file is there, and a process started in the
# image maps it (the loader skips a missing LD_PRELOAD file without a word). maps shows the file
# the name resolves to (libmemshim.so is a link to the versioned file).
for img in "$tts" "$enc"; do
  env_lib=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$img" | sed -n 's/^LD_PRELOAD=//p')
  [ "$env_lib" = "$want" ] || ms_fail "$img: LD_PRELOAD=$env_lib, the .deb installs $want"
  name=ms-maps-$$-$(basename "${img%:*}")
  MS_PODMAN_CONTAINERS+=("$name")
  out=$(podman run --rm --name "$name" "${MS_PODMAN_RUN_OPTS[@]}" "$img" \
    sh -c 'test -f "$LD_PRELOAD" && readlink -f "$LD_PRELOAD" && cat /proc/self/maps') \
    || ms_fail "$img: $want is not a file in the image"
  real=$(head -1 <<<"$out")
  grep -q " $real\$" <<<"$out" || ms_fail "$img: a process in the image does not map $want ($real)"
done
ms_pass "both images: LD_PRELOAD=$want ($real), mapped by a process in the image"

# --- The TTS server: profile on, reports on a host directory, a free port on 127.0.0.1.
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reports=$MS_TMP/tts-reports
mkdir -p "$reports"
ctr=ms-tts-$$
# The host's network: the server listens on 127.0.0.1 only.
ms_podman_run "$ctr" -e HOST=127.0.0.1 -e PORT="$port" -e MEMSHIM_PROFILE=1 -v "$reports:/var/log/memshim" "$tts" \
  || ms_fail "podman run $tts"
get() { curl -sf --max-time 120 "http://127.0.0.1:$port/$1"; }
# Wait for the server to answer (importing torch takes a while on a loaded machine).
deadline=$((SECONDS + 180))
until get "unload?name=none" >/dev/null 2>&1; do
  [ "$(podman inspect --format '{{.State.Running}}' "$ctr")" = true ] \
    || { podman logs "$ctr" >&2; ms_fail "the TTS server exited before answering"; }
  [ $SECONDS -lt $deadline ] || { podman logs "$ctr" >&2; ms_fail "the TTS server did not answer on port $port in 180 s"; }
  sleep 0.5
done
pid=$(podman inspect --format '{{.State.Pid}}' "$ctr")
grep -q " $real\$" "/proc/$pid/maps" || ms_fail "the TTS server (host pid $pid) does not map $want"
ms_pass "TTS server answers on 127.0.0.1:$port and maps $want"

get "load?name=a&mb=64" >/dev/null || ms_fail "GET /load a"
get "synthesize?name=a" >/dev/null || ms_fail "GET /synthesize a"
get "load?name=b&mb=32" >/dev/null || ms_fail "GET /load b"
out=$(get "unload?name=a") || ms_fail "GET /unload a"
[ "$out" = '{"loaded": ["b"]}' ] || ms_fail "unexpected answer to /unload: $out"
# On demand, the documented way: memshim snapshot inside the container (the server is its PID 1).
podman exec "$ctr" memshim doctor 1 >"$MS_TMP/doctor.txt" 2>&1 || ms_fail "memshim doctor 1 in the container: $(cat "$MS_TMP/doctor.txt")"
podman exec "$ctr" memshim snapshot -t 120 1 >"$MS_TMP/snap.txt" 2>&1 || ms_fail "memshim snapshot 1 in the container: $(cat "$MS_TMP/snap.txt")"
grep -q '/var/log/memshim/tts-1.json' "$MS_TMP/snap.txt" || ms_fail "memshim snapshot did not name tts-1.json: $(cat "$MS_TMP/snap.txt")"
[ -s "$reports/tts-1.json" ] || ms_fail "the snapshot's tts-1.json is not in the volume"
[ "$(podman inspect --format '{{.State.Running}}' "$ctr")" = true ] || ms_fail "the TTS server died of the snapshot"
ms_pass "memshim snapshot 1 in the running container wrote tts-1.json and the server runs on"
podman stop -t 120 "$ctr" >/dev/null || ms_fail "podman stop"
code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
[ "$code" = 0 ] || { podman logs "$ctr" >&2; ms_fail "the TTS server exited with status $code on SIGTERM"; }

# tts-1.json: the server's (PID 1); the memshim commands run by podman exec load the preload
# too (ENV LD_PRELOAD reaches every process of the container) and leave reports of their own.
report=$reports/tts-1.json
[ -s "$report" ] || ms_fail "want the server's tts-1.json in the volume, found: $(ls "$reports")"
# The sites holding model b's weights (32 MiB live at exit) name the server.py line of build().
"$PYTHON" - "$report" "$SRC_DIR/examples/tts-server/server.py" <<'PY' || ms_fail "the report does not name server.py's model line ($report)"
import json, sys
rep = json.load(open(sys.argv[1]))
src = open(sys.argv[2]).read().splitlines()
assert rep["format"] and rep["sites"], "no sites"
lines = {}
for s in rep["sites"]:
    live = s["memory"]["heap"]["live_bytes"]
    for f in s["frames"]:
        if f.get("kind") == "python" and f.get("file", "").endswith("/app/server.py"):
            lines[f["line"]] = lines.get(f["line"], 0) + live
            break
build = [n for n, text in enumerate(src, 1) if "torch.nn.Sequential" in text]
assert build, "no torch.nn.Sequential line in server.py"
held = lines.get(build[0], 0)
print(f"server.py lines in the report (live bytes): {dict(sorted(lines.items()))}")
# model b: about 32 MiB of weights; sampling is statistical, so half of it is a safe floor.
assert held >= 16 << 20, f"server.py:{build[0]} holds {held} live bytes, want >= 16 MiB"
PY
"$MS_TEST_CLI" report "$report" --format text >"$MS_TMP/tts.txt" 2>&1 || ms_fail "memshim report $report: $(cat "$MS_TMP/tts.txt")"
grep -q 'server.py' "$MS_TMP/tts.txt" || ms_fail "memshim report's text does not name server.py"
ms_pass "TTS server: stopped with status 0, report $(basename "$report") names server.py's model line"

# --- The encode worker (offline variant): texts on stdin, vectors on stdout, metrics and report.
metrics=$MS_TMP/metrics
mkdir -p "$metrics"
ctr=ms-encode-$$
MS_PODMAN_CONTAINERS+=("$ctr")
"$PYTHON" -c 'import sys; [print(f"text {i} " + "token " * (i % 50)) for i in range(int(sys.argv[1]))]' 200 \
  | podman run -i --rm --name "$ctr" "${MS_PODMAN_RUN_OPTS[@]}" -v "$metrics:/var/lib/node_exporter/textfile" \
      -e MEMSHIM_PROFILE=1 -e MEMSHIM_REPORT=json -e MEMSHIM_REPORT_PATH=/var/lib/node_exporter/textfile/encode-%p \
      "$enc" >"$MS_TMP/vectors" 2>"$MS_TMP/encode.err" \
  || ms_fail "the encode worker failed: $(tail -20 "$MS_TMP/encode.err")"
"$PYTHON" - "$MS_TMP/vectors" <<'PY' || ms_fail "the encode worker's output is not 200 vectors"
import json, sys
vecs = [json.loads(l) for l in open(sys.argv[1])]
assert len(vecs) == 200 and len({len(v) for v in vecs}) == 1 and len(vecs[0]) > 1, (len(vecs), vecs[:1])
PY
set -- "$metrics"/encode-worker-*.prom
[ -s "$1" ] || ms_fail "no encode-worker-*.prom in the metrics volume: $(ls "$metrics")"
grep -qE '^memshim_heap_live_bytes\{.*\} [0-9]+$' "$1" || ms_fail "$(basename "$1") has no memshim_heap_live_bytes sample"
set -- "$metrics"/encode-*.json
[ -s "$1" ] || ms_fail "no encode-*.json report in the volume: $(ls "$metrics")"
"$MS_TEST_CLI" report "$1" --format text >"$MS_TMP/enc.txt" 2>&1 || ms_fail "memshim report $1: $(cat "$MS_TMP/enc.txt")"
grep -q 'worker.py' "$MS_TMP/enc.txt" || ms_fail "the encode worker's report names no worker.py line"
ms_pass "encode worker: 200 vectors, metrics textfile and a report naming worker.py"

# --- The GitHub Actions example: its steps, run in order in its `container:` image (a generated
# Containerfile, one RUN per step), with memshim's tree checked out at memshim/ and a stand-in app
# whose tests/workload.py keeps a bounded working set, so the leak gate must pass (exit 0).
ctx=$MS_TMP/ci
mkdir -p "$ctx/memshim" "$ctx/app/tests" "$ctx/steps"
cp -r "$SRC_DIR/CMakeLists.txt" "$SRC_DIR/cmake" "$SRC_DIR/include" "$SRC_DIR/src" "$ctx/memshim/"
cat >"$ctx/app/tests/workload.py" <<'PY'
import argparse, time
ap = argparse.ArgumentParser()
ap.add_argument("--iterations", type=int, default=100)
n = ap.parse_args().iterations
keep = []
for i in range(n):
    keep.append(bytearray(256 << 10))  # a working set of 16 buffers, replaced in turn
    keep = keep[-16:]
    time.sleep(0.015)  # about 3 s in all: memshim check snapshots every 100 ms
print("workload done", n)
PY
"$PYTHON" - "$SRC_DIR/examples/ci/github-actions.yml" "$ctx" <<'PY' || ms_fail "cannot turn the workflow into a Containerfile"
import os, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
ctx = sys.argv[2]
(job,) = wf["jobs"].values()
lines = [f"FROM {job['container']}", "COPY steps /steps", "COPY memshim /w/memshim", "COPY app /w/app"]
for i, step in enumerate(job["steps"]):
    if "run" not in step:
        continue  # actions/checkout (done by the COPYs above), upload-artifact
    path = f"{ctx}/steps/{i}.sh"
    with open(path, "w") as f:
        f.write("set -ex\n" + step["run"])
    wd = "/w/" + step.get("working-directory", "")
    lines.append(f"WORKDIR {wd}")
    lines.append(f"RUN bash /steps/{i}.sh")
open(f"{ctx}/Containerfile", "w").write("\n".join(lines) + "\n")
PY
t1=$SECONDS
MS_PODMAN_CONTEXT=$ctx ms_podman_build ci-workflow "$ctx/Containerfile"
ci=$MS_PODMAN_TAG
echo "ci-workflow image built in $((SECONDS - t1)) s"
grep 'memshim check:' "$MS_TMP/build-ci-workflow.log" || echo "(leak gate step cached: its image is checked)"
# A cached build has no step output in its log: read what the steps left in the image.
MS_PODMAN_CONTAINERS+=("ms-ci-$$")
out=$(podman run --rm --name "ms-ci-$$" "${MS_PODMAN_RUN_OPTS[@]}" "$ci" \
  sh -c 'memshim --version && cd /w/app/memshim-reports && ls') || ms_fail "podman run $ci"
grep -qE '\.json$' <<<"$out" && grep -qE '\.svg$' <<<"$out" \
  || ms_fail "the workflow's steps left no report and SVG timeline in memshim-reports: $out"
ms_pass "CI workflow: its install, build, leak-gate and timeline steps pass in $(sed -n 's/^FROM //p' "$ctx/Containerfile")"
echo "total $((SECONDS - t0)) s"
