#include "json_writer.h"

#include <string.h>

void ms_jw_init(ms_jw *w, ms_out *o) {
  w->o = o;
  w->depth = 0;
  w->need_comma[0] = false;
  w->after_key = false;
  w->html_safe = false;
}

/* Before any value: a comma when it is not the first in its container. A value after a key
 * never takes one (ms_jw_key wrote it). */
static void ms_jw_sep(ms_jw *w) {
  if (w->after_key) { w->after_key = false; return; }
  if (w->need_comma[w->depth]) ms_out_write(w->o, ",", 1);
  w->need_comma[w->depth] = true;
}

static void ms_jw_open(ms_jw *w, char c) {
  ms_jw_sep(w);
  ms_out_write(w->o, &c, 1);
  if (w->depth < 63) w->depth++;
  w->need_comma[w->depth] = false;
}

static void ms_jw_close(ms_jw *w, char c) {
  if (w->depth > 0) w->depth--;
  ms_out_write(w->o, &c, 1);
}

void ms_jw_object(ms_jw *w) { ms_jw_open(w, '{'); }
void ms_jw_object_end(ms_jw *w) { ms_jw_close(w, '}'); }
void ms_jw_array(ms_jw *w) { ms_jw_open(w, '['); }
void ms_jw_array_end(ms_jw *w) { ms_jw_close(w, ']'); }

static void ms_jw_quoted(ms_out *o, const char *s, bool html_safe) {
  ms_out_write(o, "\"", 1);
  const char *run = s;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\' && !(html_safe && (c == '<' || c == '>' || c == '&'))) continue;
    ms_out_write(o, run, (size_t)(s - run));
    switch (c) {
      case '"': ms_out_write(o, "\\\"", 2); break;
      case '\\': ms_out_write(o, "\\\\", 2); break;
      case '\n': ms_out_write(o, "\\n", 2); break;
      case '\t': ms_out_write(o, "\\t", 2); break;
      case '\r': ms_out_write(o, "\\r", 2); break;
      default: ms_out_printf(o, "\\u%04x", c);
    }
    run = s + 1;
  }
  ms_out_write(o, run, (size_t)(s - run));
  ms_out_write(o, "\"", 1);
}

void ms_jw_key(ms_jw *w, const char *k) {
  ms_jw_sep(w);
  ms_jw_quoted(w->o, k, w->html_safe);
  ms_out_write(w->o, ":", 1);
  w->after_key = true;
}

void ms_jw_str(ms_jw *w, const char *s) {
  ms_jw_sep(w);
  ms_jw_quoted(w->o, s ? s : "", w->html_safe);
}

void ms_jw_u64(ms_jw *w, uint64_t v) {
  ms_jw_sep(w);
  ms_out_printf(w->o, "%llu", (unsigned long long)v);
}

void ms_jw_i64(ms_jw *w, int64_t v) {
  ms_jw_sep(w);
  ms_out_printf(w->o, "%lld", (long long)v);
}

void ms_jw_bool(ms_jw *w, bool v) {
  ms_jw_sep(w);
  ms_out_str(w->o, v ? "true" : "false");
}

void ms_jw_null(ms_jw *w) {
  ms_jw_sep(w);
  ms_out_str(w->o, "null");
}

void ms_jw_hex(ms_jw *w, uint64_t v) {
  ms_jw_sep(w);
  ms_out_printf(w->o, "\"0x%llx\"", (unsigned long long)v);
}

void ms_jw_kv_str(ms_jw *w, const char *k, const char *v) {
  ms_jw_key(w, k);
  ms_jw_str(w, v);
}

void ms_jw_kv_u64(ms_jw *w, const char *k, uint64_t v) {
  ms_jw_key(w, k);
  ms_jw_u64(w, v);
}

void ms_jw_kv_i64(ms_jw *w, const char *k, int64_t v) {
  ms_jw_key(w, k);
  ms_jw_i64(w, v);
}

void ms_jw_kv_bool(ms_jw *w, const char *k, bool v) {
  ms_jw_key(w, k);
  ms_jw_bool(w, v);
}

void ms_jw_kv_hex(ms_jw *w, const char *k, uint64_t v) {
  ms_jw_key(w, k);
  ms_jw_hex(w, v);
}
