#!/usr/bin/env bash
# Fail on any import cycle between the directories of src/: an edge A -> B is a file in src/A
# including a header of src/B ("../B/x.h"); the edges must form no loop (tsort finds them).
# Data flows one way (docs/design.md, "Layers"):
#   interpose -> core -> collectors (profile, policy, gpu) -> writers (report) -> util, config
#   cli -> report, config
# Then fail on any file-level call cycle: no .c file may call a function of a file that calls it
# back, directly or around a loop. The call graph comes from the library's compiled objects
# (nm; scripts/lib/file_cycles.py), so this part needs a build; the edges that still close a
# cycle are listed, with a reason each, in scripts/layers-allow.txt (LAYERS_ALLOW overrides).
#   scripts/check-layers.sh [SRC_DIR [OBJ_DIR...]]   prints the edges, exits 1 and names a loop if any
#   OBJ_DIR defaults to build/CMakeFiles/{memshim,ms_writers,ms_options}.dir next to SRC_DIR;
#   with no objects there the file-level check is skipped, and says so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-"$here/../src"}
[ $# -gt 0 ] && shift
objs=("$@")
if [ ${#objs[@]} -eq 0 ]; then
  for d in memshim ms_writers ms_options; do
    [ -d "$src/../build/CMakeFiles/$d.dir" ] && objs+=("$src/../build/CMakeFiles/$d.dir")
  done
fi
allow=${LAYERS_ALLOW-"$here/layers-allow.txt"}
edges=$(cd "$src" && for f in */*.c */*.h; do
  [ -f "$f" ] || continue
  from=${f%%/*}
  sed -nE 's|^[[:space:]]*#[[:space:]]*include[[:space:]]+"\.\./([a-z_]+)/[^"]+".*|\1|p' "$f" |
    while read -r to; do
      [ -d "$to" ] && [ "$to" != "$from" ] && echo "$from $to"
    done
done | sort -u)
echo "$edges" | awk 'NF { e[$1] = e[$1] " " $2 } END { for (k in e) print "  " k " ->" e[k] }' | sort
rc=0
if ! out=$(echo "$edges" | tsort 2>&1 >/dev/null); then
  echo "check-layers: import cycle between src/ directories:" >&2
  echo "$out" | sed -n 's/^tsort: /  /p' >&2
  rc=1
else
  echo "check-layers: no import cycle between $(echo "$edges" | tr ' ' '\n' | sort -u | grep -c .) directories"
fi
if [ ${#objs[@]} -eq 0 ]; then
  echo "check-layers: no compiled objects given or found under build/: file-level cycles not checked"
else
  python3 "$here/lib/file_cycles.py" "$src" "$allow" "${objs[@]}" || rc=1
fi
exit $rc
