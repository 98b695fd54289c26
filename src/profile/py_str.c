/* Copying a CPython str as UTF-8 without asking the interpreter (PyUnicode_AsUTF8 may allocate
 * and caches its result inside the object). Compact strings only: names and file names of
 * code objects always are. */
#include "py_walk.h"

#include <string.h>

static size_t ms_utf8_put(char *o, uint32_t c) {
  if (c < 0x80) {
    o[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    o[0] = (char)(0xc0 | (c >> 6));
    o[1] = (char)(0x80 | (c & 0x3f));
    return 2;
  }
  if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) c = 0xfffd; /* a lone surrogate (str may hold one) */
  if (c < 0x10000) {
    o[0] = (char)(0xe0 | (c >> 12));
    o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[2] = (char)(0x80 | (c & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | (c >> 18));
  o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
  o[3] = (char)(0x80 | (c & 0x3f));
  return 4;
}

int ms_py_str_utf8(const ms_py_layout *L, uintptr_t str_type, const void *obj, char *buf, size_t cap) {
  const char *o = obj;
  if (!o || cap < 8 || *(const uintptr_t *)(o + MS_PY_OB_TYPE) != str_type) return -1;
  int64_t len = *(const int64_t *)(o + MS_PY_STR_LENGTH);
  uint32_t state = *(const uint32_t *)(o + MS_PY_STR_STATE);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (len < 0 || !compact) return -1;
  size_t n = 0;
  if (ascii) { /* the fast path: the bytes as they are */
    n = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
    memcpy(buf, o + L->str_ascii_size, n);
    buf[n] = 0;
    return (int)n;
  }
  if (kind != 1 && kind != 2 && kind != 4) return -1;
  const unsigned char *data = (const unsigned char *)o + L->str_compact_size;
  for (int64_t i = 0; i < len; i++) {
    uint32_t c = kind == 1 ? data[i] : kind == 2 ? ((const uint16_t *)data)[i] : ((const uint32_t *)data)[i];
    if (n + 4 > cap - 1) break; /* cut at a character boundary */
    n += ms_utf8_put(buf + n, c);
  }
  buf[n] = 0;
  return (int)n;
}
