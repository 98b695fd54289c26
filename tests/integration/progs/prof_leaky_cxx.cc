// C++: leaks in a named member function through operator new among clean churn (std::vector,
// std::string, maps). Args: seconds (default 2). Prints "leaked N".
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

struct Node { char payload[16000]; Node *next; };

class SessionRegistry {
 public:
  // The leak: nodes are linked in and never released.
  __attribute__((noinline)) void register_session(int i) {
    Node *n = new Node;
    n->payload[0] = (char)i;
    n->next = head_;
    head_ = n;
    count_++;
  }
  size_t count() const { return count_; }
 private:
  Node *head_ = nullptr;
  size_t count_ = 0;
};

__attribute__((noinline)) static size_t churn(int seed) {
  std::map<int, std::string> m;
  std::vector<std::vector<int>> vs;
  for (int i = 0; i < 50; i++) {
    m[i * seed % 97] = std::string((size_t)(16 + (i * 37) % 500), 'x');
    vs.emplace_back((size_t)(1 + (i * 13) % 300), i);
  }
  return m.size() + vs.size();
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 2.0;
  SessionRegistry reg;
  auto t0 = std::chrono::steady_clock::now();
  size_t sink = 0;
  int i = 0;
  double t;
  // the leak follows the clock (200 sessions a second), not the loop: after a stretch without
  // CPU it catches up, so busy cores do not make the leak look like a cache that stopped filling
  while ((t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) < secs) {
    sink += churn(++i);
    while ((double)reg.count() < t * 200.0) reg.register_session(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::printf("leaked %zu (%zu)\n", reg.count() * sizeof(Node), sink % 2);
  return 0;
}
