/* Streaming JSON writer over ms_out: the writer tracks commas, callers say what comes next.
 * Strings are escaped per RFC 8259 (control characters as \u00XX; bytes >= 0x80 pass through).
 * Shared by the library and the CLI: no heap, no stdio. */
#ifndef MEMSHIM_JSON_WRITER_H
#define MEMSHIM_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "out.h"

typedef struct {
  ms_out *o;
  int depth;
  bool need_comma[64];
  bool after_key;
  bool html_safe; /* escape '<', '>', '&' (a document inside an HTML <script> element) */
} ms_jw;

void ms_jw_init(ms_jw *w, ms_out *o);
void ms_jw_object(ms_jw *w);
void ms_jw_object_end(ms_jw *w);
void ms_jw_array(ms_jw *w);
void ms_jw_array_end(ms_jw *w);
/* A member name inside an object; the value follows. */
void ms_jw_key(ms_jw *w, const char *k);
void ms_jw_str(ms_jw *w, const char *s);
void ms_jw_u64(ms_jw *w, uint64_t v);
void ms_jw_i64(ms_jw *w, int64_t v);
void ms_jw_bool(ms_jw *w, bool v);
void ms_jw_null(ms_jw *w);
void ms_jw_hex(ms_jw *w, uint64_t v); /* "0x1a2b" */
/* A member and its value in one call. */
void ms_jw_kv_str(ms_jw *w, const char *k, const char *v);
void ms_jw_kv_u64(ms_jw *w, const char *k, uint64_t v);
void ms_jw_kv_i64(ms_jw *w, const char *k, int64_t v);
void ms_jw_kv_bool(ms_jw *w, const char *k, bool v);
void ms_jw_kv_hex(ms_jw *w, const char *k, uint64_t v);

#endif
