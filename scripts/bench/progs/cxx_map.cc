// C++ new/delete heavy: a std::map<std::string, std::vector<int>> with string keys built
// and erased in a sliding window, plus std::string concatenation (libstdc++ containers
// allocate through operator new/delete, sized delete included).
// Usage: cxx_map [steps]
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  long steps = argc > 1 ? std::atol(argv[1]) : 400000;
  std::map<std::string, std::vector<int>> m;
  unsigned long x = 12345, check = 0;
  for (long i = 0; i < steps; i++) {
    x = x * 6364136223846793005ul + 1442695040888963407ul;
    std::string key = "key-" + std::to_string(x % 50000) + "-" + std::string(x >> 60, 'z');
    auto &v = m[key];
    v.push_back((int)i);
    if (v.size() > 8) v.erase(v.begin());
    if ((x >> 33) % 3 == 0) m.erase(m.begin());
    std::string s;
    for (int k = 0; k < 4; k++) s += key;
    check += s.size();
  }
  std::printf("cxx_map %ld %zu %lu\n", steps, m.size(), check);
  return 0;
}
