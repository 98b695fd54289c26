/* A daemon's start-up under MEMSHIM_LOG=LOGFILE, MEMSHIM_VERBOSE=1: memshim logs a line (a purge
 * by memshim_trim) on a clean descriptor table, the daemon closes descriptors 3..1023 (memshim's log descriptor with them),
 * opens its database (which gets the lowest free descriptor: the one the log had), writes its
 * record, and memshim logs again. The database must hold the record only.
 *   trust_daemon LOGFILE DBFILE
 * Prints the log's descriptor before the close and the database's after it (the hazard needs
 * them equal). Then it allocates from ever deeper stacks (under profiling each sample's
 * backtrace reads new stack pages, which libunwind validates through its pipe) and writes a
 * second record: the database must hold exactly the two records. */
#include <fcntl.h>
#include <limits.h>

#include "trust_util.h"

static const char record[] = "DATABASE RECORD 1\n", record2[] = "DATABASE RECORD 2\n";

/* Allocate on each of `depth` nested frames, each a few hundred bytes further down the stack. */
static __attribute__((noinline)) size_t deep(int depth) {
  volatile char pad[512];
  pad[0] = (char)depth;
  char *p = malloc(64 + (size_t)depth);
  if (!p) trust_fail("malloc");
  p[0] = pad[0];
  size_t r = depth > 0 ? deep(depth - 1) : 0;
  r += (size_t)p[0];
  free(p);
  return r;
}

/* The descriptor open on `path`, or -1. */
static int fd_of(const char *path) {
  char want[PATH_MAX], link[64], got[PATH_MAX];
  if (!realpath(path, want)) return -1;
  for (int fd = 0; fd < 1024; fd++) {
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, got, sizeof got - 1);
    if (n < 0) continue;
    got[n] = 0;
    if (!strcmp(got, want)) return fd;
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 3) trust_fail("usage: trust_daemon LOGFILE DBFILE");
  uint64_t (*trim)(void) = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "memshim_trim");
  if (!trim) trust_fail("libmemshim.so is not preloaded");
  for (int fd = 3; fd < 1024; fd++) close(fd); /* whatever the caller left open (ctest's pipes) */
  trim(); /* logs "purge (memshim_trim): ..." at MEMSHIM_VERBOSE=1: the log file opens now */
  int logfd = fd_of(argv[1]);
  if (logfd < 0) trust_fail("memshim's log %s is not open after the first line", argv[1]);
  for (int fd = 3; fd < 1024; fd++) close(fd);
  int db = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (db < 0) trust_fail("open database: %s", strerror(errno));
  printf("log descriptor %d before the close, database descriptor %d after it\n", logfd, db);
  if (write(db, record, sizeof record - 1) != (ssize_t)(sizeof record - 1)) trust_fail("write database");
  trim(); /* a second line: must go to the log file, never to the database */
  for (int i = 0; i < 20; i++) deep(2000); /* ~1 MiB of fresh stack, allocating all the way */
  if (write(db, record2, sizeof record2 - 1) != (ssize_t)(sizeof record2 - 1))
    trust_fail("second write to the database: %s", strerror(errno));
  close(db);
  return 0;
}
