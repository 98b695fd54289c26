/* Profiler memory: hold 10^6 live allocations of 64 bytes, then print our max RSS in KiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  void **v = malloc((size_t)n * sizeof *v);
  for (long i = 0; i < n; i++) {
    v[i] = malloc(64);
    memset(v[i], 1, 8);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%ld\n", ru.ru_maxrss);
  for (long i = 0; i < n; i++) free(v[i]);
  free(v);
  return 0;
}
