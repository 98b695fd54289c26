/* Scenario of heaptrack tests/manual/peak.c (KDE/heaptrack, LGPL-2.1-or-later): allocations
 * through a helper, all freed. Clean. */
#include <stdlib.h>

__attribute__((noinline)) char *allocate_something(int size) { return malloc((size_t)size); }
__attribute__((noinline)) char *foo(void) { return allocate_something(100); }
__attribute__((noinline)) char *bar(void) { return allocate_something(25); }

int main(void) {
  char *f1 = foo();
  char *b2 = bar();
  free(f1);
  char *b3 = bar();
  char *b4 = bar();
  free(b2);
  free(b3);
  free(b4);
  char *f2 = foo();
  free(f2);
  return 0;
}
