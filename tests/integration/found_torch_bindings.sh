#!/usr/bin/env bash
# torch's C++ allocations go through memshim: with LD_DEBUG=bindings, libtorch's (and every
# other library's) operator new/delete and malloc-family symbols bind to libmemshim.so, never
# to libjemalloc.so.2, libstdc++ or libc; and a torch workload moves memshim's counters
# (python check in found_python.sh; here the binding side).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"
ms_require_python_module torch

# No `env` wrapper: its own bindings (to libc) would land in the same pid's output.
LD_DEBUG=bindings LD_DEBUG_OUTPUT="$MS_TMP/ld" LD_PRELOAD="$MS_TEST_LIB" "$PYTHON" -c \
  'import torch; x = torch.nn.Linear(8, 8)(torch.randn(2, 8)); print(x.shape)' >"$MS_TMP/out" 2>"$MS_TMP/err" ||
  ms_fail "python under LD_DEBUG: $(cat "$MS_TMP/err")"
cat "$MS_TMP"/ld.* >"$MS_TMP/bindings"

syms='_Znwm|_Znam|_ZdlPv|_ZdaPv|_ZdlPvm|_ZdaPvm|_ZnwmSt11align_val_t|_ZdlPvSt11align_val_t|malloc|free|calloc|realloc|posix_memalign|aligned_alloc|memalign'
grep -E "binding file [^ ]+ \[0\] to [^ ]+ \[0\]: normal symbol \`($syms)'" "$MS_TMP/bindings" >"$MS_TMP/alloc" || true
torch_new=$(grep -E "binding file [^ ]*libtorch_cpu[^ ]* .* to $MS_TEST_LIB \[0\]: normal symbol \`_Znwm'" "$MS_TMP/alloc" | wc -l)
ms_assert_num "$torch_new" -ge 1 "libtorch_cpu's _Znwm bound to libmemshim"
torch_del=$(grep -E "binding file [^ ]*libtorch[^ ]* .* to $MS_TEST_LIB \[0\]: normal symbol \`_ZdlPv" "$MS_TMP/alloc" | wc -l)
ms_assert_num "$torch_del" -ge 1 "libtorch's operator delete bound to libmemshim"
total_new=$(grep -c "\`_Znwm'" "$MS_TMP/alloc")
ms_assert_num "$total_new" -ge 20 "libraries binding _Znwm"
# Every binding goes to libmemshim, or to the executable's own PLT slot (an executable that
# takes a function's address owns the canonical address; its slot binds to libmemshim).
# The only exception is memshim's own dlsym through jemalloc's handle (jemalloc -> jemalloc),
# which is how the backend finds jemalloc's malloc/free/calloc/realloc, operator new and sized
# delete (src/backend/jemalloc.c).
exe=$(readlink -f "$PYTHON")
je=libjemalloc.so.2
wrong=$(grep -v -e " to $MS_TEST_LIB \[0\]" -e " to $exe \[0\]" -e " to $PYTHON \[0\]" \
  -e "binding file [^ ]*/$je \[0\] to [^ ]*/$je \[0\]: normal symbol \`\(malloc\|free\|calloc\|realloc\|_Znwm\|_ZdlPvm\)'" \
  "$MS_TMP/alloc" || true)
[ -z "$wrong" ] || ms_fail "allocation symbols bound elsewhere:
$(head -20 <<<"$wrong")"
grep -qE "binding file ($exe|$PYTHON) \[0\] to $MS_TEST_LIB \[0\]: normal symbol \`free'" "$MS_TMP/alloc" ||
  ms_fail "the python executable's own free is not bound to libmemshim"
ms_pass "$(wc -l <"$MS_TMP/alloc") allocation bindings ($total_new of _Znwm, $torch_new from libtorch_cpu) all resolve to libmemshim.so"
