// Own growth leak: a global std::vector keeps a heap-allocated event record per request and is
// never trimmed; record_event() allocates them. Argument: seconds to run (default 2.5). Leak;
// record_event.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

struct Event {
  long id;
  char payload[248];
};

static std::vector<Event *> g_history;

__attribute__((noinline)) void record_event(long id) {
  Event *e = new Event;
  e->id = id;
  std::memset(e->payload, (int)(id & 0x7f), sizeof e->payload);
  g_history.push_back(e);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.5;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long n = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 16; i++) record_event(n++);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::printf("events %ld\n", n);
  return 0;
}
