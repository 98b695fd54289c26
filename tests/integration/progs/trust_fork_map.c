/* fork while a file mapping of 8 MiB is held (MAP_SHARED, read, resident), under whatever mode
 * the environment sets. With a report prefix (MEMSHIM_REPORT=json, MEMSHIM_REPORT_INTERVAL set,
 * MEMSHIM_REPORT_PATH=PREFIX.%p), the program first waits until its interval report counts at
 * least one profiler snapshot: the state that used to deadlock the child (its atfork handler
 * freed the snapshots through munmap while the registry lock was still held from prepare).
 *   trust_fork_map DATAFILE FORKS [REPORT_PREFIX]
 * Each child reads the mapping, allocates, unmaps it and leaves through exit(); each must be
 * reaped within 90 s with status 0 (a deadlock, not a busy machine). A second host thread allocates
 * throughout. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>

#include "trust_util.h"

#define MAP_BYTES (8u << 20)
static volatile int stop;

static void *churner(void *arg) {
  (void)arg;
  while (!stop) free(trust_alloc(256u << 10));
  return NULL;
}

static unsigned long touch(const unsigned char *m) {
  unsigned long sum = 0;
  for (size_t i = 0; i < MAP_BYTES; i += 4096) sum += m[i];
  return sum;
}

static long snapshots_in(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *p = strstr(buf, "\"snapshots\":");
  return p ? atol(p + strlen("\"snapshots\":")) : -1;
}

int main(int argc, char **argv) {
  if (argc < 3) trust_fail("usage: trust_fork_map DATAFILE FORKS [REPORT_PREFIX]");
  int forks = atoi(argv[2]);
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, MAP_BYTES) != 0) trust_fail("create %s: %s", argv[1], strerror(errno));
  unsigned char *m = mmap(NULL, MAP_BYTES, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) trust_fail("mmap: %s", strerror(errno));
  unsigned long sum = touch(m);
  pthread_t t;
  pthread_create(&t, NULL, churner, NULL);

  if (argc > 3) {
    char path[4096];
    snprintf(path, sizeof path, "%s.%d.json", argv[3], (int)getpid());
    uint64_t deadline = trust_now_ms() + 90000;
    long snaps;
    while ((snaps = snapshots_in(path)) < 1) {
      if (trust_now_ms() > deadline) trust_fail("no interval report with a snapshot in %s within 90 s", path);
      trust_sleep_ms(20);
    }
    printf("ok: %ld profiler snapshots taken before the first fork\n", snaps);
    fflush(stdout); /* not copied into the children's buffers */
  }

  for (int i = 0; i < forks; i++) {
    pid_t pid = fork();
    if (pid < 0) trust_fail("fork: %s", strerror(errno));
    if (pid == 0) {
      if (touch(m) != sum) _exit(3);
      free(trust_alloc(4u << 20));
      if (munmap(m, MAP_BYTES) != 0) _exit(4);
      exit(0);
    }
    char what[32];
    snprintf(what, sizeof what, "fork #%d", i + 1);
    int rc = trust_reap(pid, 90000, what);
    if (rc != 0) trust_fail("%s: child exit status %d", what, rc);
  }
  stop = 1;
  pthread_join(t, NULL);
  printf("ok: %d forks while an 8 MiB file mapping was held (tracked %llu bytes): children exited 0\n", forks,
         (unsigned long long)trust_stat("mmap.tracked"));
  return 0;
}
