/* One stack per sample: the native unwind with the interpreter's frames replaced by the
 * Python frames they ran. */
#include "py_walk.h"
#include "pyframes.h"
#include "stack_table.h"

unsigned ms_py_merge(const ms_py_runtime *rt, const uintptr_t *native, unsigned n, unsigned native_max,
                     const uint32_t *py, unsigned npy, uintptr_t *out, unsigned out_max) {
  unsigned k = 0, kept_native = 0, p = 0;
  bool calling = false; /* inside the interpreter's call machinery, on the way out to a Python frame */
  for (unsigned i = 0; i < n && k < out_max; i++) {
    uintptr_t pc = native[i] - 1; /* inside the calling instruction */
    if (((pc >= rt->eval_lo && pc < rt->eval_hi) || (pc >= rt->eval2_lo && pc < rt->eval2_hi)) && p < npy) {
      for (; p < npy && py[p] != MS_PY_GROUP_END; p++)
        if (k < out_max) out[k++] = ms_frame_py(py[p]);
      p++; /* past the group's end */
      calling = true;
      continue;
    }
    /* Interpreter frames between two Python activations (vectorcall, the builtin that called
     * back), or between an extension's frame and the Python frame that called it, are how the
     * call was made, which varies as CPython specializes the call: dropped, so that one Python
     * line stays one site. The interpreter's own allocating code (innermost, before any other
     * module's frame) and other modules' frames stay; the C library does not count as one. */
    bool interp = pc >= rt->interp_lo && pc < rt->interp_hi;
    if (interp && calling && p < npy) continue;
    if (!interp && !(pc >= rt->libc_lo && pc < rt->libc_hi)) calling = true;
    if (kept_native < native_max) {
      out[k++] = native[i];
      kept_native++;
    }
  }
  /* The native stack ended first (cut at its depth, or the unwinder stopped): the outer
   * Python frames follow. */
  for (; p < npy && k < out_max; p++)
    if (py[p] != MS_PY_GROUP_END) out[k++] = ms_frame_py(py[p]);
  return k;
}

unsigned ms_py_stack(uintptr_t *out, unsigned native_max, ms_unwind_fn unwind) {
  const ms_py_runtime *rt = ms_py_runtime_get();
  uint32_t py[MS_PY_WALK_MAX];
  unsigned npy = rt ? ms_py_walk(rt, py) : 0;
  if (!npy) return unwind(out, native_max);
  /* The native unwind keeps its depth: activations beyond it have their Python frames appended
   * by the merge (the interpreter frames it would drop cost no unwinding). */
  uintptr_t native[MS_MAX_DEPTH];
  unsigned n = unwind(native, native_max);
  return ms_py_merge(rt, native, n, native_max, py, npy, out, MS_MAX_DEPTH);
}
