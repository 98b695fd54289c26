#include "sampler.h"

#include <math.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

uint64_t ms_prng_next(uint64_t *state) {
  uint64_t x = *state;
  if (!x) x = 0x9E3779B97F4A7C15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

uint64_t ms_prng_seed(const void *salt) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t s = (uint64_t)(uintptr_t)salt ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
               ((uint64_t)syscall(SYS_gettid) << 40);
  /* splitmix64 finaliser: spread the bits of nearby seeds */
  s += 0x9E3779B97F4A7C15ull;
  s = (s ^ (s >> 30)) * 0xBF58476D1CE4E5B9ull;
  s = (s ^ (s >> 27)) * 0x94D049BB133111EBull;
  s ^= s >> 31;
  return s ? s : 1;
}

int64_t ms_sample_next_countdown(uint64_t *prng, uint64_t mean) {
  if (mean <= 1) return -1;
  /* u in (0, 1]: 53 random bits, never 0, so log(u) is finite. */
  double u = (double)((ms_prng_next(prng) >> 11) + 1) * (1.0 / 9007199254740992.0);
  double d = -log(u) * (double)mean;
  if (d > 4.0e18) d = 4.0e18;
  return (int64_t)d;
}

ms_sample_weight ms_sample_weigh(uint64_t size, uint64_t mean) {
  ms_sample_weight w;
  if (mean <= 1 || size == 0) {
    w.bytes = size;
    w.count = 1;
    return w;
  }
  /* p = 1 - exp(-s/R), computed with expm1 to stay accurate when s << R. */
  double p = -expm1(-(double)size / (double)mean);
  double inv = p > 0 ? 1.0 / p : (double)mean;
  double b = (double)size * inv;
  w.bytes = b < 1.8e19 ? (uint64_t)(b + 0.5) : UINT64_MAX / 2;
  w.count = inv < 4.0e9 ? (uint32_t)(inv + 0.5) : UINT32_MAX;
  return w;
}
