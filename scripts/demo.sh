#!/usr/bin/env bash
# memshim demo: installs what is missing (Debian 12), builds libmemshim.so, then runs every
# bundled Python workload (examples/workloads/*.py) three ways and prints RSS and time side by
# side:
#   glibc     no preload (what a stock python3 does)
#   jemalloc  LD_PRELOAD=libjemalloc.so.2 (the usual advice)
#   memshim   LD_PRELOAD=libmemshim.so, with the MEMSHIM_* settings shown in the table
# Every workload prints a last line `memshim-workload: {json}` with peak_rss_mb, final_rss_mb
# and seconds; one that takes --path FILE gets a data file in a temp dir, made first with
# --make-only when it takes that too. A workload
# may name its demo settings in comment lines `# memshim-demo-env: VAR=value ...` and
# `# memshim-demo-args: --flag value ...`; otherwise the table below applies.
# Usage: scripts/demo.sh [workload-name...]     Takes about 2-4 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib/deps.sh"
. "$ROOT/scripts/lib/build.sh"
ms_install_deps build demo

BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PYTHON=${PYTHON:-/usr/bin/python3}
echo "building memshim in $BUILD_DIR ..." >&2
ms_build "$BUILD_DIR"
LIB=$BUILD_DIR/libmemshim.so
JE=$(for p in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/*/libjemalloc.so.2; do [ -e "$p" ] && echo "$p" && break; done)
[ -n "$JE" ] || { echo "demo: libjemalloc.so.2 not found" >&2; exit 1; }

DATA=$(mktemp -d "${TMPDIR:-/tmp}/memshim-demo.XXXXXX")
trap 'rm -rf "$DATA"' EXIT
for v in $(env | sed -n 's/^\(MEMSHIM_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# Settings for the bundled workloads that do not declare their own.
demo_defaults() { # name -> "env|args"
  case $1 in
    memmap_scan) echo "MEMSHIM_MMAP_RESIDENT_MAX=64M MEMSHIM_PURGE_INTERVAL=50ms|--size-mb 256 --block-kb 2048 --rate-mb-s 256" ;;
    torch_cycles) echo "|--size-mb 256 --cycles 4" ;;
    *) echo "|" ;;
  esac
}

# json_fields LINE: "peak final seconds purged_mb" from a memshim-workload line.
json_fields() {
  "$PYTHON" -c '
import json, sys
d = json.loads(sys.argv[1].split("memshim-workload: ", 1)[1])
m = d.get("memshim") or {}
purged = m.get("purge.bytes")
final = next((d[k] for k in ("final_rss_mb", "rss_after_idle_mb", "rss_at_end_of_work_mb") if k in d), "?")
print(d.get("peak_rss_mb", "?"), final, d.get("seconds", "?"),
      "-" if purged is None else round(purged / 2**20, 1))' "$1"
}

workloads=()
for f in "$ROOT"/examples/workloads/*.py; do
  name=$(basename "$f" .py)
  case $name in _*) continue ;; esac
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  workloads+=("$f")
done
[ ${#workloads[@]} -gt 0 ] || { echo "demo: no workloads found in examples/workloads" >&2; exit 1; }

rows=()
for f in "${workloads[@]}"; do
  name=$(basename "$f" .py)
  IFS='|' read -r env_set args <<<"$(demo_defaults "$name")"
  own_env=$(sed -n 's/^# memshim-demo-env: *//p' "$f" | head -1)
  own_args=$(sed -n 's/^# memshim-demo-args: *//p' "$f" | head -1)
  [ -n "$own_env" ] && env_set=$own_env
  [ -n "$own_args" ] && args=$own_args
  # --path / --make-only only for workloads that take them (their --help lists them).
  help=$("$PYTHON" "$f" --help 2>/dev/null || true)
  path_arg=()
  grep -q -- '--path' <<<"$help" && path_arg=(--path "$DATA/$name.data")
  if grep -q -- '--make-only' <<<"$help"; then
    # shellcheck disable=SC2086 # args is a word list
    "$PYTHON" "$f" "${path_arg[@]}" $args --make-only >/dev/null 2>"$DATA/err" ||
      { echo "demo: $name: making its data failed: $(tail -2 "$DATA/err")" >&2; rows+=("$name|-|-|failed|-|-|-"); continue; }
  fi
  for cfg in glibc jemalloc memshim; do
    case $cfg in
      glibc) pre=(); settings="-" ;;
      jemalloc) pre=(LD_PRELOAD="$JE"); settings="-" ;;
      memshim) pre=(LD_PRELOAD="$LIB"); settings=${env_set:-defaults}; [ -n "$env_set" ] && pre+=($env_set) ;;
    esac
    echo "running $name under $cfg ..." >&2
    # shellcheck disable=SC2086
    line=$(env "${pre[@]}" "$PYTHON" "$f" "${path_arg[@]}" $args 2>"$DATA/err" | grep '^memshim-workload: ' | tail -1) || true
    if [ -z "$line" ]; then
      echo "demo: $name under $cfg printed no result line:" >&2
      tail -5 "$DATA/err" >&2
      rows+=("$name|$cfg|$settings|failed|-|-|-")
      continue
    fi
    read -r peak final secs purged <<<"$(json_fields "$line")"
    rows+=("$name|$cfg|$settings|$peak|$final|$secs|$purged")
  done
done

echo
printf '%-13s %-9s %12s %13s %9s %11s  %s\n' workload allocator "peak RSS MB" "final RSS MB" seconds "purged MB" "memshim settings"
printf '%-13s %-9s %12s %13s %9s %11s  %s\n' ------------- --------- ------------ ------------- --------- ----------- ----------------
for r in "${rows[@]}"; do
  IFS='|' read -r name cfg settings peak final secs purged <<<"$r"
  printf '%-13s %-9s %12s %13s %9s %11s  %s\n' "$name" "$cfg" "$peak" "$final" "$secs" "$purged" "$settings"
done
echo
echo "final RSS = resident memory after the workload dropped its data (del + gc.collect()) and"
echo "waited; purged MB = memory memshim gave back to the OS. Settings: 'defaults' = no MEMSHIM_*"
echo "variable set (see 'memshim config'). Library: $LIB"
