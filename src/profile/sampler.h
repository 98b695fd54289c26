/* Byte-interval sampling, as jemalloc (lg_prof_sample) and tcmalloc do: the bytes between two
 * samples are exponentially distributed with mean R, so an allocation of s bytes is sampled
 * with probability p(s) = 1 - exp(-s/R), and weighting a sample by 1/p(s) makes every sum of
 * sampled bytes and counts an unbiased estimate. R = 1 is exact mode: every allocation. */
#ifndef MEMSHIM_SAMPLER_H
#define MEMSHIM_SAMPLER_H

#include <stdint.h>

/* xorshift64*: the per-thread generator (state must be non-zero; 0 is reseeded). */
uint64_t ms_prng_next(uint64_t *state);
/* Seed from the thread's address, the time and the tid. */
uint64_t ms_prng_seed(const void *salt);
/* Bytes until the next sample: an exponential draw with mean `mean` (>= 1), or -1 in exact
 * mode so that even zero-byte allocations reach the slow path. */
int64_t ms_sample_next_countdown(uint64_t *prng, uint64_t mean);

/* Weights of one sampled allocation of `size` bytes: bytes and count it stands for. */
typedef struct {
  uint64_t bytes;
  uint32_t count;
} ms_sample_weight;
ms_sample_weight ms_sample_weigh(uint64_t size, uint64_t mean);

#endif
