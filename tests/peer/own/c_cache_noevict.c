/* Own growth leak: a hash-table cache of responses keyed by request id; ids never repeat and
 * nothing is evicted, so cache_put() adds an entry per request forever. Argument: seconds to run
 * (default 2.5). Leak; cache_put. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct entry {
  struct entry *next;
  long key;
  char value[496];
};

static struct entry *buckets[4096];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void cache_put(long key) {
  struct entry *e = malloc(sizeof *e);
  e->key = key;
  snprintf(e->value, sizeof e->value, "response for %ld", key);
  e->next = buckets[key & 4095];
  buckets[key & 4095] = e;
}

static struct entry *cache_get(long key) {
  for (struct entry *e = buckets[key & 4095]; e; e = e->next)
    if (e->key == key) return e;
  return NULL;
}

int main(int argc, char **argv) {
  double end = now() + (argc > 1 ? atof(argv[1]) : 2.5);
  long n = 0;
  while (now() < end) {
    for (int i = 0; i < 8; i++, n++)
      if (!cache_get(n)) cache_put(n);
    usleep(1000);
  }
  printf("requests %ld\n", n);
  return 0;
}
