#include "proc.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static long ms_read_small(const char *path, char *buf, unsigned long len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

/* Field `field` (0-based) of /proc/self/statm, in bytes. */
static uint64_t ms_statm_bytes(int field) {
  char buf[128];
  if (ms_read_small("/proc/self/statm", buf, sizeof buf) <= 0) return 0;
  const char *p = buf;
  for (int f = 0; f < field; f++) {
    while (*p && *p != ' ') p++;
    while (*p == ' ') p++;
  }
  uint64_t pages = 0;
  while (*p >= '0' && *p <= '9') pages = pages * 10 + (uint64_t)(*p++ - '0');
  return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t ms_proc_rss(void) { return ms_statm_bytes(1); }
uint64_t ms_proc_rss_shared(void) { return ms_statm_bytes(2); }

int ms_proc_threads(void) {
  char buf[1024];
  if (ms_read_small("/proc/self/stat", buf, sizeof buf) <= 0) return 0;
  const char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (!p) return 0;
  p++;
  for (int field = 2; field < 20 && *p; p++)
    if (*p == ' ') field++;
  int n = 0;
  while (*p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
  return n;
}

void ms_proc_comm(char *buf, unsigned long len) {
  buf[0] = 0;
  long n = ms_read_small("/proc/self/comm", buf, len);
  if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
}
