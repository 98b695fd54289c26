// Scenario of heaptrack tests/manual/test_aggregation.cpp (KDE/heaptrack, LGPL-2.1-or-later):
// arrays of 1..5 bytes leaked from five functions, some through two call paths. The largest single
// stack is foobar's 5 bytes, the largest call site asdf's 2 x 3 bytes: either is the right first
// name. Leak.
__attribute__((noinline)) void foo() { new char[1]; }
__attribute__((noinline)) void bar() {
  foo();
  new char[2];
}
__attribute__((noinline)) void asdf() {
  bar();
  new char[3];
}
__attribute__((noinline)) void foobar() {
  asdf();
  new char[5];
}

int main() {
  asdf();
  new char[4];
  foobar();
  return 0;
}
