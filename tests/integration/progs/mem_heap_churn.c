/* Fill the heap with small blocks, free all but a pin at the top (so no allocator trims the top
 * on its own), then wait for memshim's policy to give the freed pages back. With the glibc
 * backend only malloc_trim can return pages in the middle of the heap; with jemalloc, nothing
 * returns dirty pages within seconds unless it is asked to (decay is 10 s and needs activity).
 * Prints key=value lines; exit 0 when RSS fell by at least half of what was freed. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rss(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t stat_of(const char *name) {
  int (*stat)(const char *, uint64_t *) = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "memshim_stat");
  uint64_t v = 0;
  if (stat) stat(name, &v);
  return v;
}

int main(int argc, char **argv) {
  size_t total = (argc > 1 ? strtoull(argv[1], NULL, 10) : 200) << 20, block = 1000;
  size_t n = total / block;
  char **blocks = malloc(n * sizeof *blocks);
  for (size_t i = 0; i < n; i++) {
    blocks[i] = malloc(block);
    memset(blocks[i], (int)i, block);
  }
  char *pin = malloc(block);
  memset(pin, 1, block);
  uint64_t full = rss();
  for (size_t i = 0; i < n; i++) free(blocks[i]);
  uint64_t freed = rss(), after = freed;
  for (int i = 0; i < 60 && after + total / 2 > full; i++) {
    usleep(50000);
    after = rss();
  }
  /* A purge is counted when it ends; RSS falls while it runs. */
  for (int i = 0; i < 40 && after + total / 2 <= full && stat_of("purge.count") == 0; i++) usleep(50000);
  printf("rss_full=%llu\nrss_freed=%llu\nrss_after=%llu\npurges=%llu\npurged_bytes=%llu\n",
         (unsigned long long)full, (unsigned long long)freed, (unsigned long long)after,
         (unsigned long long)stat_of("purge.count"), (unsigned long long)stat_of("purge.bytes"));
  free(pin);
  free(blocks);
  return after + total / 2 <= full ? 0 : 1;
}
