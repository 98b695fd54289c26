# The one way the scripts build memshim. Source it (needs bash).
#
# ms_build [BUILD_DIR [SRC_DIR]]: configure (RelWithDebInfo, as shipped) and build the library and
# the CLI of SRC_DIR (default: this checkout) in BUILD_DIR (default: build), quietly: the output
# goes to BUILD_DIR/build.log, whose tail is printed on stderr when a step fails (status 1).
# An existing build directory keeps its other cache settings (tests on or off). Knobs:
#   MS_BUILD_TARGETS     cmake targets (default: memshim memshim_cli)
#   MS_BUILD_CMAKE_ARGS  more configure arguments (e.g. -DMEMSHIM_BUILD_TESTS=OFF: no cmocka needed)
#   MS_BUILD_JOBS        parallel jobs (default: nproc)
#   MS_BUILD_TIMEOUT     seconds the build step may take (default: no limit)
MS_BUILD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

ms_build() {
  local dir=${1:-build} src=${2:-$MS_BUILD_ROOT} t targets=()
  for t in ${MS_BUILD_TARGETS:-memshim memshim_cli}; do targets+=(--target "$t"); done
  mkdir -p "$dir" || return 1
  # shellcheck disable=SC2086 # MS_BUILD_CMAKE_ARGS is a list of words
  if ! { cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${MS_BUILD_CMAKE_ARGS:-} &&
    ${MS_BUILD_TIMEOUT:+timeout "$MS_BUILD_TIMEOUT"} cmake --build "$dir" -j"${MS_BUILD_JOBS:-$(nproc)}" \
      "${targets[@]}"; } >"$dir/build.log" 2>&1; then
    echo "memshim build failed in $dir (see $dir/build.log):" >&2
    tail -5 "$dir/build.log" >&2
    return 1
  fi
}
