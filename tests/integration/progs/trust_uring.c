/* Shared mappings that are not files, under a file-mapping cap (MEMSHIM_MMAP_RESIDENT_MAX=4K or
 * MEMSHIM_RSS_SOFT_LIMIT set by the caller): an io_uring instance (raw io_uring_setup, its SQ/CQ
 * rings and SQE array mapped MAP_SHARED from the ring descriptor, 32768 entries so each mapping
 * passes the 1 MiB tracking floor) and a MAP_SHARED /dev/zero mapping, next to a 4 MiB regular
 * file mapped MAP_SHARED. Only the file may be tracked (mmap.tracked equals its size); after the
 * cap dropped the file's pages (mmap.dropped grows, twice) the ring must still carry NOPs and
 * their completions, and the /dev/zero pages keep what was written. Exit 77 when io_uring is not
 * available (seccomp, io_uring_disabled). */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "trust_util.h"

#define ENTRIES 32768u
#define FILE_BYTES (4u << 20)
#define ZERO_BYTES (4u << 20)

static struct {
  int fd;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  char *sq, *cq;
  size_t sq_len, cq_len, sqe_len;
} ring;

static void *map_ring(size_t len, off_t off) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, off);
  if (p == MAP_FAILED) trust_fail("mmap ring at 0x%llx: %s", (unsigned long long)off, strerror(errno));
  return p;
}

static void ring_setup(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  ring.fd = (int)syscall(__NR_io_uring_setup, ENTRIES, &p);
  if (ring.fd < 0) {
    printf("SKIP: io_uring_setup: %s\n", strerror(errno));
    exit(77);
  }
  ring.sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  ring.cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  ring.sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
  char *sq = ring.sq = map_ring(ring.sq_len, IORING_OFF_SQ_RING);
  char *cq = ring.cq = map_ring(ring.cq_len, IORING_OFF_CQ_RING);
  ring.sqes = map_ring(ring.sqe_len, IORING_OFF_SQES);
  ring.sq_head = (unsigned *)(sq + p.sq_off.head);
  ring.sq_tail = (unsigned *)(sq + p.sq_off.tail);
  ring.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  ring.sq_array = (unsigned *)(sq + p.sq_off.array);
  ring.cq_head = (unsigned *)(cq + p.cq_off.head);
  ring.cq_tail = (unsigned *)(cq + p.cq_off.tail);
  ring.cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  printf("io_uring: %u entries; SQ ring %zu, CQ ring %zu, SQEs %zu bytes mapped MAP_SHARED\n", p.sq_entries,
         ring.sq_len, ring.cq_len, ring.sqe_len);
}

/* Submit n NOPs (user_data base..base+n-1) and reap their completions. */
static void ring_nops(unsigned n, uint64_t base) {
  unsigned tail = *ring.sq_tail, mask = *ring.sq_mask;
  for (unsigned i = 0; i < n; i++) {
    unsigned idx = (tail + i) & mask;
    struct io_uring_sqe *sqe = &ring.sqes[idx];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_NOP;
    sqe->user_data = base + i;
    ring.sq_array[idx] = idx;
  }
  __atomic_store_n(ring.sq_tail, tail + n, __ATOMIC_RELEASE);
  long r = syscall(__NR_io_uring_enter, ring.fd, n, n, IORING_ENTER_GETEVENTS, NULL, 0);
  if (r != (long)n) trust_fail("io_uring_enter: %ld (%s)", r, strerror(errno));
  unsigned head = *ring.cq_head, seen = 0;
  uint64_t deadline = trust_now_ms() + 10000;
  while (seen < n) {
    unsigned ctail = __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE);
    for (; head != ctail; head++, seen++) {
      struct io_uring_cqe *c = &ring.cqes[head & *ring.cq_mask];
      if (c->res != 0 || c->user_data < base || c->user_data >= base + n)
        trust_fail("completion res %d user_data %llu (want %llu..%llu)", c->res, (unsigned long long)c->user_data,
                   (unsigned long long)base, (unsigned long long)(base + n - 1));
    }
    __atomic_store_n(ring.cq_head, head, __ATOMIC_RELEASE);
    if (seen < n && trust_now_ms() > deadline) trust_fail("%u of %u NOP completions after 10 s", seen, n);
  }
}

static unsigned long touch(const volatile unsigned char *m, size_t len) {
  unsigned long sum = 0;
  for (size_t i = 0; i < len; i += 4096) sum += m[i];
  return sum;
}

/* Wait until the cap dropped more than `after` bytes in total. */
static uint64_t wait_dropped(uint64_t after, const char *what) {
  uint64_t deadline = trust_now_ms() + 20000, d;
  while ((d = trust_stat("mmap.dropped")) <= after) {
    if (trust_now_ms() > deadline) trust_fail("%s: the cap dropped nothing within 20 s", what);
    free(trust_alloc(1u << 20)); /* activity */
    trust_sleep_ms(20);
  }
  return d;
}

int main(int argc, char **argv) {
  if (argc != 2) trust_fail("usage: trust_uring DATAFILE");
  /* 2 MiB live: enough for MEMSHIM_RSS_SOFT_LIMIT's heap job to keep a thread at a tiny limit */
  char *hold = trust_alloc(2u << 20);
  ring_setup();

  int zfd = open("/dev/zero", O_RDWR | O_CLOEXEC);
  unsigned char *z = mmap(NULL, ZERO_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, zfd, 0);
  if (z == MAP_FAILED) trust_fail("mmap /dev/zero: %s", strerror(errno));
  for (size_t i = 0; i < ZERO_BYTES; i++) z[i] = (unsigned char)(i * 7 + 1);

  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, FILE_BYTES) != 0) trust_fail("create %s: %s", argv[1], strerror(errno));
  unsigned char *f = mmap(NULL, FILE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
  if (f == MAP_FAILED) trust_fail("mmap file: %s", strerror(errno));
  touch(f, FILE_BYTES);

  uint64_t tracked = trust_stat("mmap.tracked");
  if (tracked != FILE_BYTES)
    trust_fail("mmap.tracked = %llu, want %u (the regular file only: never the ring nor /dev/zero)",
               (unsigned long long)tracked, FILE_BYTES);
  printf("ok: mmap.tracked = %llu: the regular file only\n", (unsigned long long)tracked);
  ring_nops(64, 0);

  uint64_t d1 = wait_dropped(0, "first drop");
  ring_nops(4096, 1000);
  touch(f, FILE_BYTES); /* resident again: the cap acts once more */
  uint64_t d2 = wait_dropped(d1, "second drop");
  touch((volatile unsigned char *)ring.sq, ring.sq_len); /* every ring page: a dropped one would SIGBUS */
  touch((volatile unsigned char *)ring.cq, ring.cq_len);
  touch((volatile unsigned char *)ring.sqes, ring.sqe_len);
  ring_nops(ENTRIES, 100000);
  for (size_t i = 0; i < ZERO_BYTES; i++)
    if (z[i] != (unsigned char)(i * 7 + 1)) trust_fail("/dev/zero MAP_SHARED page lost its data at %zu", i);
  tracked = trust_stat("mmap.tracked");
  if (tracked != FILE_BYTES) trust_fail("mmap.tracked = %llu after the drops", (unsigned long long)tracked);
  printf("ok: cap dropped %llu bytes of the file (two rounds); ring carried %u NOPs after them; /dev/zero data kept\n",
         (unsigned long long)d2, 64 + 4096 + ENTRIES);
  free(hold);
  return 0;
}
