#!/usr/bin/env bash
# Fail on any import cycle between the directories of src/: an edge A -> B is a file in src/A
# including a header of src/B ("../B/x.h"); the edges must form no loop (tsort finds them).
# Data flows one way (docs/design.md, "Layers"):
#   interpose -> core -> collectors (profile, policy, gpu) -> writers (report) -> util, config
#   cli -> report, config
#   scripts/check-layers.sh [SRC_DIR]      prints the edges, exits 1 and names a loop if any
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}
edges=$(cd "$src" && for f in */*.c */*.h; do
  [ -f "$f" ] || continue
  from=${f%%/*}
  sed -nE 's|^[[:space:]]*#[[:space:]]*include[[:space:]]+"\.\./([a-z_]+)/[^"]+".*|\1|p' "$f" |
    while read -r to; do
      [ -d "$to" ] && [ "$to" != "$from" ] && echo "$from $to"
    done
done | sort -u)
echo "$edges" | awk 'NF { e[$1] = e[$1] " " $2 } END { for (k in e) print "  " k " ->" e[k] }' | sort
if ! out=$(echo "$edges" | tsort 2>&1 >/dev/null); then
  echo "check-layers: import cycle between src/ directories:" >&2
  echo "$out" | sed -n 's/^tsort: /  /p' >&2
  exit 1
fi
echo "check-layers: no import cycle between $(echo "$edges" | tr ' ' '\n' | sort -u | grep -c .) directories"
