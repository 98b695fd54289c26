#!/usr/bin/env bash
# The docs say what the code does: lib/docs_claims.py checks README.md and docs/*.md for stale
# claims ("not yet", "outside memshim", "no GPU", ... each use must be in data/docs_claims.allow
# with a reason), the .deb's dependencies against cmake/install.cmake's Depends line, MEMSHIM_*
# names against the option table, `memshim CMD --flag` in code against main.c and --help, and
# the repository paths the prose names.
# Then it proves each check can fail, on copies of the tree with one claim made false.
. "$(dirname "$0")/lib/common.sh"
check="$PYTHON $(dirname "$0")/lib/docs_claims.py"
allow=$SRC_DIR/tests/integration/data/docs_claims.allow

$check "$SRC_DIR" "$MS_TEST_CLI" "$allow" >"$MS_TMP/out" 2>&1 || { cat "$MS_TMP/out"; ms_fail "the docs make claims the code contradicts (above)"; }
deps=$(sed -n 's/.*CPACK_DEBIAN_PACKAGE_DEPENDS "\(.*\)".*/\1/p' "$SRC_DIR/cmake/install.cmake")
[ -n "$deps" ] || ms_fail "no Depends line in cmake/install.cmake"
tr '\n' ' ' <"$SRC_DIR/docs/cli.md" | tr -s ' ' | grep -qF "depending on \`$deps\`" \
  || ms_fail "docs/cli.md does not say the .deb depends on \`$deps\` (cmake/install.cmake)"
ms_pass "README.md and docs/*.md: no unlisted stale claim, Depends '$deps' as in cmake/install.cmake, names, commands and flags exist"

# Each check must be able to fail: a copy of what the checker reads, one false claim at a time.
fresh() {
  rm -rf "$MS_TMP/tree"
  mkdir -p "$MS_TMP/tree"
  cp -r "$SRC_DIR/docs" "$SRC_DIR/cmake" "$SRC_DIR/README.md" "$MS_TMP/tree/"
  local e
  for e in "$SRC_DIR"/* "$SRC_DIR"/.ci; do # the rest as it is: the files the docs name
    [ -e "$e" ] && [ ! -e "$MS_TMP/tree/${e##*/}" ] && ln -s "$e" "$MS_TMP/tree/${e##*/}"
  done
  cp "$allow" "$MS_TMP/allow"
}
# must_fail WHAT PATTERN: the checker fails on the copy and names the problem (PATTERN in its output).
must_fail() {
  if $check "$MS_TMP/tree" "$MS_TEST_CLI" "$MS_TMP/allow" >"$MS_TMP/out" 2>&1; then
    ms_fail "the check passed with $1"
  fi
  grep -qF -- "$2" "$MS_TMP/out" || ms_fail "$1: the failure does not name it: $(cat "$MS_TMP/out")"
}
fresh
$check "$MS_TMP/tree" "$MS_TEST_CLI" "$MS_TMP/allow" >"$MS_TMP/out" 2>&1 || ms_fail "fails on an exact copy: $(cat "$MS_TMP/out")"
echo "GPU memory (\`torch.cuda.empty_cache()\`) is outside memshim today." >>"$MS_TMP/tree/docs/recipes.md"
must_fail "a stale claim added to docs/recipes.md" "docs/recipes.md:"
fresh
sed -i 's/^Symbolization from separate debug files/Device memory per site, and symbolization from separate debug files/' \
  "$MS_TMP/tree/docs/profiling.md"
grep -q '^Device memory per site, and symbolization' "$MS_TMP/tree/docs/profiling.md" || ms_fail "self-test: edit not made"
must_fail "a claim added under the '## Not yet' heading" "docs/profiling.md:"
fresh
echo "README.md | a line nobody wrote | an entry that covers nothing" >>"$MS_TMP/allow"
must_fail "an allow-list entry that covers no line" "a line nobody wrote"
fresh
sed -i 's/depending on$/depending on `libjemalloc2, libunwind8`, formerly/; s/depending on `libc6/depending on `libjemalloc2` and `libc6/' "$MS_TMP/tree/docs/cli.md"
must_fail "docs/cli.md naming libjemalloc2 as a dependency" "libjemalloc2"
fresh
sed -i 's/libjansson4")/libjansson4, libfoo1")/' "$MS_TMP/tree/cmake/install.cmake"
must_fail "a Depends line the docs do not state" "docs/cli.md says the .deb depends on"
fresh
echo 'Set `MEMSHIM_NO_SUCH_OPTION=1`.' >>"$MS_TMP/tree/docs/recipes.md"
must_fail "an option name that does not exist" "MEMSHIM_NO_SUCH_OPTION"
fresh
printf '```sh\nmemshim frobnicate out/\n```\n' >>"$MS_TMP/tree/docs/recipes.md"
must_fail "a command main.c does not have" "memshim frobnicate"
fresh
echo 'See `scripts/no-such-script.sh`.' >>"$MS_TMP/tree/docs/recipes.md"
must_fail "a file of the tree that does not exist" "scripts/no-such-script.sh"
fresh
echo 'Run `memshim run --no-such-flag -- ./app`.' >>"$MS_TMP/tree/README.md"
must_fail "a flag run --help does not list" "memshim run --no-such-flag"
ms_pass "each check fails on a copy with one false claim: stale phrase, allow-list entry, Depends (docs and cmake), option, command, flag, file"
