#!/usr/bin/env bash
# libmemshim.so exports exactly the names of src/memshim.map (the linker version script), each
# unversioned (an anonymous node: the host's malloc@GLIBC_2.2.5 references bind to ours), and
# every definition marked MS_EXPORT in src/ is one of them.
. "$(dirname "$0")/lib/common.sh"
command -v nm >/dev/null || ms_skip "nm is not installed (binutils)"
map=$SRC_DIR/src/memshim.map
perl -0pe 's{/\*.*?\*/}{}gs; s/(global|local)://g' "$map" | tr ' ;\t{}*' '\n\n\n\n\n\n' |
  grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | sort -u >"$MS_TMP/want"
nm -D --defined-only "$MS_TEST_LIB" | awk '{print $3}' | sort -u >"$MS_TMP/got"
diff "$MS_TMP/want" "$MS_TMP/got" >"$MS_TMP/diff" || { cat "$MS_TMP/diff"; ms_fail "exports differ from src/memshim.map (< map only, > library only)"; }
nm -D --defined-only "$MS_TEST_LIB" | awk '{print $3}' | grep -q '@' && ms_fail "versioned exports: the version node must be anonymous"
grep -rhoE 'MS_EXPORT [^(]*\b([A-Za-z_][A-Za-z0-9_]*)\(' "$SRC_DIR/src" --include=*.c |
  sed -E 's/.*[ *]([A-Za-z_][A-Za-z0-9_]*)\($/\1/' >"$MS_TMP/marked"
# the CUDA runtime exports are generated from the rows of one list: ROW(id, name, ONE|PTSZ, ...)
perl -0ne 'if (/#define MS_CUDA_RUNTIME_FUNCTIONS\(.*?\)(.*?[^\\])\n/s) {
    my $rows = $1; print "$1\n", $2 eq "PTSZ" ? "$1_ptsz\n" : "" while $rows =~ /\b[A-Z]+\(\s*\w+,\s*(\w+),\s*(ONE|PTSZ)\b/g }' \
  "$SRC_DIR/src/gpu/cuda_functions.h" >>"$MS_TMP/marked"
sort -u -o "$MS_TMP/marked" "$MS_TMP/marked"
comm -23 "$MS_TMP/marked" "$MS_TMP/want" >"$MS_TMP/unlisted"
[ -s "$MS_TMP/unlisted" ] && ms_fail "MS_EXPORT definitions missing from src/memshim.map: $(tr '\n' ' ' <"$MS_TMP/unlisted")"
comm -13 "$MS_TMP/marked" "$MS_TMP/want" >"$MS_TMP/unmarked"
[ -s "$MS_TMP/unmarked" ] && ms_fail "names in src/memshim.map not defined with MS_EXPORT: $(tr '\n' ' ' <"$MS_TMP/unmarked")"
# libc's own versioned reference (malloc@GLIBC_2.2.5) binds to our unversioned malloc
LD_DEBUG=bindings ms_preload /bin/true >"$MS_TMP/bindings" 2>&1
grep -qE "binding file .*libc\.so\.6 .* to .*libmemshim\.so.*: normal symbol .malloc' \[GLIBC_2\.2\.5\]" "$MS_TMP/bindings" ||
  ms_fail "libc's malloc@GLIBC_2.2.5 reference does not bind to libmemshim.so"
ms_pass "$(wc -l <"$MS_TMP/want") exports, all in src/memshim.map and marked MS_EXPORT, unversioned; malloc binds to ours"
