/* Calls open() through a wrapper (libopenwrap.so, or this program's own when built with
 * OPENWRAP_IN_EXE) that looks up the next open with dlsym(RTLD_NEXT, "open"). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#ifdef OPENWRAP_IN_EXE
#include "openwrap.c"
#else
extern int openwrap_calls, openwrap_max_depth;
#endif

int main(void) {
  int fd = open("/dev/null", O_RDONLY);
  printf("open fd_ok=%d calls=%d max_depth=%d\n", fd >= 0, openwrap_calls, openwrap_max_depth);
  if (fd >= 0) close(fd);
  return fd >= 0 && openwrap_max_depth == 1 ? 0 : 1;
}
