/* Path templates (path_template.h). */
#include "path_template.h"

#include <stdio.h>
#include <string.h>

#include "options.h"

/* Append len bytes of s to buf at *n (the terminator kept); -1 when it does not fit. */
static int ms_put(char *buf, size_t cap, size_t *n, const char *s, size_t len) {
  if (*n + len + 1 > cap) return -1;
  memcpy(buf + *n, s, len);
  *n += len;
  buf[*n] = 0;
  return 0;
}

int ms_path_template_expand(const char *tmpl, const ms_path_vars *v, char *out, size_t outlen, char *glob,
                            size_t globlen) {
  size_t n = 0, g = 0;
  if (outlen) out[0] = 0;
  if (glob && globlen) glob[0] = 0;
  for (const char *p = tmpl; *p; p++) {
    char tmp[32];
    const char *piece = tmp, *gpiece = NULL; /* gpiece: a pattern of its own, not escaped */
    size_t plen;
    if (p[0] == '%' && p[1] == 'p') {
      plen = (size_t)snprintf(tmp, sizeof tmp, "%ld", v->pid), p++;
    } else if (p[0] == '%' && p[1] == 'u') {
      if (v->euid < 0) return -1;
      plen = (size_t)snprintf(tmp, sizeof tmp, "%ld", v->euid), p++;
    } else if (p[0] == '%' && p[1] == 'T') {
      piece = ms_tmpdir_of(v->tmpdir), plen = strlen(piece), p++;
    } else if (p[0] == '%' && p[1] == 't') {
      if (v->start >= 0) {
        plen = (size_t)snprintf(tmp, sizeof tmp, "%ld", v->start);
      } else {
        piece = "%t", plen = 2;
        gpiece = "[0-9]*";
      }
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      piece = "%", plen = 1, p++;
    } else {
      piece = p, plen = 1;
    }
    if (ms_put(out, outlen, &n, piece, plen) != 0) return -1;
    if (!glob) continue;
    if (gpiece) {
      if (ms_put(glob, globlen, &g, gpiece, strlen(gpiece)) != 0) return -1;
      continue;
    }
    for (size_t i = 0; i < plen; i++) {
      if (strchr("*?[\\", piece[i]) && ms_put(glob, globlen, &g, "\\", 1) != 0) return -1;
      if (ms_put(glob, globlen, &g, piece + i, 1) != 0) return -1;
    }
  }
  return outlen ? 0 : -1;
}
