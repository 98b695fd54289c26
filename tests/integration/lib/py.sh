# Python call-site tests (tests/integration/py/): find an interpreter by label and run it
# under the preload. Sourced after common.sh.
MS_PY_DIR=$SRC_DIR/tests/integration/py

# The interpreter for a label: "system" (Debian's /usr/bin/python3) or X.Y, a CPython that
# pyenv holds ($PYENV_ROOT, `pyenv root`, or /root/.pyenv). Prints its path; fails if absent.
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
  return 1
}

# "3.11" for an interpreter path (works for 2.7 too).
ms_py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# The line of "# @MARK" in a script of tests/integration/py.
ms_py_line() { grep -n "# @$2\$" "$MS_PY_DIR/$1" | cut -d: -f1; }
