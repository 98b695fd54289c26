#!/usr/bin/env bash
# examples/ read without building them (containers.sh, label slow, builds and runs the images): every
# MEMSHIM_* name they use is an option of the table, every value they set parses (memshim config
# reports it as coming from the environment, with no warning), each Dockerfile and README.md have one
# ENV LD_PRELOAD line naming the path CMake says the .deb installs (build/package-preload-path) and
# the .deb really holds (and docs/ name no other in an ENV LD_PRELOAD line), COPY sources exist, the Python stand-ins compile
# and the GitHub Actions workflow is valid YAML whose leak gate uses flags `memshim check` accepts.
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
ex=$SRC_DIR/examples
[ -f "$ex/encode-worker/Dockerfile" ] && [ -f "$ex/tts-server/Dockerfile" ] && [ -f "$ex/ci/github-actions.yml" ] \
  || ms_fail "an example is missing"

"$cli" config >"$MS_TMP/config" 2>/dev/null
# CMake's -DMEMSHIM_BUILD_TESTS=OFF is a build option, not an environment variable.
names=$(cat "$ex"/*/Dockerfile "$ex"/*/*.yml "$ex"/*/*.py | sed 's/-DMEMSHIM_[A-Z_]*=[^ ]*//g' | grep -oE 'MEMSHIM_[A-Z_]+' | sort -u)
[ -n "$names" ] || ms_fail "no MEMSHIM_* names found in examples/"
for n in $names; do
  grep -qE "^$n " "$MS_TMP/config" || ms_fail "examples use $n, which is not in the option table"
done
ms_pass "all $(wc -w <<<"$names") MEMSHIM_* names in examples/ are options: $(echo $names)"

# Every assignment outside comments: Dockerfile ENV lines (NAME=value) and workflow env (NAME: value).
assignments=$(cat "$ex"/*/Dockerfile | grep -v '^ *#' | grep -oE '(^| )MEMSHIM_[A-Z_]+=[^ \\"]+'
  grep -hoE 'MEMSHIM_[A-Z_]+: *[^ #]+' "$ex"/ci/*.yml | sed 's/: */=/' || true)
count=0
for a in $assignments; do
  n=${a%%=*} v=${a#*=}
  env "$n=$v" "$cli" config >"$MS_TMP/c1" 2>"$MS_TMP/c1.err" || ms_fail "memshim config failed on $a"
  [ ! -s "$MS_TMP/c1.err" ] || ms_fail "$a is not a valid value: $(cat "$MS_TMP/c1.err")"
  grep -qE "^$n +[^ ]+ +[^ ]+ +environment " "$MS_TMP/c1" || ms_fail "$a: not taken from the environment: $(grep "^$n " "$MS_TMP/c1")"
  count=$((count + 1))
done
ms_assert_num "$count" -ge 10 "MEMSHIM_* assignments checked"
ms_pass "$count MEMSHIM_* values in examples/ parse without warnings"

# One ENV LD_PRELOAD per Dockerfile and in README.md, all naming the one path of the .deb.
want=$(cat "$BUILD_DIR/package-preload-path") || ms_fail "no package-preload-path in the build directory (cmake/install.cmake)"
cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$MS_TMP/pkg" >/dev/null 2>&1 || ms_fail "cpack -G DEB"
contents=$(dpkg-deb -c "$MS_TMP"/pkg/*.deb) || ms_fail "dpkg-deb -c"
grep -qE " \.$want( |$)" <<<"$contents" || ms_fail "the .deb does not install $want"
readme=$(sed -n 's/^ENV LD_PRELOAD=//p' "$SRC_DIR/README.md")
[ "$readme" = "$want" ] || ms_fail "README.md: ENV LD_PRELOAD=$readme, the .deb installs $want"
for doc in "$SRC_DIR"/docs/*.md; do
  for lib in $(grep -oE 'ENV LD_PRELOAD=[^ `"]+' "$doc" | sed 's/^ENV LD_PRELOAD=//'); do
    [ "$lib" = "$want" ] || ms_fail "docs/$(basename "$doc"): ENV LD_PRELOAD=$lib, the .deb installs $want"
  done
done
for df in "$ex"/*/Dockerfile; do
  name=$(basename "$(dirname "$df")")
  [ "$(grep -c '^ENV LD_PRELOAD=' "$df")" -eq 1 ] || ms_fail "$name: want exactly one ENV LD_PRELOAD line"
  lib=$(sed -n 's/^ENV LD_PRELOAD=//p' "$df")
  grep -q 'cpack -G DEB' "$df" || ms_fail "$name: does not install memshim from the .deb"
  [ "$lib" = "$want" ] || ms_fail "$name: ENV LD_PRELOAD=$lib, the .deb installs $want"
  grep -oE '^COPY [^-][^ ]* ' "$df" | awk '{print $2}' | while read -r src; do
    [ "$src" = . ] || [ -e "$SRC_DIR/$src" ] || ms_fail "$name: COPY source $src does not exist in the source tree"
  done
  ms_pass "$name: one ENV LD_PRELOAD=$lib, the path of the .deb"
done

for py in "$ex"/*/*.py; do
  "$PYTHON" -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' "$py" 2>"$MS_TMP/py.err" || ms_fail "$py does not compile: $(cat "$MS_TMP/py.err")"
done
"$PYTHON" - "$ex/ci/github-actions.yml" >"$MS_TMP/check_cmd" <<'PY' || ms_fail "the workflow is not valid or has no memshim check step"
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
runs = [s.get("run", "") for job in wf["jobs"].values() for s in job["steps"]]
checks = [r for r in runs if "memshim check" in r]
if not checks: sys.exit(1)
print(checks[0].replace("\\\n", " "))
PY
flags=$(grep -oE -- '--[a-z-]+' "$MS_TMP/check_cmd" | grep -v -- '--iterations' | sort -u)
"$cli" check --help >"$MS_TMP/check_help" 2>&1 || ms_fail "memshim check --help failed: $(cat "$MS_TMP/check_help")"
for f in $flags; do
  grep -q -- "$f" "$MS_TMP/check_help" || ms_fail "the workflow passes $f, which memshim check does not document"
done
ms_pass "workflow: valid YAML, leak gate runs memshim check with known flags ($(echo $flags))"

# The tokenizer stand-in whose figures docs/recipes.md quotes builds cleanly and runs.
cc -O2 -Wall -Wextra -Werror -pthread -o "$MS_TMP/tokenizer_pool" "$SRC_DIR/examples/workloads/tokenizer_pool.c" \
  || ms_fail "examples/workloads/tokenizer_pool.c does not build"
out=$("$MS_TMP/tokenizer_pool" 2 3 0) || ms_fail "tokenizer_pool failed"
grep -qE '^peak [0-9.]+ MB, end of work [0-9.]+ MB, after 0.0 s idle [0-9.]+ MB$' <<<"$out" || ms_fail "tokenizer_pool printed: $out"
ms_pass "examples/workloads/tokenizer_pool.c builds with -Wall -Wextra -Werror and runs"

# The Dockerfiles configure with -DMEMSHIM_BUILD_TESTS=OFF and install no test packages (cmocka):
# that configuration must stand on its own (configure only; the build is the same as ours).
grep -q -- '-DMEMSHIM_BUILD_TESTS=OFF' "$ex/encode-worker/Dockerfile" || ms_fail "encode-worker no longer builds without tests"
cmake -S "$SRC_DIR" -B "$MS_TMP/notests" -DMEMSHIM_BUILD_TESTS=OFF >"$MS_TMP/notests.log" 2>&1 \
  || { cat "$MS_TMP/notests.log"; ms_fail "cmake -DMEMSHIM_BUILD_TESTS=OFF does not configure"; }
grep -qi cmocka "$MS_TMP/notests/CMakeCache.txt" && ms_fail "the build without tests still looks for cmocka"
ms_pass "-DMEMSHIM_BUILD_TESTS=OFF configures without test dependencies"
