#!/usr/bin/env bash
# cmake --install into a temporary prefix: the installed tree builds a program with pkg-config and
# with find_package(memshim), both run under LD_PRELOAD of the installed library, `memshim run`
# from the install tree preloads the installed library; cpack builds a .deb with the right Depends.
. "$(dirname "$0")/lib/common.sh"
: "${BUILD_DIR:?}"
command -v pkg-config >/dev/null || ms_skip "pkg-config is not installed"

prefix=$MS_TMP/prefix
cmake --install "$BUILD_DIR" --prefix "$prefix" >/dev/null || ms_fail "cmake --install"
for f in lib/libmemshim.so bin/memshim include/memshim.h lib/pkgconfig/memshim.pc \
         lib/cmake/memshim/memshimConfig.cmake lib/cmake/memshim/memshimConfigVersion.cmake \
         lib/cmake/memshim/memshimTargets.cmake; do
  [ -e "$prefix/$f" ] || ms_fail "cmake --install did not install $f"
done
ms_pass "install layout"

# A client of the public API: prints the version the loaded library reports and the heap it sees.
mkdir -p "$MS_TMP/client"
cat >"$MS_TMP/client/client.c" <<'C'
#include <memshim.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  char *volatile p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  memshim_stats_t st;
  if (memshim_stats(&st, sizeof st) != 0) return 3;
  printf("version=%s backend=%s live_ge_1m=%d\n", memshim_version(), memshim_backend(),
         st.heap_live >= (1u << 20));
  free(p);
  return strcmp(memshim_version(), MEMSHIM_VERSION_STRING) != 0;
}
C
want="version=$(sed -n 's/^#define MEMSHIM_VERSION_STRING "\(.*\)"/\1/p' "$SRC_DIR/include/memshim.h") backend=jemalloc live_ge_1m=1"

# pkg-config, against the installed .pc only.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -o "$MS_TMP/client/pc_client" "$MS_TMP/client/client.c" $(pkg-config --cflags --libs memshim) \
  || ms_fail "build with pkg-config"
case "$(pkg-config --cflags memshim)" in *"$SRC_DIR"*) ms_fail "pkg-config points into the source tree";; esac
out=$(env LD_PRELOAD="$prefix/lib/libmemshim.so" "$MS_TMP/client/pc_client") || ms_fail "pkg-config client failed: $out"
[ "$out" = "$want" ] || ms_fail "pkg-config client printed '$out', want '$want'"
ms_pass "pkg-config client: $out"

# find_package(memshim) with only the install prefix on the search path.
cat >"$MS_TMP/client/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(client C)
find_package(memshim 0.1 REQUIRED CONFIG)
add_executable(cm_client client.c)
target_link_libraries(cm_client PRIVATE memshim::memshim)
CM
cmake -S "$MS_TMP/client" -B "$MS_TMP/client/build" -DCMAKE_PREFIX_PATH="$prefix" >"$MS_TMP/cm.log" 2>&1 \
  || { cat "$MS_TMP/cm.log"; ms_fail "find_package(memshim) configure"; }
cmake --build "$MS_TMP/client/build" >>"$MS_TMP/cm.log" 2>&1 || { cat "$MS_TMP/cm.log"; ms_fail "find_package build"; }
grep -q "memshim_DIR:PATH=$prefix/lib/cmake/memshim" "$MS_TMP/client/build/CMakeCache.txt" \
  || ms_fail "find_package found a memshim other than the installed one"
out=$(env LD_PRELOAD="$prefix/lib/libmemshim.so" "$MS_TMP/client/build/cm_client") || ms_fail "cmake client failed: $out"
[ "$out" = "$want" ] || ms_fail "find_package client printed '$out', want '$want'"
ms_pass "find_package client: $out"

# `memshim run` from the install tree preloads the installed library (no hints in the environment).
maps=$(env -u MEMSHIM_LIBRARY_PATH -u LD_PRELOAD "$prefix/bin/memshim" run -- cat /proc/self/maps) \
  || ms_fail "installed memshim run failed"
real_lib=$(readlink -f "$prefix/lib/libmemshim.so")
grep -qF "$real_lib" <<<"$maps" || ms_fail "memshim run did not preload $real_lib"
ms_pass "installed memshim run preloads $real_lib"
# jemalloc is inside libmemshim.so: neither libjemalloc.so.2 nor the libstdc++ it needs is loaded
grep -qE 'libjemalloc|libstdc\+\+' <<<"$maps" && ms_fail "a preloaded /bin/cat maps libjemalloc or libstdc++: $(grep -E 'libjemalloc|libstdc' <<<"$maps" | head -2)"
ms_pass "a preloaded process maps neither libjemalloc.so.2 nor libstdc++"

# The Debian package.
command -v cpack >/dev/null && command -v dpkg-deb >/dev/null || ms_skip "cpack or dpkg-deb missing"
cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$MS_TMP/pkg" >"$MS_TMP/cpack.log" 2>&1 \
  || { cat "$MS_TMP/cpack.log"; ms_fail "cpack -G DEB"; }
deb=$(ls "$MS_TMP"/pkg/*.deb) || ms_fail "cpack made no .deb"
depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libjemalloc2' <<<"$depends" && ms_fail "Depends names libjemalloc2, but jemalloc is linked in: $depends"
grep -q 'libunwind8' <<<"$depends" || ms_fail "Depends lacks libunwind8: $depends"
grep -q 'libjansson4' <<<"$depends" || ms_fail "Depends lacks libjansson4 (the CLI reads reports with it): $depends"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/lib/libmemshim.so ./usr/bin/memshim ./usr/include/memshim.h ./usr/lib/pkgconfig/memshim.pc \
         ./usr/lib/cmake/memshim/memshimConfig.cmake; do
  grep -qF " $f" <<<"$contents" || ms_fail "the .deb lacks $f"
done
ms_pass "$(basename "$deb"): Depends: $depends"
