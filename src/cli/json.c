/* JSON reader (RFC 8259): recursive descent with a depth limit, strict about syntax, UTF-8
 * passed through as is, \uXXXX escapes (with surrogate pairs) decoded to UTF-8. */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_JSON_MAX_DEPTH 256

typedef struct {
  const char *s, *end, *start;
  char *err;
  size_t errlen;
  bool failed;
} ms_json_parser;

static void ms_json_error(ms_json_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ms_json_error(ms_json_parser *p, const char *fmt, ...) {
  if (p->failed) return;
  p->failed = true;
  if (!p->err || !p->errlen) return;
  unsigned line = 1, col = 1;
  for (const char *c = p->start; c < p->s && c < p->end; c++) {
    if (*c == '\n') { line++; col = 1; }
    else col++;
  }
  int n = snprintf(p->err, p->errlen, "line %u, column %u: ", line, col);
  if (n < 0 || (size_t)n >= p->errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

static void ms_json_skip_ws(ms_json_parser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static ms_json *ms_json_new(ms_json_parser *p, ms_json_type type) {
  ms_json *v = calloc(1, sizeof *v);
  if (!v) ms_json_error(p, "out of memory");
  else v->type = type;
  return v;
}

/* Growable byte buffer for strings. */
typedef struct { char *buf; size_t len, cap; } ms_json_buf;

static bool ms_json_buf_put(ms_json_buf *b, const char *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 32;
    while (cap < b->len + n + 1) cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) return false;
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, data, n);
  b->len += n;
  b->buf[b->len] = 0;
  return true;
}

static int ms_json_hex4(const char *s) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

static size_t ms_json_utf8(unsigned cp, char out[4]) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* p->s is on the opening quote. Returns a malloc'd string and its length. */
static char *ms_json_parse_string_raw(ms_json_parser *p, size_t *len_out) {
  ms_json_buf b = {0};
  p->s++;
  for (;;) {
    if (p->s >= p->end) { ms_json_error(p, "unterminated string"); goto fail; }
    const char *run = p->s;
    while (p->s < p->end && *p->s != '"' && *p->s != '\\' && (unsigned char)*p->s >= 0x20) p->s++;
    if (p->s > run && !ms_json_buf_put(&b, run, (size_t)(p->s - run))) goto oom;
    if (p->s >= p->end) continue;
    char c = *p->s;
    if (c == '"') { p->s++; break; }
    if ((unsigned char)c < 0x20) { ms_json_error(p, "control character in string"); goto fail; }
    /* backslash */
    if (p->end - p->s < 2) { ms_json_error(p, "unterminated escape"); goto fail; }
    char e = p->s[1];
    const char *rep = NULL;
    switch (e) {
      case '"': rep = "\""; break;
      case '\\': rep = "\\"; break;
      case '/': rep = "/"; break;
      case 'b': rep = "\b"; break;
      case 'f': rep = "\f"; break;
      case 'n': rep = "\n"; break;
      case 'r': rep = "\r"; break;
      case 't': rep = "\t"; break;
      case 'u': break;
      default: ms_json_error(p, "bad escape '\\%c'", e); goto fail;
    }
    if (rep) {
      if (!ms_json_buf_put(&b, rep, 1)) goto oom;
      p->s += 2;
      continue;
    }
    if (p->end - p->s < 6) { ms_json_error(p, "short \\u escape"); goto fail; }
    int cp = ms_json_hex4(p->s + 2);
    if (cp < 0) { ms_json_error(p, "bad \\u escape"); goto fail; }
    p->s += 6;
    unsigned code = (unsigned)cp;
    if (code >= 0xD800 && code <= 0xDBFF) {
      int lo = (p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') ? ms_json_hex4(p->s + 2) : -1;
      if (lo < 0xDC00 || lo > 0xDFFF) { ms_json_error(p, "unpaired surrogate"); goto fail; }
      code = 0x10000 + ((code - 0xD800) << 10) + ((unsigned)lo - 0xDC00);
      p->s += 6;
    } else if (code >= 0xDC00 && code <= 0xDFFF) {
      ms_json_error(p, "unpaired surrogate");
      goto fail;
    }
    char u[4];
    if (!ms_json_buf_put(&b, u, ms_json_utf8(code, u))) goto oom;
  }
  if (!b.buf && !ms_json_buf_put(&b, "", 0)) goto oom;
  *len_out = b.len;
  return b.buf;
oom:
  ms_json_error(p, "out of memory");
fail:
  free(b.buf);
  return NULL;
}

static ms_json *ms_json_parse_number(ms_json_parser *p) {
  const char *s = p->s;
  bool integer = true;
  if (s < p->end && *s == '-') s++;
  if (s >= p->end || *s < '0' || *s > '9') { ms_json_error(p, "bad number"); return NULL; }
  if (*s == '0') s++;
  else while (s < p->end && *s >= '0' && *s <= '9') s++;
  if (s < p->end && *s == '.') {
    integer = false;
    s++;
    if (s >= p->end || *s < '0' || *s > '9') { ms_json_error(p, "bad number: digit expected after '.'"); return NULL; }
    while (s < p->end && *s >= '0' && *s <= '9') s++;
  }
  if (s < p->end && (*s == 'e' || *s == 'E')) {
    integer = false;
    s++;
    if (s < p->end && (*s == '+' || *s == '-')) s++;
    if (s >= p->end || *s < '0' || *s > '9') { ms_json_error(p, "bad number: digit expected in exponent"); return NULL; }
    while (s < p->end && *s >= '0' && *s <= '9') s++;
  }
  char tmp[64];
  size_t n = (size_t)(s - p->s);
  if (n >= sizeof tmp) { integer = false; }
  ms_json *v = ms_json_new(p, MS_JSON_NUMBER);
  if (!v) return NULL;
  if (n < sizeof tmp) {
    memcpy(tmp, p->s, n);
    tmp[n] = 0;
    v->number = strtod(tmp, NULL);
    if (integer) {
      errno = 0;
      long long ll = strtoll(tmp, NULL, 10);
      if (errno == 0) { v->is_integer = true; v->integer = ll; }
    }
  } else {
    /* Absurdly long numeral: parse from a heap copy. */
    char *big = strndup(p->s, n);
    v->number = big ? strtod(big, NULL) : 0;
    free(big);
  }
  p->s = s;
  return v;
}

static bool ms_json_literal(ms_json_parser *p, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0) return false;
  p->s += n;
  return true;
}

static bool ms_json_push(ms_json *v, ms_json *item, char *key) {
  if ((v->len & (v->len - 1)) == 0) { /* grow at powers of two */
    size_t cap = v->len ? v->len * 2 : 4;
    ms_json **items = realloc(v->items, cap * sizeof *items);
    if (!items) return false;
    v->items = items;
    if (v->type == MS_JSON_OBJECT) {
      char **keys = realloc(v->keys, cap * sizeof *keys);
      if (!keys) return false;
      v->keys = keys;
    }
  }
  v->items[v->len] = item;
  if (v->type == MS_JSON_OBJECT) v->keys[v->len] = key;
  v->len++;
  return true;
}

static ms_json *ms_json_parse_value(ms_json_parser *p, int depth);

static ms_json *ms_json_parse_container(ms_json_parser *p, int depth, bool object) {
  if (depth >= MS_JSON_MAX_DEPTH) { ms_json_error(p, "nested too deeply"); return NULL; }
  ms_json *v = ms_json_new(p, object ? MS_JSON_OBJECT : MS_JSON_ARRAY);
  if (!v) return NULL;
  char close = object ? '}' : ']';
  p->s++;
  ms_json_skip_ws(p);
  if (p->s < p->end && *p->s == close) { p->s++; return v; }
  for (;;) {
    char *key = NULL;
    ms_json_skip_ws(p);
    if (object) {
      size_t klen;
      if (p->s >= p->end || *p->s != '"') { ms_json_error(p, "object key (a string) expected"); goto fail; }
      key = ms_json_parse_string_raw(p, &klen);
      if (!key) goto fail;
      ms_json_skip_ws(p);
      if (p->s >= p->end || *p->s != ':') { free(key); ms_json_error(p, "':' expected after key"); goto fail; }
      p->s++;
    }
    ms_json *item = ms_json_parse_value(p, depth + 1);
    if (!item) { free(key); goto fail; }
    if (!ms_json_push(v, item, key)) {
      free(key);
      ms_json_free(item);
      ms_json_error(p, "out of memory");
      goto fail;
    }
    ms_json_skip_ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; continue; }
    if (p->s < p->end && *p->s == close) { p->s++; return v; }
    ms_json_error(p, object ? "',' or '}' expected" : "',' or ']' expected");
    goto fail;
  }
fail:
  ms_json_free(v);
  return NULL;
}

static ms_json *ms_json_parse_value(ms_json_parser *p, int depth) {
  ms_json_skip_ws(p);
  if (p->s >= p->end) { ms_json_error(p, "value expected, found end of input"); return NULL; }
  switch (*p->s) {
    case '{': return ms_json_parse_container(p, depth, true);
    case '[': return ms_json_parse_container(p, depth, false);
    case '"': {
      ms_json *v = ms_json_new(p, MS_JSON_STRING);
      if (!v) return NULL;
      v->string = ms_json_parse_string_raw(p, &v->len);
      if (!v->string) { free(v); return NULL; }
      return v;
    }
    case 't':
    case 'f':
    case 'n': {
      ms_json_type t = *p->s == 'n' ? MS_JSON_NULL : MS_JSON_BOOL;
      bool val = *p->s == 't';
      if (!ms_json_literal(p, *p->s == 't' ? "true" : *p->s == 'f' ? "false" : "null")) break;
      ms_json *v = ms_json_new(p, t);
      if (v) v->boolean = val;
      return v;
    }
    default:
      if (*p->s == '-' || (*p->s >= '0' && *p->s <= '9')) return ms_json_parse_number(p);
  }
  ms_json_error(p, "unexpected character '%c'", *p->s);
  return NULL;
}

ms_json *ms_json_parse(const char *text, size_t len, char *err, size_t errlen) {
  ms_json_parser p = {.s = text, .end = text + len, .start = text, .err = err, .errlen = errlen};
  if (err && errlen) err[0] = 0;
  ms_json *v = ms_json_parse_value(&p, 0);
  if (!v) return NULL;
  ms_json_skip_ws(&p);
  if (p.s != p.end) {
    ms_json_error(&p, "trailing characters after the document");
    ms_json_free(v);
    return NULL;
  }
  return v;
}

ms_json *ms_json_parse_file(const char *path, char *err, size_t errlen) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  ms_json_buf b = {0};
  char chunk[65536];
  size_t n;
  bool ok = true;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (!ms_json_buf_put(&b, chunk, n)) { ok = false; break; }
  bool rerr = ferror(f);
  if (f != stdin) fclose(f);
  if (!ok || rerr) {
    snprintf(err, errlen, "%s: %s", path, ok ? "read error" : "out of memory");
    free(b.buf);
    return NULL;
  }
  char perr[200];
  ms_json *v = ms_json_parse(b.buf ? b.buf : "", b.len, perr, sizeof perr);
  free(b.buf);
  if (!v) snprintf(err, errlen, "%s: %s", path, perr);
  return v;
}

