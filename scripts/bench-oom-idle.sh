#!/bin/bash
# What watching a container's memory limit costs a process that is not growing: a Python process
# holding 216 MiB of numpy, then asleep, in a child memory cgroup of ours (v1 controller or the v2
# tree) with a limit, against the same process with no limit and with MEMSHIM_RSS_SOFT_LIMIT set
# by hand. CPU over the idle seconds from /proc/PID/task/*/schedstat (ns), wake-ups from the tasks'
# voluntary_ctxt_switches, and the system calls of the idle seconds under strace -f (cgroup files
# read: expected none). docs/memory-return.md, "Before the OOM killer", has one run's figures.
#
#   scripts/bench-oom-idle.sh [--idle S]      (root: it makes cgroups)
#
# Uses $LIBMEMSHIM or build/libmemshim.so and /usr/bin/python3 with numpy.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB=${LIBMEMSHIM:-$ROOT/build/libmemshim.so}
IDLE_S=20
[ "${1:-}" = --idle ] && IDLE_S=$2
[ -f "$LIB" ] || { echo "no $LIB (build first)" >&2; exit 1; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/idle.py" <<'PY'
import numpy as np, sys, time
a = np.ones(200 << 17)                       # 200 MiB, touched
b = [np.ones(1 << 17) for i in range(8)]     # later allocations: the ticks that see the RSS
time.sleep(0.1)
b += [np.ones(1 << 17) for i in range(8)]
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
PY

mkgroup() { # a child memory cgroup of ours with limit $1 ("-" = none); prints its path
  local own root
  if own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup) && [ -n "$own" ]; then
    root=/sys/fs/cgroup/memory$own/bench-oom-$$-$RANDOM
    mkdir "$root" && { [ "$1" = - ] || echo "$1" >"$root/memory.limit_in_bytes"; }
  else
    own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
    root=/sys/fs/cgroup${own%/}/bench-oom-$$-$RANDOM
    mkdir "$root" && { [ "$1" = - ] || echo "$1" >"$root/memory.max"; }
  fi
  echo "$root"
}

run() { # label limit strace(0/1) env...
  local label=$1 lim=$2 trace=$3; shift 3
  local grp; grp=$(mkgroup "$lim")
  mkfifo "$TMP/fifo"
  sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$grp" env LD_PRELOAD="$LIB" "$@" \
    /usr/bin/python3 "$TMP/idle.py" $((IDLE_S + 2)) >"$TMP/fifo" &
  local pid=$!
  read -r _ <"$TMP/fifo"
  sleep 0.5
  cpu() { cat /proc/$pid/task/*/schedstat | awk '{s += $1} END {print s}'; }
  sw() { cat /proc/$pid/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }
  local c0 s0 c1 s1 tasks
  c0=$(cpu); s0=$(sw)
  if [ "$trace" = 1 ]; then timeout "$IDLE_S" strace -f -p "$pid" -o "$TMP/st" 2>/dev/null || true; else sleep "$IDLE_S"; fi
  c1=$(cpu); s1=$(sw); tasks=$(ls /proc/$pid/task | wc -l)
  printf '%-52s CPU %6d us  wake-ups %4d  tasks %d' "$label" $(((c1 - c0) / 1000)) $((s1 - s0)) "$tasks"
  if [ "$trace" = 1 ]; then
    printf '  syscalls: %s; cgroup files read: %d' \
      "$(sed 's/(.*//; s/^[0-9]* //' "$TMP/st" | sort | uniq -c | sort -rn | awk '{printf "%s %s, ", $1, $2}')" \
      "$(grep -c 'memory\.\|pressure' "$TMP/st" || true)"
  fi
  echo
  wait "$pid" || true
  rm -f "$TMP/fifo"
  rmdir "$grp"
}

echo "idle ${IDLE_S} s after holding 216 MiB ($LIB)"
run "no limit, defaults" - 0
run "no limit, MEMSHIM_RSS_SOFT_LIMIT=255M" - 0 MEMSHIM_RSS_SOFT_LIMIT=255M
run "300M limit, defaults (soft limit 255M)" 314572800 0
run "300M limit, MEMSHIM_PRESSURE_REPORT_PCT=0" 314572800 0 MEMSHIM_PRESSURE_REPORT_PCT=0
command -v strace >/dev/null && run "300M limit, defaults, under strace" 314572800 1
