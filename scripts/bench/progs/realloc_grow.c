/* realloc growth: buffers grown by small appends (string builders, dynamic arrays) up to a
 * limit between 256 bytes and 64 KiB, then shrunk to fit and freed; the sizes cross every
 * small and medium size class, so some reallocs stay in place and some move.
 * Usage: realloc_grow [rounds] */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 2000;
  enum { BUFS = 64 };
  unsigned long check = 0;
  for (long r = 0; r < rounds; r++) {
    char *buf[BUFS] = {0};
    size_t len[BUFS] = {0};
    size_t limit = 256u << (r % 9); /* 256 B .. 64 KiB */
    size_t step = 1 + limit / 64;
    for (int b = 0; b < BUFS; b++) {
      while (len[b] < limit) {
        size_t add = 1 + (size_t)(b * 131 + len[b]) % step;
        char *q = realloc(buf[b], len[b] + add);
        if (!q) abort();
        q[len[b]] = (char)b;
        q[len[b] + add - 1] = (char)add;
        buf[b] = q;
        len[b] += add;
      }
    }
    for (int b = 0; b < BUFS; b++) {
      char *q = realloc(buf[b], len[b] / 2 + 1);
      check += (unsigned char)q[0];
      free(q);
    }
  }
  printf("realloc_grow %ld %lu\n", rounds, check);
  return 0;
}
