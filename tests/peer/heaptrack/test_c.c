/* Scenario of heaptrack tests/manual/test.c (KDE/heaptrack, LGPL-2.1-or-later): 10000 blocks of
 * random size below 1000 bytes, one every 100 us, none freed; one early block is freed at the
 * end. Changed: benchutil's escape() is an empty asm barrier. Leak (growing through the whole
 * run); allocated in main. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void escape(void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }

int main(void) {
  srand(0); /* deterministic */
  void *p = malloc(1);
  for (int i = 0; i < 10000; i++) {
    void *l = malloc((size_t)(rand() % 1000));
    escape(l);
    usleep(100);
  }
  printf("malloc: %p\n", p);
  free(p);
  return 0;
}
