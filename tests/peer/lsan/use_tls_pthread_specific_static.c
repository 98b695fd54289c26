/* Scenario of LLVM lsan TestCases/Linux/use_tls_pthread_specific_static.cpp: a pthread key's
 * value (stored in the thread descriptor) holds the block at exit. Clean (reachable). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  pthread_key_t key;
  if (pthread_key_create(&key, NULL)) return 2;
  void *p = malloc(1337);
  if (pthread_setspecific(key, p)) return 2;
  fprintf(stderr, "alloc: %p\n", p);
  return 0;
}
