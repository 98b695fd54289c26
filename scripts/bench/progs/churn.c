/* Small-object churn: one thread, a window of 4096 live blocks of 8..512 bytes, each step
 * frees a random block and allocates a new one (the pattern of interpreters and parsers).
 * Usage: churn [steps] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 5000000;
  enum { WINDOW = 4096 };
  static void *slot[WINDOW];
  uint64_t x = 88172645463325252ull, sum = 0;
  for (long i = 0; i < steps; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    unsigned s = (unsigned)(x % WINDOW);
    free(slot[s]);
    size_t n = 8 + (x >> 20) % 505;
    char *p = malloc(n);
    p[0] = (char)i;
    sum += (unsigned char)p[0];
    slot[s] = p;
  }
  for (unsigned s = 0; s < WINDOW; s++) free(slot[s]);
  printf("churn %ld %llu\n", steps, (unsigned long long)sum);
  return 0;
}
