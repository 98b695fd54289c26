/* Fills a (fake) GPU through the runtime to exercise memshim's thresholds and out-of-memory path.
 *   gpu_pressure cross  : 50 MiB steps from leaky_growth until a warn and an action crossing; the
 *                         pressure callback (registered with memshim_on_gpu_pressure) empties
 *                         model_cache, usage falls, then grows past both thresholds once more.
 *   gpu_pressure oom    : model_cache holds 100 MiB, then leaky_growth allocates until cudaMalloc
 *                         fails; prints the error code.
 *   gpu_pressure oom-kill: the same, then SIGKILL itself (the report written at the failure stays).
 * Run with FAKE_CUDA_MEM=1000 MiB, FAKE_CUDA_CONTEXT_BYTES and FAKE_NVML_OTHER_USED set by the test. */
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "common.h"

int cudaMalloc(void **, size_t);
int cudaFree(void *);
int cudaSetDevice(int);
typedef void (*pressure_fn)(int, uint64_t, uint64_t, void *);

static void *cache[64];
static int ncache;
static int callbacks;

__attribute__((noinline)) void model_cache(int n) {
  for (int i = 0; i < n; i++) CHECK(cudaMalloc(&cache[ncache++], 50 * MIB) == 0, "model_cache");
}
__attribute__((noinline)) int leaky_growth(void) {
  void *p;
  return cudaMalloc(&p, 50 * MIB);
}

static void on_pressure(int dev, uint64_t used, uint64_t total, void *ud) {
  callbacks++;
  printf("callback device=%d used=%llu total=%llu user=%s\n", dev, (unsigned long long)used, (unsigned long long)total,
         (const char *)ud);
  for (int i = 0; i < ncache; i++) CHECK(cudaFree(cache[i]) == 0, "cudaFree in the callback");
  ncache = 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "cross";
  CHECK(cudaSetDevice(0) == 0, "cudaSetDevice");
  if (!strcmp(mode, "cross")) {
    int (*reg)(pressure_fn, void *) = (int (*)(pressure_fn, void *))dlsym(RTLD_DEFAULT, "memshim_on_gpu_pressure");
    if (reg) CHECK(reg(on_pressure, "ctx") == 0 && reg(on_pressure, "ctx") == 0, "register");
    model_cache(6); /* 300 MiB */
    for (int i = 0; i < 40 && callbacks == 0; i++) CHECK(leaky_growth() == 0, "leaky_growth");
    printf("phase 1 done: callbacks=%d\n", callbacks);
    fflush(stdout);
    for (int i = 0; i < 40 && callbacks == 1; i++) CHECK(leaky_growth() == 0, "leaky_growth (2)");
    printf("phase 2 done: callbacks=%d\n", callbacks);
    return 0;
  }
  model_cache(2); /* a smaller holder: the leak must come first */
  int r = 0;
  for (int i = 0; i < 100 && r == 0; i++) r = leaky_growth();
  printf("oom returned %d\n", r);
  fflush(stdout);
  if (!strcmp(mode, "oom-kill")) kill(getpid(), SIGKILL);
  return 0;
}
