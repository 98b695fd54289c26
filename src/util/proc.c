#include "proc.h"

#include "sys.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

long ms_read_small(const char *path, char *buf, unsigned long len) {
  int fd = ms_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  long n = ms_sys_read(fd, buf, len - 1);
  ms_sys_close(fd);
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

/* Fields 3 (state of the thread-group leader) and 20 (threads) of /proc/self/stat. */
static int ms_stat_threads(char *state) {
  char buf[1024];
  if (ms_read_small("/proc/self/stat", buf, sizeof buf) <= 0) return 0;
  const char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (!p || p[1] != ' ') return 0;
  *state = p[2];
  p++;
  for (int field = 2; field < 20 && *p; p++)
    if (*p == ' ') field++;
  int n = 0;
  while (*p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
  return n;
}

int ms_proc_threads(void) {
  char state;
  return ms_stat_threads(&state);
}

int ms_proc_live_threads(void) {
  char state = 0;
  int n = ms_stat_threads(&state);
  return state == 'Z' && n > 0 ? n - 1 : n;
}

void ms_proc_comm(char *buf, unsigned long len) {
  buf[0] = 0;
  long n = ms_read_small("/proc/self/comm", buf, len);
  if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
}

uint64_t ms_proc_page_faults(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}
