#!/bin/sh
# jemalloc_static.sh ARCHIVE OUT NM OBJCOPY AR: make OUT, jemalloc for linking into
# libmemshim.so: Debian's libjemalloc_pic.a without its C++ operators (memshim defines those,
# and they would pull in libstdc++), every public name renamed to ms_je_<name> so that it cannot
# clash with the names memshim exports. CMakeLists.txt links it with --exclude-libs: none of its
# symbols leaves libmemshim.so. See docs/backend-choice.md.
set -eu
archive=$1 out=$2 nm=$3 objcopy=$4 ar=$5
work=$out.tmp
rm -rf "$work"
mkdir -p "$work"
cp "$archive" "$work/je.a"
"$ar" d "$work/je.a" jemalloc_cpp.pic.o
"$nm" -g --defined-only "$work/je.a" 2>/dev/null |
  awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^je_/ {print $3, "ms_je_" $3}' | sort -u >"$work/names"
[ -s "$work/names" ] || { echo "jemalloc_static.sh: no public names in $archive" >&2; exit 1; }
"$objcopy" --redefine-syms="$work/names" "$work/je.a" "$out"
rm -rf "$work"
