# Shared by the scripts: install missing Debian packages by name (needs root and apt-get).
# Groups: build (compile the library and the CLI), test (unit + integration tests; python3-pytest
# runs the pytest plugin's test py_pytest_plugin; chromium loads the HTML report and is the host of trust_chromium;
# golang-go brings `go tool pprof`, libpython3.11-testsuite is CPython's own
# regression suite that trust_cpython_* and py_cpython_suite run under the preload; gunicorn and
# python3-flask the pre-fork server cli_snapshot_gunicorn asks for reports; podman, runc,
# debootstrap and curl build and run the examples' images in containers.sh; debootstrap also makes
# scripts/python-next.sh's CPython 3.14/3.15 root; procps's ps finds the stress tier's processes
# for its watchdog), bench (benchmarks; patchelf: python-next.sh --host),
# demo (scripts/demo.sh).
ms_deps_build=(cmake make gcc g++ pkg-config libjemalloc-dev libjemalloc2 libunwind8 libjansson-dev)
ms_deps_test=(libcmocka-dev strace python3 python3-pytest python3-numpy python3-torch python3-psutil prometheus librsvg2-bin file python3-yaml
  chromium fonts-dejavu-core golang-go libpython3.11-testsuite util-linux gunicorn python3-flask podman runc debootstrap curl procps)
ms_deps_bench=(valgrind heaptrack time hyperfine patchelf)
ms_deps_demo=(python3 python3-numpy python3-torch time)
# scripts/bench-leaks.sh: the peer leak suite under memshim check, then under LeakSanitizer and valgrind.
ms_deps_peer_memshim=(gcc g++ python3)
ms_deps_peer_peers=(liblsan0 valgrind)

ms_install_deps() {
  local want=() missing=() g pkg
  for g in "$@"; do
    local -n list="ms_deps_$g"
    want+=("${list[@]}")
  done
  for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "memshim: installing missing packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
