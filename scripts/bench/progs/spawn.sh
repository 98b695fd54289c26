#!/usr/bin/env bash
# spawn.sh N CMD...: run CMD N times, one after the other, from this shell (what a container's
# shells and health checks do). Used by scripts/bench.sh to measure start-up cost per process.
n=$1
shift
for ((i = 0; i < n; i++)); do "$@" || exit 1; done
