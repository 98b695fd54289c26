#include "out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ms_out_init(ms_out *o, int fd) {
  o->fd = fd;
  o->err = 0;
  o->len = 0;
}

int ms_write_full(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void ms_out_drain(ms_out *o) {
  if (o->len && !o->err && ms_write_full(o->fd, o->buf, o->len) != 0) o->err = errno;
  o->len = 0;
}

void ms_out_write(ms_out *o, const char *s, size_t n) {
  if (n <= sizeof o->buf - o->len) { /* the common case: it fits */
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    return;
  }
  while (n) {
    if (o->len == sizeof o->buf) ms_out_drain(o);
    size_t k = sizeof o->buf - o->len;
    if (k > n) k = n;
    memcpy(o->buf + o->len, s, k);
    o->len += k;
    s += k;
    n -= k;
  }
}

void ms_out_str(ms_out *o, const char *s) { ms_out_write(o, s, strlen(s)); }

void ms_out_printf(ms_out *o, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  ms_out_write(o, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int ms_out_flush(ms_out *o) {
  ms_out_drain(o);
  return o->err;
}
