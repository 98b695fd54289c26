// Own clean program: high allocation churn with a constant live set; a map of 4096 strings is
// overwritten with new strings of varying sizes, and temporaries come and go. Argument: seconds to
// run (default 2.5). Clean.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.5;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::map<int, std::string> live;
  long n = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 2000; i++, n++) {
      live[(int)(n % 4096)] = std::string(64 + (size_t)(n % 17) * 48, (char)('a' + n % 26));
      std::vector<int> tmp((size_t)(n % 300) + 1, (int)n);
      if (tmp.back() != (int)n) return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::printf("ops %ld, live %zu\n", n, live.size());
  return 0;
}
