// Scenario of heaptrack tests/manual/threaded.cpp (KDE/heaptrack, LGPL-2.1-or-later): ROUNDS
// rounds of 4 async tasks allocating 1000 ints each and 4 more tasks freeing them, all on their
// own threads. Argument: ROUNDS (default 100, as upstream). Clean. Also the program of
// tests/integration/prof_threads_sigpipe.sh.
#include <cstdlib>
#include <future>
#include <thread>
#include <vector>

static const int kAllocsPerThread = 1000;

static int **alloc_block() {
  int **block = new int *[kAllocsPerThread];
  for (int i = 0; i < kAllocsPerThread; ++i) block[i] = new int;
  return block;
}

static void dealloc_block(std::future<int **> &&f) {
  int **block = f.get();
  for (int i = 0; i < kAllocsPerThread; ++i) delete block[i];
  delete[] block;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 100;
  std::vector<std::future<void>> futures;
  futures.reserve((size_t)rounds * 4);
  for (int i = 0; i < rounds; ++i) {
    auto f1 = std::async(std::launch::async, alloc_block);
    auto f2 = std::async(std::launch::async, alloc_block);
    auto f3 = std::async(std::launch::async, alloc_block);
    auto f4 = std::async(std::launch::async, alloc_block);
    futures.emplace_back(std::async(std::launch::async, dealloc_block, std::move(f1)));
    futures.emplace_back(std::async(std::launch::async, dealloc_block, std::move(f2)));
    futures.emplace_back(std::async(std::launch::async, dealloc_block, std::move(f3)));
    futures.emplace_back(std::async(std::launch::async, dealloc_block, std::move(f4)));
  }
  return 0;
}
