/* dlsym of names near "cu[A-Z]*" in a process without CUDA: cuDNN/cuBLAS names and lower-case
 * third letters must go straight to libc (memshim only looks at "cu" + an upper-case letter), and
 * a cu* name the program defines itself must come back unchanged. Prints one line per lookup; the
 * test compares the output with and without memshim. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

__attribute__((visibility("default"), noinline)) int cuProgramOwn(void) { return 42; }

int main(void) {
  static const char *const names[] = {"cudnnCreate", "cublasCreate_v2", "cudaMalloc_nothere", "cu", "cuMemAlloc_v2",
                                      "cuGetProcAddress", "cuProgramOwn", "c", "", "cuZ", "cu_lower", "strlen"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void *p = dlsym(RTLD_DEFAULT, names[i]);
    const char *what = !p ? "null" : p == (void *)cuProgramOwn ? "own" : p == (void *)strlen ? "libc" : "other";
    printf("%s: %s\n", *names[i] ? names[i] : "(empty)", what);
  }
  void *v = dlvsym(RTLD_DEFAULT, "cudnnCreate", "X");
  printf("dlvsym cudnnCreate: %s\n", v ? "other" : "null");
  return cuProgramOwn() == 42 ? 0 : 1;
}
