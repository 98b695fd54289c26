// Scenario of heaptrack tests/manual/test.cpp (KDE/heaptrack, LGPL-2.1-or-later): every
// allocation API once (freed), then `new int` leaked in asdf() 14 times through different call
// paths; a static object holds one more block until exit (reachable). Changed: no config.h, cfree
// is not used. Leak; allocated in asdf.
#include <cstdio>
#include <cstdlib>

struct Holder {
  Holder() : i(new int) {}
  ~Holder() { delete i; }
  int *i;
};

__attribute__((noinline)) void asdf() {
  int *i = new int;
  std::printf("i in asdf: %p\n", (void *)i);
}
__attribute__((noinline)) void bar() { asdf(); }
__attribute__((noinline)) void laaa() { bar(); }
__attribute__((noinline)) void split() {
  Holder h;
  asdf();
  bar();
  laaa();
}

static Holder holder;

int main() {
  Holder *f = new Holder;
  delete f;
  char *c = new char[1000];
  std::printf("new char[]: %p\n", (void *)c);
  delete[] c;
  void *buf = std::malloc(100);
  buf = std::realloc(buf, 200);
  std::free(buf);
  buf = std::calloc(5, 5);
  std::free(buf);
  buf = aligned_alloc(16, 160);
  std::free(buf);
  buf = valloc(32);
  std::free(buf);
  if (posix_memalign(&buf, 16, 64) == 0) std::free(buf);
  for (int i = 0; i < 10; ++i) laaa();
  laaa();
  split();
  return 0;
}
