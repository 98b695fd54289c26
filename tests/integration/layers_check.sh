#!/usr/bin/env bash
# scripts/check-layers.sh: src/ has no import cycle between directories, and the checker does
# find one (a two-directory loop and a longer one planted in a copy of a small tree).
. "$(dirname "$0")/lib/common.sh"
check=$SRC_DIR/scripts/check-layers.sh

bash "$check" "$SRC_DIR/src" >"$MS_TMP/out" 2>&1 || { cat "$MS_TMP/out"; ms_fail "src/ has an import cycle"; }
grep -q '^  report -> util$' "$MS_TMP/out" || ms_fail "report/ should include only util/: $(cat "$MS_TMP/out")"
ms_pass "src/: $(tail -1 "$MS_TMP/out")"

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
