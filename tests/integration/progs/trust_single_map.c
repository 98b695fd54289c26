/* A single-threaded host with a capped file mapping (issue 22, item 3; Chromium's zygote maps
 * resources.pak, then checks it is single-threaded before it unshares). Run with
 * MEMSHIM_MMAP_RESIDENT_MAX=16M over a file of at least 64 MiB:
 *   1. map the file shared read-only, read its first 2 MiB, allocate 8 MiB in 1 MiB blocks
 *      (allocation slow paths that ask whether the cap needs its thread): one task, and a raw
 *      unshare(CLONE_NEWUSER) succeeds when asked (argv[2] = "unshare");
 *   2. read the whole file, allocating 1 MiB per 4 MiB read: the cap now has work, so its
 *      thread comes, and the process's RssFile goes back under what it was before the map plus
 *      the cap (mincore would not tell: it reports the page cache, which keeps the pages).
 * Prints "ok: ..." lines and exits 0, or names the failure and exits 1.
 * Usage: trust_single_map FILE [unshare] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "trust_util.h"

#define CAP (16u << 20)

/* RssFile of /proc/self/status, in bytes. */
static size_t rss_file(void) {
  long kb = trust_status_field("RssFile");
  if (kb < 0) trust_fail("no RssFile in /proc/self/status");
  return (size_t)kb << 10;
}

static volatile unsigned long sink;
static void read_range(const unsigned char *map, size_t from, size_t to) {
  unsigned long sum = 0;
  for (size_t i = from; i < to; i += 4096) sum += map[i];
  sink += sum;
}

int main(int argc, char **argv) {
  if (argc < 2) trust_fail("usage: trust_single_map FILE [unshare]");
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) trust_fail("open %s: %s", argv[1], strerror(errno));
  size_t len = (size_t)st.st_size;
  if (len < 4 * (size_t)CAP) trust_fail("%s: %zu bytes, want at least %u", argv[1], len, 4 * CAP);
  size_t base = rss_file();
  unsigned char *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) trust_fail("mmap: %s", strerror(errno));

  /* 1. little of the mapping resident: nothing for the cap to do */
  read_range(map, 0, 2u << 20);
  for (int i = 0; i < 8; i++) free(trust_alloc(1u << 20));
  int tasks = trust_threads();
  if (tasks != 1) trust_fail("2 MiB of the mapping resident: %d tasks, want 1 (no thread of ours)", tasks);
  if (argc > 2 && strcmp(argv[2], "unshare") == 0) {
    if (syscall(SYS_unshare, CLONE_NEWUSER) != 0) trust_fail("raw unshare(CLONE_NEWUSER): %s", strerror(errno));
    printf("ok: raw unshare(CLONE_NEWUSER) succeeded\n");
  }
  printf("ok: a capped mapping with 2 MiB resident, 8 MiB allocated: one task\n");

  /* 2. the whole file read: the cap has work, its thread comes and holds the cap */
  for (size_t off = 0; off < len; off += 4u << 20) {
    read_range(map, off, off + (4u << 20) < len ? off + (4u << 20) : len);
    free(trust_alloc(1u << 20));
  }
  size_t read_resident = rss_file() - base;
  trust_wait_threads(2, 1u << 20, 30000, "the whole mapping read: the cap's thread");
  uint64_t deadline = trust_now_ms() + 30000;
  size_t now;
  while ((now = rss_file()) > base + CAP) {
    if (trust_now_ms() > deadline)
      trust_fail("RssFile still %zu KiB over its start after 30 s (cap %u KiB)", (now - base) >> 10, CAP >> 10);
    free(trust_alloc(1u << 20));
    trust_sleep_ms(10);
  }
  printf("ok: the whole mapping read (RssFile +%zu KiB after the read): 2 tasks, +%zu KiB now (cap %u KiB)\n",
         read_resident >> 10, (now - base) >> 10, CAP >> 10);
  return 0;
}
