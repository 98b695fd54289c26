// C++: leaks through the standard library: each step keeps a std::vector<char> of 16000 bytes
// (its buffer from std::allocator / operator new) in a list that only grows, pushed by a helper,
// so the allocating frames are libstdc++'s and operator new, and the first frame of the user's
// is remember_buffers. Args: seconds (default 3). Prints "kept N".
// Built without optimisation (the pragma comes before the headers, so it applies to the library's
// templates too): at -O2 the std:: frames are inlined away and there would be nothing to skip.
#pragma GCC optimize("O0")
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

static std::vector<std::vector<char>> *kept;

__attribute__((noinline)) static void remember_buffers(int i) {
  kept->emplace_back(16000, (char)i); // the buffer: std::allocator<char> -> operator new
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 3.0;
  kept = new std::vector<std::vector<char>>();
  kept->reserve(1 << 16); // the outer vector does not move: the leak is the inner buffers
  auto t0 = std::chrono::steady_clock::now();
  int i = 0;
  double t;
  // the leak follows the clock (300 buffers a second), not the loop: after a stretch without
  // CPU it catches up, so busy cores do not make the leak look like a cache that stopped filling
  while ((t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) < secs) {
    while ((double)kept->size() < t * 300.0) remember_buffers(++i);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::printf("kept %zu\n", kept->size() * 16000);
  return 0;
}
