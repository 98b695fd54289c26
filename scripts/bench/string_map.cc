// Benchmark workload: C++ containers (std::map of std::string, vectors): operator new/delete.
// Arg: rounds (default 200).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  size_t total = 0;
  for (int r = 0; r < rounds; r++) {
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 2000; i++) {
      std::string k = "key-" + std::to_string(i * 7919 % 10007) + std::string((size_t)(i % 40), 'x');
      m[k].resize((size_t)(1 + i % 17), i);
    }
    total += m.size();
  }
  std::printf("%zu\n", total);
  return 0;
}
