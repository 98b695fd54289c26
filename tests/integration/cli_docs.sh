#!/usr/bin/env bash
# docs/options.md and README.md's option table are what scripts/gen-docs.sh makes from the option
# table; the check fails when either drifts (verified here on copies with one row removed).
. "$(dirname "$0")/lib/common.sh"
"$SRC_DIR/scripts/gen-docs.sh" --check --cli "$MS_TEST_CLI" >"$MS_TMP/diff" 2>&1 \
  || { cat "$MS_TMP/diff"; ms_fail "docs/options.md drifted from the option table: run scripts/gen-docs.sh"; }
rows=$(grep -c '^| `MEMSHIM_' "$SRC_DIR/docs/options.md")
table=$("$MS_TEST_CLI" config | grep -c '^MEMSHIM_')
ms_assert_num "$rows" -eq "$table" "rows in docs/options.md vs options in the table"
ms_pass "docs/options.md matches the option table ($rows options)"

# The check itself must catch drift: run it on a copy of the tree whose options.md lost a row.
mkdir -p "$MS_TMP/tree/docs" "$MS_TMP/tree/scripts"
cp "$SRC_DIR/scripts/gen-docs.sh" "$MS_TMP/tree/scripts/"
cp "$SRC_DIR/README.md" "$MS_TMP/tree/README.md"
cp "$SRC_DIR/docs/options.md" "$MS_TMP/tree/docs/options.md"
"$MS_TMP/tree/scripts/gen-docs.sh" --check --cli "$MS_TEST_CLI" >/dev/null 2>&1 \
  || ms_fail "gen-docs.sh --check fails on an exact copy of the tree"
grep -v 'MEMSHIM_RETAINED_MAX' "$SRC_DIR/docs/options.md" >"$MS_TMP/tree/docs/options.md"
if "$MS_TMP/tree/scripts/gen-docs.sh" --check --cli "$MS_TEST_CLI" >/dev/null 2>&1; then
  ms_fail "gen-docs.sh --check passed on a drifted docs/options.md"
fi
cp "$SRC_DIR/docs/options.md" "$MS_TMP/tree/docs/options.md"
grep -v 'MEMSHIM_IDLE_PURGE' "$SRC_DIR/README.md" >"$MS_TMP/tree/README.md"
if "$MS_TMP/tree/scripts/gen-docs.sh" --check --cli "$MS_TEST_CLI" >/dev/null 2>&1; then
  ms_fail "gen-docs.sh --check passed on a drifted README.md option table"
fi
ms_pass "gen-docs.sh --check fails on drift of either file"
