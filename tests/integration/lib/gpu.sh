# Sourced by the GPU tests after common.sh: the fake CUDA libraries (tests/fakes) and helpers.
: "${FAKES:?run through ctest}"
[ -x "$FAKES/bin/torch_like12" ] || ms_fail "the fake CUDA programs are not built ($FAKES/bin)"
FAKE_BIN=$FAKES/bin
CTX_BYTES=$((254 << 20)) # the fake driver's context, as in seed 003
GPU_CHECK="$PYTHON $(dirname "${BASH_SOURCE[0]}")/gpu_check.py"

# The fake driver and runtime, plus one NVML variant (v3 = today's drivers; "none" = no NVML).
gpu_libs() {
  local nvml=${1:-v3}
  if [ "$nvml" = none ]; then echo "$FAKES/lib"; else echo "$FAKES/lib:$FAKES/nvml-$nvml"; fi
}

# Run a program under memshim with the fake libraries: gpu_run NVML OUTPREFIX prog args...
# (extra VAR=value words may follow OUTPREFIX). JSON, text and collapsed reports go to OUTPREFIX.*.
gpu_run() {
  local nvml=$1 out=$2
  shift 2
  env LD_LIBRARY_PATH="$(gpu_libs "$nvml")" LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_REPORT=json,text,collapsed \
    MEMSHIM_REPORT_PATH="$out" "$@"
}
