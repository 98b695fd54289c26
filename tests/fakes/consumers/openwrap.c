/* Another interposer's open(): a library that defines open and forwards with dlsym(RTLD_NEXT, "open").
 * Loaded after libmemshim.so (the program's DT_NEEDED), its RTLD_NEXT must mean "after me": libc. If
 * memshim's dlsym made the lookup from its own frame, "after libmemshim.so" would be this very
 * function, and open would recurse. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static __thread int depth;
int openwrap_calls, openwrap_max_depth;

__attribute__((visibility("default"))) int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
  va_end(ap);
  if (++depth > openwrap_max_depth) openwrap_max_depth = depth;
  openwrap_calls++;
  if (depth > 3) {
    static const char msg[] = "openwrap: open() recursed: dlsym(RTLD_NEXT) resolved to the wrapper itself\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
  }
  int (*next)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
  int fd = next ? next(path, flags, mode) : -1;
  depth--;
  return fd;
}