void ms_json_free(ms_json *v) {
  if (!v) return;
  for (size_t i = 0; i < v->len && v->items; i++) {
    ms_json_free(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->string);
  free(v);
}

const ms_json *ms_json_get(const ms_json *v, const char *key) {
  if (!v || v->type != MS_JSON_OBJECT) return NULL;
  for (size_t i = v->len; i-- > 0;)
    if (strcmp(v->keys[i], key) == 0) return v->items[i];
  return NULL;
}

const ms_json *ms_json_path(const ms_json *v, const char *path) {
  char key[128];
  while (v && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof key) return NULL;
    memcpy(key, path, n);
    key[n] = 0;
    v = ms_json_get(v, key);
    path += n + (dot ? 1 : 0);
  }
  return v;
}

const ms_json *ms_json_index(const ms_json *v, size_t i) {
  if (!v || v->type != MS_JSON_ARRAY || i >= v->len) return NULL;
  return v->items[i];
}

size_t ms_json_count(const ms_json *v) {
  return v && (v->type == MS_JSON_ARRAY || v->type == MS_JSON_OBJECT) ? v->len : 0;
}

double ms_json_number(const ms_json *v, double dflt) {
  return v && v->type == MS_JSON_NUMBER ? v->number : dflt;
}

uint64_t ms_json_u64(const ms_json *v, uint64_t dflt) {
  if (!v || v->type != MS_JSON_NUMBER) return dflt;
  if (v->is_integer) return v->integer >= 0 ? (uint64_t)v->integer : dflt;
  return v->number >= 0 && v->number < 18446744073709551616.0 ? (uint64_t)v->number : dflt;
}

int64_t ms_json_i64(const ms_json *v, int64_t dflt) {
  if (!v || v->type != MS_JSON_NUMBER) return dflt;
  if (v->is_integer) return v->integer;
  return v->number > -9.2e18 && v->number < 9.2e18 ? (int64_t)v->number : dflt;
}

const char *ms_json_string(const ms_json *v, const char *dflt) {
  return v && v->type == MS_JSON_STRING ? v->string : dflt;
}

bool ms_json_bool(const ms_json *v, bool dflt) {
  return v && v->type == MS_JSON_BOOL ? v->boolean : dflt;
}
