#!/usr/bin/env bash
# The experiment behind docs/backend-choice.md: the same minimal shim hot path built two ways,
#   dyn:    jemalloc's exported malloc/free/calloc/realloc through pointers resolved once with
#           dlsym (what memshim ships)
#   static: jemalloc linked in from Debian's libjemalloc_pic.a, its public names renamed
#           (objcopy --redefine-syms) and the archive's symbols kept local
#           (-Wl,--exclude-libs,ALL); direct calls
# each with and without memshim's per-call counters (call counts + sample countdown), against
# plain LD_PRELOAD=libjemalloc.so.2, in callgrind instructions. Built in a temp dir; nothing
# here is shipped. Usage: scripts/bench-backend-choice.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib/deps.sh"
. "$ROOT/scripts/lib/bench.sh"
ms_install_deps build bench
ARCHIVE=/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a
[ -e "$ARCHIVE" ] || { echo "needs $ARCHIVE (libjemalloc-dev)" >&2; exit 1; }
JE=$(bench_jemalloc_lib)
W=$(mktemp -d "${TMPDIR:-/tmp}/memshim-backend-choice.XXXXXX")
trap 'rm -rf "$W"' EXIT
unset BENCH_CG_EXCLUDE_FN

# Rename every public name of the archive (C API and C++ operators) to jes_<name>.
nm -g --defined-only "$ARCHIVE" 2>/dev/null | awk '$2 ~ /[TW]/ {print $3}' | grep -v '^je_' | sort -u |
  awk '{print $1, "jes_" $1}' >"$W/redefine.txt"
objcopy --redefine-syms="$W/redefine.txt" "$ARCHIVE" "$W/libjes.a"

cat >"$W/shim.h" <<'C'
#include <stddef.h>
#include <stdint.h>
#define EXPORT __attribute__((visibility("default")))
typedef struct { int64_t countdown; uint64_t allocs, frees; } th_t;
extern __attribute__((visibility("hidden"))) __thread __attribute__((tls_model("initial-exec"))) th_t th;
__thread __attribute__((tls_model("initial-exec"))) th_t th;
static __attribute__((noinline)) void *slow(void *p, size_t n) { (void)n; th.countdown = INT64_MAX / 2; return p; }
#ifdef NOCOUNT
static inline int begin(size_t n) { (void)n; return 0; }
#define FREES() (void)0
#else /* memshim's hot path: count the call, subtract the size from the sample countdown */
static inline int begin(size_t n) { th.allocs++; return __builtin_expect((th.countdown -= (int64_t)n) < 0, 0); }
#define FREES() th.frees++
#endif
EXPORT void *malloc(size_t n) { if (begin(n)) return slow(MALLOC(n), n); return MALLOC(n); }
EXPORT void free(void *p) { if (!p) return; FREES(); FREE(p); }
EXPORT void *calloc(size_t a, size_t b) { if (begin(a * b)) return slow(CALLOC(a, b), a * b); return CALLOC(a, b); }
EXPORT void *realloc(void *p, size_t n) { FREES(); if (begin(n)) return slow(REALLOC(p, n), n); return REALLOC(p, n); }
C
cat >"$W/dyn.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
extern void *mallocx(size_t, int);
extern void *rallocx(void *, size_t, int);
extern void dallocx(void *, int);
static void *early_malloc(size_t n) { return mallocx(n ? n : 1, 0); }
static void early_free(void *p) { if (p) dallocx(p, 0); }
static void *early_calloc(size_t a, size_t b) { return mallocx(a * b ? a * b : 1, 0x40 /* MALLOCX_ZERO */); }
static void *early_realloc(void *p, size_t n) { return p ? rallocx(p, n, 0) : mallocx(n, 0); }
static struct { void *(*m)(size_t); void (*f)(void *); void *(*c)(size_t, size_t); void *(*r)(void *, size_t); } be =
  {early_malloc, early_free, early_calloc, early_realloc};
__attribute__((constructor(101))) static void init(void) {
  void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
  be.m = dlsym(h, "malloc"); be.c = dlsym(h, "calloc"); be.r = dlsym(h, "realloc"); be.f = dlsym(h, "free");
}
#define MALLOC be.m
#define FREE be.f
#define CALLOC be.c
#define REALLOC be.r
#include "shim.h"
C
cat >"$W/static.c" <<'C'
#include <stddef.h>
void *jes_malloc(size_t); void jes_free(void *); void *jes_calloc(size_t, size_t); void *jes_realloc(void *, size_t);
#define MALLOC jes_malloc
#define FREE jes_free
#define CALLOC jes_calloc
#define REALLOC jes_realloc
#include "shim.h"
C
CFLAGS=(-O2 -fPIC -shared -fvisibility=hidden -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc)
for count in "" -DNOCOUNT; do
  sfx=${count:+-nocount}
  cc "${CFLAGS[@]}" $count -I"$W" -o "$W/dyn$sfx.so" "$W/dyn.c" -ljemalloc -ldl
  cc "${CFLAGS[@]}" $count -I"$W" -o "$W/static$sfx.so" "$W/static.c" \
    -Wl,--whole-archive "$W/libjes.a" -Wl,--no-whole-archive -Wl,--exclude-libs,ALL -lpthread -ldl -lm -lstdc++
done
exported=$(nm -D --defined-only "$W/static.so" | awk '{print $3}' | tr '\n' ' ')
echo "static variant exports only: $exported"

bench_build_progs "$ROOT/scripts/bench/progs" "$W/progs"
P=$W/progs
printf '%-14s %14s %12s %12s %12s %12s\n' program "jemalloc" dyn-nocount static-nocount dyn static
declare -A all=()
for cmd in "churn 2000000" "larson 4 200000" "realloc_grow 200"; do
  name=${cmd%% *}
  # shellcheck disable=SC2086
  base=$(bench_callgrind_count LD_PRELOAD="$JE" -- $P/$cmd)
  line=$(printf '%-14s %14s' "$name" "$base")
  for v in dyn-nocount static-nocount dyn static; do
    # shellcheck disable=SC2086
    n=$(bench_callgrind_count LD_PRELOAD="$W/$v.so" -- $P/$cmd)
    r=$(bench_ratio "$n" "$base")
    all[$v]+=" $r"
    line+=$(printf ' %12.4f' "$r")
  done
  echo "$line"
done
line=$(printf '%-14s %14s' geomean "")
for v in dyn-nocount static-nocount dyn static; do line+=$(printf ' %12.4f' "$(bench_geomean ${all[$v]})"); done
echo "$line"
