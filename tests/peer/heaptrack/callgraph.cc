// Scenario of heaptrack tests/manual/callgraph.cpp (KDE/heaptrack, LGPL-2.1-or-later): small
// arrays leaked from four functions along a recursive call graph; bar's 123-byte arrays are the
// biggest. Leak; allocated first (largest block) in bar.
__attribute__((noinline)) void asdf() { new char[1]; }
__attribute__((noinline)) void foo() {
  asdf();
  new char[12];
}
__attribute__((noinline)) void bar() {
  asdf();
  foo();
  new char[123];
}
__attribute__((noinline)) void recurse(int i) {
  new char[2];
  bar();
  if (i) recurse(--i);
}

int main() {
  asdf();
  foo();
  bar();
  recurse(5);
  return 0;
}
