/* Scenario of heaptrack tests/manual/libc_leaks.c (KDE/heaptrack, LGPL-2.1-or-later): gmtime_r
 * and strftime make glibc allocate time-zone data it keeps until exit. Clean (libc's own,
 * reachable). */
#include <stdio.h>
#include <time.h>

int main(void) {
  time_t t = time(0);
  struct tm tmbuf;
  gmtime_r(&t, &tmbuf);
  char buf[16];
  strftime(buf, sizeof buf, "%d", &tmbuf);
  return buf[0] == 0;
}
