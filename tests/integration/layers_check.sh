#!/usr/bin/env bash
# scripts/check-layers.sh: src/ has no import cycle between directories and no file-level call
# cycle outside scripts/layers-allow.txt, and the checker does find both (loops of two and three
# directories, and of two and three files, planted in small trees).
. "$(dirname "$0")/lib/common.sh"
check=$SRC_DIR/scripts/check-layers.sh
objs=()
for d in memshim ms_writers ms_options; do objs+=("$BUILD_DIR/CMakeFiles/$d.dir"); done

bash "$check" "$SRC_DIR/src" "${objs[@]}" >"$MS_TMP/out" 2>&1 || { cat "$MS_TMP/out"; ms_fail "src/ has an import or call cycle"; }
grep -q '^  report -> util$' "$MS_TMP/out" || ms_fail "report/ should include only util/: $(cat "$MS_TMP/out")"
grep -q '^check-layers: no import cycle between' "$MS_TMP/out" || ms_fail "no directory verdict: $(cat "$MS_TMP/out")"
last=$(tail -1 "$MS_TMP/out")
case $last in "check-layers: no file-level call cycle outside the allow-list ("[1-9]*) ;; *) ms_fail "no file-level verdict: $last" ;; esac
if grep -q STALE "$MS_TMP/out"; then grep STALE "$MS_TMP/out"; ms_fail "scripts/layers-allow.txt lists an edge that no longer closes a cycle: remove it"; fi
ms_pass "src/: $last"

# File-level: objects of a tiny tree, a -> b -> c -> a and then a <-> b.
f=$MS_TMP/files
mkdir -p "$f/src/x" "$f/obj/src/x"
fcheck() { LAYERS_ALLOW=${1:-/dev/null} bash "$check" "$f/src" "$f/obj" >"$MS_TMP/out" 2>&1; }
fbuild() {
  for n in a b c; do
    [ -f "$f/src/x/$n.c" ] && { cc -c -o "$f/obj/src/x/$n.c.o" "$f/src/x/$n.c" || ms_fail "cc $n.c"; }
  done
  return 0
}
printf 'void ms_b(void);\nvoid ms_a(void) { ms_b(); }\n' >"$f/src/x/a.c"
printf 'void ms_c(void);\nvoid ms_b(void) { ms_c(); }\n' >"$f/src/x/b.c"
printf 'void ms_c(void) {}\nvoid free(void *p) { (void)p; }\n' >"$f/src/x/c.c"
fbuild
fcheck || { cat "$MS_TMP/out"; ms_fail "calls without a loop were rejected"; }
grep -q '(3 files, 2 call edges)' "$MS_TMP/out" || ms_fail "the graph of the tree is not a -> b -> c: $(cat "$MS_TMP/out")"
printf 'void ms_a(void);\nvoid ms_c(void) { ms_a(); }\n' >"$f/src/x/c.c"
fbuild
rc=0
fcheck || rc=$?
ms_assert_num "$rc" -eq 1 "exit status on a three-file loop"
for e in "x/a.c -> x/b.c" "x/b.c -> x/c.c" "x/c.c -> x/a.c"; do
  grep -qF "    $e  (" "$MS_TMP/out" || ms_fail "the loop report does not show $e: $(cat "$MS_TMP/out")"
done
printf 'x/c.c -> x/a.c  planted\nx/b.c -> x/a.c  not an edge\n' >"$f/allow"
fcheck "$f/allow" || { cat "$MS_TMP/out"; ms_fail "an allowed back edge did not break the loop"; }
grep -qF "allowed: x/c.c -> x/a.c  (planted)" "$MS_TMP/out" || ms_fail "the allowed edge is not printed: $(cat "$MS_TMP/out")"
grep -qF "STALE (no longer in a cycle: remove it): x/b.c -> x/a.c" "$MS_TMP/out" || ms_fail "a stale entry is not called stale: $(cat "$MS_TMP/out")"
# a call to an interposed libc name (free, defined in a.c) is a call to libc, not to a.c
printf 'void ms_b(void);\nvoid ms_a(void) { ms_b(); }\nvoid free(void *p) { (void)p; }\n' >"$f/src/x/a.c"
printf 'void free(void *);\nvoid ms_b(void) { free(0); }\n' >"$f/src/x/b.c"
rm "$f/src/x/c.c"
fbuild
fcheck || { cat "$MS_TMP/out"; ms_fail "a call to free was taken for a call back into the file defining it"; }
printf 'void ms_a(void);\nvoid ms_b(void) { ms_a(); }\n' >"$f/src/x/b.c"
fbuild
rc=0
fcheck || rc=$?
ms_assert_num "$rc" -eq 1 "exit status on a two-file loop"
grep -qF "    x/b.c -> x/a.c  (ms_a)" "$MS_TMP/out" || ms_fail "the two-file loop is not shown with its call: $(cat "$MS_TMP/out")"
ms_pass "file-level loops of two and three files are found, shown and allowed only edge by edge"

t=$MS_TMP/tree
mkdir -p "$t/a" "$t/b" "$t/c"
printf '#include "../b/b.h"\n' >"$t/a/a.c"
printf '#include "../c/c.h"\n' >"$t/b/b.h"
printf '#include <stdio.h>\n' >"$t/c/c.h"
bash "$check" "$t" >/dev/null 2>&1 || ms_fail "a tree without a loop was rejected"
printf '#include "../a/a.h"\n' >"$t/c/c.c" # a -> b -> c -> a
rc=0
bash "$check" "$t" >"$MS_TMP/out" 2>&1 || rc=$?
ms_assert_num "$rc" -eq 1 "exit status on a three-directory loop"
for d in a b c; do grep -qx "  $d" "$MS_TMP/out" || ms_fail "the loop report does not name $d: $(cat "$MS_TMP/out")"; done
rm "$t/c/c.c"
printf '  #  include "../a/a.h" /* back */\n' >"$t/b/b.c" # a -> b -> a, spaced directive
rc=0
bash "$check" "$t" >"$MS_TMP/out" 2>&1 || rc=$?
ms_assert_num "$rc" -eq 1 "exit status on a two-directory loop"
ms_pass "loops of two and three directories are found and named"
