/* dlsym and dlvsym: the one way into the CUDA driver that needs no symbol of the driver's to be
 * interposed. The real libcudart dlopens libcuda.so.1 and takes cuGetProcAddress_v2 with
 * dlsym(handle, ...); PyTorch's older driver table takes cuMemCreate & co. the same way.
 *
 * The entry points are a few instructions of assembly: a name that is not exactly "cu" and an
 * upper-case letter jumps straight to libc's function, with the caller's return address still
 * on the stack. glibc resolves dlsym(RTLD_NEXT, ...) relative to the object that holds that
 * return address, so another interposer's RTLD_NEXT lookups (an open() wrapper, a tracer) go on
 * working as if memshim were not there; a plain call from C would make every such lookup
 * relative to libmemshim.so (uftrace #714, HAMi-core PR #279). A process with no CUDA pays the
 * name check and nothing else. Only x86-64 has the hook; elsewhere dlsym is not interposed and
 * GPU tracking sees only the runtime's names (docs/gpu.md). */
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>

#include "../gpu/dl.h"
#include "../util/export.h"
#include "cuda.h"

#if defined(__x86_64__)

/* RTLD_NEXT for a lookup memshim makes on behalf of `caller`: the first object after the
 * caller's, in load order, that defines the name itself. (glibc's own RTLD_NEXT also skips
 * objects outside the global scope; for "cu*" names this difference does not arise in practice.) */
static void *ms_dl_next_after(const void *caller, const char *name, const char *version) {
  Dl_info info;
  struct link_map *self = NULL;
  if (!dladdr1(caller, &info, (void **)&self, RTLD_DL_LINKMAP) || !self) return NULL;
  for (struct link_map *l = self->l_next; l; l = l->l_next) {
    void *p = version ? ms_dl_vsym(l, name, version) : ms_dl_sym(l, name);
    struct link_map *owner = NULL;
    if (p && dladdr1(p, &info, (void **)&owner, RTLD_DL_LINKMAP) && owner == l) return p;
  }
  return NULL;
}

/* RTLD_DEFAULT for `caller`: the global scope, then the caller's own dependencies (an object
 * loaded RTLD_LOCAL sees those too). */
static void *ms_dl_default_for(const void *caller, const char *name, const char *version) {
  void *p = version ? ms_dl_vsym(RTLD_DEFAULT, name, version) : ms_dl_sym(RTLD_DEFAULT, name);
  if (p) return p;
  Dl_info info;
  struct link_map *self = NULL;
  if (!dladdr1(caller, &info, (void **)&self, RTLD_DL_LINKMAP) || !self) return NULL;
  return version ? ms_dl_vsym(self, name, version) : ms_dl_sym(self, name);
}

static void *ms_dl_cu_lookup(void *handle, const char *name, const char *version, const void *caller) {
  if (handle == RTLD_NEXT) return ms_dl_next_after(caller, name, version);
  if (handle == RTLD_DEFAULT) return ms_dl_default_for(caller, name, version);
  return version ? ms_dl_vsym(handle, name, version) : ms_dl_sym(handle, name);
}

/* Reached by a jump from the entry points below, so the return address is the caller's. */
MS_HIDDEN void *ms_dlsym_cu(void *handle, const char *name);
MS_HIDDEN void *ms_dlvsym_cu(void *handle, const char *name, const char *version);
__attribute__((noinline)) void *ms_dlsym_cu(void *handle, const char *name) {
  const void *caller = __builtin_return_address(0);
  return ms_cuda_export_lookup(name, ms_dl_cu_lookup(handle, name, NULL, caller), caller);
}
__attribute__((noinline)) void *ms_dlvsym_cu(void *handle, const char *name, const char *version) {
  const void *caller = __builtin_return_address(0);
  return ms_cuda_export_lookup(name, ms_dl_cu_lookup(handle, name, version, caller), caller);
}

/* The exported entry points, defined in assembly below. */
MS_EXPORT void *dlsym(void *handle, const char *name);
MS_EXPORT void *dlvsym(void *handle, const char *name, const char *version);

/* dlsym(handle = rdi, name = rsi). "cu" then 'A'..'Z' goes to ms_dlsym_cu; anything else
 * (NULL included) jumps to libc's dlsym, resolved on first use. */
#define MS_DL_ENTRY(NAME, CU_HANDLER, REAL_PTR, SAVE, RESTORE)                                      \
  __asm__(".text\n"                                                                                 \
          ".globl " NAME "\n"                                                                       \
          ".type " NAME ",@function\n"                                                              \
          ".p2align 4\n" NAME ":\n"                                                                 \
          ".cfi_startproc\n"                                                                        \
          "  test %rsi, %rsi\n"                                                                     \
          "  jz 1f\n"                                                                               \
          "  cmpb $0x63, (%rsi)\n" /* 'c' */                                                        \
          "  jne 1f\n"                                                                              \
          "  cmpb $0x75, 1(%rsi)\n" /* 'u' */                                                       \
          "  jne 1f\n"                                                                              \
          "  movzbl 2(%rsi), %eax\n"                                                                \
          "  sub $0x41, %eax\n" /* 'A' */                                                           \
          "  cmp $25, %eax\n"                                                                       \
          "  jbe " CU_HANDLER "\n"                                                                  \
          "1:\n"                                                                                    \
          "  mov " REAL_PTR "(%rip), %rax\n"                                                        \
          "  test %rax, %rax\n"                                                                     \
          "  jz 2f\n"                                                                               \
          "  jmp *%rax\n"                                                                           \
          "2:\n" SAVE "  call ms_dl_resolve\n" RESTORE "  mov " REAL_PTR "(%rip), %rax\n"           \
          "  test %rax, %rax\n"                                                                     \
          "  jz 3f\n"                                                                               \
          "  jmp *%rax\n"                                                                           \
          "3:\n"                                                                                    \
          "  xor %eax, %eax\n"                                                                      \
          "  ret\n"                                                                                 \
          ".cfi_endproc\n"                                                                          \
          ".size " NAME ", .-" NAME "\n")

/* The stack is 16-byte aligned at the call: rsp is 8 mod 16 on entry. */
MS_DL_ENTRY("dlsym", "ms_dlsym_cu", "ms_dl_real_dlsym_ptr",
            "  push %rdi\n .cfi_adjust_cfa_offset 8\n  push %rsi\n .cfi_adjust_cfa_offset 8\n"
            "  sub $8, %rsp\n .cfi_adjust_cfa_offset 8\n",
            "  add $8, %rsp\n .cfi_adjust_cfa_offset -8\n  pop %rsi\n .cfi_adjust_cfa_offset -8\n"
            "  pop %rdi\n .cfi_adjust_cfa_offset -8\n");
MS_DL_ENTRY("dlvsym", "ms_dlvsym_cu", "ms_dl_real_dlvsym_ptr",
            "  push %rdi\n .cfi_adjust_cfa_offset 8\n  push %rsi\n .cfi_adjust_cfa_offset 8\n"
            "  push %rdx\n .cfi_adjust_cfa_offset 8\n",
            "  pop %rdx\n .cfi_adjust_cfa_offset -8\n  pop %rsi\n .cfi_adjust_cfa_offset -8\n"
            "  pop %rdi\n .cfi_adjust_cfa_offset -8\n");

#endif
