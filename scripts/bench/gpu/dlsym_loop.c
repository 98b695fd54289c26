/* dlsym_loop N NAME: N lookups of NAME in the global scope (the cost memshim's dlsym entry point
 * adds to every lookup of a process). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  const char *name = argc > 2 ? argv[2] : "strlen";
  long found = 0;
  for (long i = 0; i < n; i++) found += dlsym(RTLD_DEFAULT, name) != NULL;
  printf("%ld\n", found);
  return 0;
}
