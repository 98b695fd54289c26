# Python call-site tests (tests/integration/py/): find an interpreter by label and run it
# under the preload. Sourced after common.sh.
MS_PY_DIR=$SRC_DIR/tests/integration/py

# The Debian unstable root of scripts/python-next.sh (CPython 3.14, 3.15 with numpy).
MS_PY_NEXT_ROOT=${MEMSHIM_PY_NEXT_ROOT:-/var/cache/memshim-test/sid-python}

# The interpreter for a label: "system" (Debian's /usr/bin/python3) or X.Y, a CPython that
# pyenv holds ($PYENV_ROOT, `pyenv root`, or /root/.pyenv), else one of the python-next root:
# then a wrapper in $MS_TMP/next that runs it there on this machine's files
# (scripts/python-next.sh --run). Prints its path; fails if absent.
ms_py_find() {
  local label=$1 root p
  if [ "$label" = system ]; then
    [ -x /usr/bin/python3 ] && { echo /usr/bin/python3; return 0; }
    return 1
  fi
  root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo /root/.pyenv)}
  for p in "$root"/versions/"$label".*/bin/python"$label"; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  ms_py_next "$label"
}

# The wrapper for CPython X.Y of the python-next root; fails when the root lacks it.
ms_py_next() {
  [ -f "$MS_PY_NEXT_ROOT/.memshim-python-next" ] && [ -x "$MS_PY_NEXT_ROOT/usr/bin/python$1" ] || return 1
  [ "$(id -u)" -eq 0 ] || { echo "note: running the python-next root needs root (chroot, mounts)" >&2; return 1; }
  mkdir -p "$MS_TMP/next"
  printf '#!/bin/sh\nexec bash "%s/scripts/python-next.sh" --run python%s "$@"\n' "$SRC_DIR" "$1" >"$MS_TMP/next/python$1"
  chmod +x "$MS_TMP/next/python$1"
  echo "$MS_TMP/next/python$1"
}
# The path on this machine of a path an interpreter names ($1: interpreter, $2: path).
ms_py_host_path() { case $1 in "$MS_TMP"/next/*) echo "$MS_PY_NEXT_ROOT$2" ;; *) echo "$2" ;; esac; }

# "3.11" for an interpreter path (works for 2.7 too).
ms_py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# The line of "# @MARK" in a script of tests/integration/py.
ms_py_line() { grep -n "# @$2\$" "$MS_PY_DIR/$1" | cut -d: -f1; }
