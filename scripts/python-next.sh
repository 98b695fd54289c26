#!/usr/bin/env bash
# The CPython releases newer than this machine's Debian 12 (3.14, 3.15, with numpy), for the
# Python call-site tests: a minimal Debian unstable root made with debootstrap, cached outside the
# checkout and reused (made once, about 2 minutes and 550 MB).
#
# Usage: scripts/python-next.sh            make the root when absent, then list its interpreters
#        scripts/python-next.sh --list     list them only (exit 1 when the root is absent)
#        scripts/python-next.sh --run python3.X ARGS...
#                                          run an interpreter of the root on this machine's files:
#                                          a private mount namespace binds /proc, /dev, the
#                                          checkout, $TMPDIR (or /tmp), the current directory and the
#                                          directories of $LD_PRELOAD's libraries into the root at
#                                          the same paths, then chroots; LD_PRELOAD is set again
#                                          only inside, for the interpreter itself.
#        scripts/python-next.sh --host python3.X
#                                          print the path of a copy of the interpreter that runs
#                                          on this machine without chroot (patchelf: the root's
#                                          loader and libraries), made once: for tools that must
#                                          see the interpreter itself (valgrind in scripts/bench.sh)
# Environment: MEMSHIM_PY_NEXT_ROOT (default /var/cache/memshim-test/sid-python),
#   MEMSHIM_PY_NEXT_MIRROR (default: the Debian mirror of this machine's apt sources).
# Needs root, debootstrap (scripts/lib/deps.sh, group test) and the network the first time;
# without them it says why and exits 1, and the tests for these interpreters skip.
# The root is built in ROOT.tmp and renamed when complete: an interrupted run leaves no root.
set -euo pipefail
# Under a preload (a test runs the interpreter as `LD_PRELOAD=libmemshim.so python-next.sh --run`):
# leave it at once by exec, which writes no report, so that no helper process of this script
# (a subshell, dirname) exits with the library loaded; --run sets it again for the interpreter.
if [ -n "${LD_PRELOAD-}" ]; then exec env -u LD_PRELOAD MS_PY_NEXT_PRELOAD="$LD_PRELOAD" bash "$0" "$@"; fi
src=$(cd "$(dirname "$0")/.." && pwd)
root=${MEMSHIM_PY_NEXT_ROOT:-/var/cache/memshim-test/sid-python}
# libunwind8: memshim dlopens it for native stacks.
packages=(python3.14 python3.14-dev python3.15 python3.15-dev python3-numpy libunwind8)
stamp=$root/.memshim-python-next

die() { echo "python-next: $*" >&2; exit 1; }

list() {
  local p found=0
  for p in "$root"/usr/bin/python3.[0-9]*; do
    case $p in *-config|*-host|*[!0-9.]*[!0-9]) continue ;; esac
    [ -x "$p" ] || continue
    echo "$p ($(chroot "$root" "${p#"$root"}" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo '?'))"
    found=1
  done
  [ $found = 1 ] || die "no interpreter in $root"
}

run() {
  local py=${1:?usage: python-next.sh --run python3.X ARGS...}; shift
  [ -x "$root/usr/bin/$py" ] || die "$root/usr/bin/$py is absent (run scripts/python-next.sh)"
  local pre=${MS_PY_NEXT_PRELOAD-} d binds=(/proc /dev "$src" "${TMPDIR:-/tmp}" "$PWD")
  local IFS=': '
  for d in $pre; do binds+=("$(dirname "$d")"); done
  unset IFS
  # The mounts are private to this command; mount points are made once in the root.
  for d in "${binds[@]}"; do mkdir -p "$root$d"; done
  exec env -u MS_PY_NEXT_PRELOAD unshare -m --propagation private /bin/sh -c '
    root=$1 pre=$2 cwd=$3 py=$4; shift 4
    while [ "$1" != -- ]; do mount --rbind "$1" "$root$1" || exit 125; shift; done; shift
    exec chroot "$root" /usr/bin/env --chdir="$cwd" ${pre:+LD_PRELOAD="$pre"} "/usr/bin/$py" "$@"' \
    sh "$root" "$pre" "$PWD" "$py" "${binds[@]}" -- "$@"
}

host() {
  local py=${1:?usage: python-next.sh --host python3.X} lib=$root/usr/lib/x86_64-linux-gnu
  [ -x "$root/usr/bin/$py" ] || die "$root/usr/bin/$py is absent (run scripts/python-next.sh)"
  if [ ! -x "$root/usr/bin/$py-host" ]; then
    command -v patchelf >/dev/null || die "patchelf is not installed (scripts/lib/deps.sh, group bench)"
    cp "$root/usr/bin/$py" "$root/usr/bin/$py-host.tmp"
    # numpy's BLAS and LAPACK live in their alternatives' directories
    patchelf --set-interpreter "$root/usr/lib64/ld-linux-x86-64.so.2" \
      --set-rpath "$lib/blas:$lib/lapack:$lib" "$root/usr/bin/$py-host.tmp"
    mv "$root/usr/bin/$py-host.tmp" "$root/usr/bin/$py-host"
  fi
  echo "$root/usr/bin/$py-host"
}

mirror() {
  [ -n "${MEMSHIM_PY_NEXT_MIRROR-}" ] && { echo "$MEMSHIM_PY_NEXT_MIRROR"; return; }
  # The first http(s) URI of a Debian archive (not its security archive) in the host's sources.
  local f files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '/^deb /{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}} /^URIs:/{print $2}' "${files[@]}" |
    grep -E '/debian/?$' | head -n1 || true
}

case ${1-} in
  --list) [ -f "$stamp" ] || die "no root at $root (run scripts/python-next.sh)"; list; exit 0 ;;
  --run) shift; run "$@" ;;
  --host) shift; host "$@"; exit 0 ;;
  "") ;;
  *) sed -n '2,24{s/^# \{0,1\}//;p}' "$0"; exit 2 ;;
esac

start=$SECONDS
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
if [ ! -f "$stamp" ]; then
  if [ -x "$root/usr/bin/python3" ]; then
    # A root made by hand (the issue's debootstrap line): complete it in place.
    missing=()
    for p in "${packages[@]}"; do
      chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99memshim-valid-until"
    if [ ${#missing[@]} -gt 0 ]; then
      echo "python-next: adding ${missing[*]} to $root"
      chroot "$root" apt-get update -qq >/dev/null || die "apt-get update in $root failed (network?)"
      chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} in $root failed"
    fi
  else
    command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/lib/deps.sh, group test)"
    url=$(mirror)
    [ -n "$url" ] || die "no Debian mirror in /etc/apt sources (set MEMSHIM_PY_NEXT_MIRROR)"
    tmp=$root.tmp
    rm -rf "$tmp"
    mkdir -p "$(dirname "$root")"
    echo "python-next: debootstrap sid from $url into $tmp (about 2 minutes)"
    inc=$(IFS=,; echo "${packages[*]}")
    debootstrap --variant=minbase --include="$inc" sid "$tmp" "$url" >"$tmp.log" 2>&1 ||
      { tail -n 5 "$tmp.log" >&2; die "debootstrap failed (log: $tmp.log)"; }
    # The mirror may be a snapshot whose Release file has expired.
    echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99memshim-valid-until"
    printf '%s\n' "${packages[@]}" >"$tmp/.memshim-python-next"
    rm -f "$tmp.log"
    mv "$tmp" "$root"
  fi
  printf '%s\n' "${packages[@]}" >"$stamp"
fi
list
echo "python-next: root $root ready in $((SECONDS - start)) s"
