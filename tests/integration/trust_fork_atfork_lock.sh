#!/usr/bin/env bash
# Issue 22, item 1: fork while another library's atfork-guarded lock is held by a thread inside
# mprotect/munmap. The library (lib/trust_atfork_lock.c, built here) registers pthread_atfork in
# its constructor (prepare: take its lock; parent, child: release) and maps, protects and unmaps
# memory under that lock; progs/trust_fork_atfork runs it in a loop on a second thread while
# main forks. Chromium hung this way (PartitionAlloc's fork lock) with MEMSHIM_RSS_SOFT_LIMIT:
# memshim's prepare handler held the mapping registry lock, the library's prepare (run after
# ours: registered earlier) waited for its lock, whose owner waited in our mprotect for ours.
# Shapes: the library initialised before memshim (preloaded after it: its handler runs after
# ours), after memshim (preloaded first), and dlopened late; under both caps and the defaults.
# Then the thread-list shape: threads started one after another, each allocating for the first
# time under the library's lock (memshim registers a thread there; its list lock was held by our
# prepare handler). That one runs with MEMSHIM_BACKEND=glibc: with jemalloc, jemalloc's own
# prepare handler (registered when memshim starts it, after such a library's) holds its arena
# locks the same way, a limit docs/design.md states.
# Then the profiler's shape (MEMSHIM_PROFILE=1, MEMSHIM_SAMPLE_BYTES=1: every allocation is
# sampled): a thread allocates and frees under the library's lock (pointer-map shards), and new
# threads allocate once each under it (their first stack lookup takes the stack table's lock);
# our prepare handler held those locks. Also with the glibc backend, for the reason above.
# A run that does not finish its forks in 120 s fails (137: hung).
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI
lib=$(dirname "$0")/lib

cc -shared -fPIC -O1 -o "$MS_TMP/libatforklock.so" "$lib/trust_atfork_lock.c" -lpthread ||
  ms_fail "cannot build the test library"
head -c $((8 << 20)) /dev/urandom >"$MS_TMP/data"
FORKS=${MS_ATFORK_FORKS:-1000}

modes=(
  "rss soft limit|MEMSHIM_RSS_SOFT_LIMIT=200M"
  "mmap cap|MEMSHIM_MMAP_RESIDENT_MAX=4M"
  "both caps|MEMSHIM_RSS_SOFT_LIMIT=200M MEMSHIM_MMAP_RESIDENT_MAX=64M"
  "defaults|"
)
shapes=(
  "library initialised before memshim|$MS_TEST_LIB $MS_TMP/libatforklock.so|"
  "library initialised after memshim|$MS_TMP/libatforklock.so $MS_TEST_LIB|"
  "library dlopened|$MS_TEST_LIB|$MS_TMP/libatforklock.so"
)
for m in "${modes[@]}"; do
  name=${m%%|*}
  read -r -a vars <<<"${m#*|}"
  for s in "${shapes[@]}"; do
    shape=${s%%|*}
    rest=${s#*|}
    preload=${rest%%|*}
    dl=${rest#*|}
    rc=0
    timeout -s KILL 120 env LD_PRELOAD="$preload" "${vars[@]}" \
      "$PROGS/trust_fork_atfork" "$MS_TMP/data" "$FORKS" $dl >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
    [ "$rc" -eq 0 ] || ms_fail "$name, $shape: status $rc (137: hung): $(cat "$MS_TMP/out" "$MS_TMP/err")"
    [ ! -s "$MS_TMP/err" ] || ms_fail "$name, $shape: stderr: $(cat "$MS_TMP/err")"
    tracked=$(sed -n 's/.*memshim tracks \([0-9]*\) bytes.*/\1/p' "$MS_TMP/out")
    # Under a cap the 8 MiB file mapping is tracked: the registry's path is what ran.
    if [ "$name" != defaults ]; then
      ms_assert_num "${tracked:-0}" -ge $((8 << 20)) "$name, $shape: bytes of file mappings tracked"
    fi
    ms_pass "$name, $shape: $(sed 's/^ok: //' "$MS_TMP/out")"
  done
done

for m in "glibc backend|MEMSHIM_BACKEND=glibc" "glibc backend, rss soft limit|MEMSHIM_BACKEND=glibc MEMSHIM_RSS_SOFT_LIMIT=200M"; do
  name=${m%%|*}
  read -r -a vars <<<"${m#*|}"
  rc=0
  timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB $MS_TMP/libatforklock.so" "${vars[@]}" \
    "$PROGS/trust_fork_atfork" "$MS_TMP/data" "$FORKS" --threads >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "$name, new threads allocating under the library's lock: status $rc (137: hung): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  [ ! -s "$MS_TMP/err" ] || ms_fail "$name, threads: stderr: $(cat "$MS_TMP/err")"
  ms_pass "$name, new threads allocating under the library's lock: $(sed 's/^ok: //' "$MS_TMP/out")"
done

for m in "profiling, allocations and frees|--alloc" "profiling, new threads|--threads"; do
  name=${m%%|*}
  rc=0
  timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB $MS_TMP/libatforklock.so" MEMSHIM_BACKEND=glibc \
    MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT_PATH="$MS_TMP/prof.%p" \
    "$PROGS/trust_fork_atfork" "$MS_TMP/data" "$FORKS" "${m#*|}" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "$name under the library's lock: status $rc (137: hung): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  [ ! -s "$MS_TMP/err" ] || ms_fail "$name: stderr: $(cat "$MS_TMP/err")"
  ms_pass "$name under the library's lock: $(sed 's/^ok: //' "$MS_TMP/out")"
done
