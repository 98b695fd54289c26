/* A buffered writer on a file descriptor, for the report writers: a fixed buffer and write(2),
 * no stdio, no heap. A failed write is remembered and reported by ms_out_close. */
#ifndef MEMSHIM_OUT_H
#define MEMSHIM_OUT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  int fd;
  int err; /* errno of the first failed write, 0 if none */
  size_t len;
  char buf[16384];
} ms_out;

void ms_out_init(ms_out *o, int fd);
void ms_out_write(ms_out *o, const char *s, size_t n);
void ms_out_str(ms_out *o, const char *s);
void ms_out_printf(ms_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flush; returns 0 or the errno of the first failure. Does not close fd. */
int ms_out_flush(ms_out *o);
/* write(2) all n bytes, retrying after EINTR and short writes; 0, or -1 with errno set. */
int ms_write_full(int fd, const char *p, size_t n);

#endif
