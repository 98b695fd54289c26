/* /proc/self/maps as sorted ranges of readable memory, read with raw system calls into raw
 * memory: for code that must read memory it did not allocate (the reachability scan). */
#include "maps.h"

#include <string.h>

#include "sys.h"

uintptr_t ms_parse_hex(const char **s) {
  uintptr_t v = 0;
  for (;; (*s)++) {
    char c = **s;
    unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
    if (d == 16) return v;
    v = v * 16 + d;
  }
}

/* Reads the whole file into raw memory (grown by doubling); 0-terminated. */
static char *ms_read_all(const char *path, ms_raw_buf *b, size_t *len) {
  size_t cap = 1 << 16;
  for (;;) {
    if (!ms_raw_buf_get(b, cap)) return NULL;
    int fd = ms_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
      ms_raw_buf_put(b);
      return NULL;
    }
    size_t n = 0;
    ssize_t r;
    while (n < b->bytes - 1 && (r = ms_sys_read(fd, (char *)b->p + n, b->bytes - 1 - n)) > 0) n += (size_t)r;
    ms_sys_close(fd);
    if (n < b->bytes - 1) {
      ((char *)b->p)[n] = 0;
      *len = n;
      return b->p;
    }
    ms_raw_buf_put(b);
    cap *= 2;
  }
}

int ms_maps_read(ms_maps *m) {
  ms_raw_buf text;
  size_t len;
  char *s = ms_read_all("/proc/self/maps", &text, &len);
  if (!s) return -1;
  size_t lines = 1;
  for (size_t i = 0; i < len; i++) lines += s[i] == '\n';
  m->v = ms_raw_buf_get(&m->buf, lines * sizeof *m->v);
  m->n = 0;
  if (!m->v) {
    ms_raw_buf_put(&text);
    return -1;
  }
  for (const char *p = s; *p;) {
    uintptr_t lo = ms_parse_hex(&p);
    if (*p == '-') p++;
    uintptr_t hi = ms_parse_hex(&p);
    if (*p == ' ') p++;
    /* readable, and not [vvar] & co. (kernel pages some kernels refuse to read) */
    const char *nl = strchr(p, '\n');
    const char *name = nl ? nl : p + strlen(p);
    while (name > p && name[-1] != ' ') name--;
    if (p[0] == 'r' && hi > lo && strncmp(name, "[vvar", 5) != 0 && strncmp(name, "[vsys", 5) != 0)
      m->v[m->n++] = (ms_range){lo, hi};
    p = nl ? nl + 1 : p + strlen(p);
  }
  ms_raw_buf_put(&text);
  return 0;
}

const ms_range *ms_maps_find(const ms_maps *m, uintptr_t addr) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->v[mid].hi <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo < m->n && m->v[lo].lo <= addr ? &m->v[lo] : NULL;
}

uintptr_t ms_maps_readable_end(const ms_maps *m, uintptr_t lo, uintptr_t hi) {
  const ms_range *r = ms_maps_find(m, lo);
  if (!r) return lo;
  uintptr_t end = r->hi;
  while (end < hi && r + 1 < m->v + m->n && r[1].lo == end) end = (++r)->hi;
  return end < hi ? end : hi;
}


void ms_maps_free(ms_maps *m) { ms_raw_buf_put(&m->buf); }
