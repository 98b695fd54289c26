/* A small, dependency-free JSON reader for the CLI: parse a document into a tree, then walk it
 * with typed getters that tolerate missing members (they return the caller's default), so a
 * reader of a newer report version keeps working on the fields it knows. */
#ifndef MEMSHIM_CLI_JSON_H
#define MEMSHIM_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { MS_JSON_NULL, MS_JSON_BOOL, MS_JSON_NUMBER, MS_JSON_STRING, MS_JSON_ARRAY, MS_JSON_OBJECT } ms_json_type;

typedef struct ms_json ms_json;
struct ms_json {
  ms_json_type type;
  bool boolean;
  double number;
  bool is_integer;  /* NUMBER written without fraction or exponent: exact in `integer` */
  int64_t integer;  /* exact for |n| < 2^63 (byte counts are integers in our reports) */
  char *string;     /* STRING, NUL-terminated (may contain NUL if the text had \u0000) */
  size_t len;       /* STRING: bytes; ARRAY/OBJECT: members */
  ms_json **items;  /* ARRAY elements / OBJECT values, in document order */
  char **keys;      /* OBJECT keys */
};

/* Parse len bytes of text. NULL on error, with a message ("line 3, column 7: ...") in err. */
ms_json *ms_json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Read and parse a file ("-" = stdin). NULL on error with a message naming the file. */
ms_json *ms_json_parse_file(const char *path, char *err, size_t errlen);
void ms_json_free(ms_json *v);

/* Member of an object (the last one when a key repeats), NULL when v is not an object or the
 * key is absent. */
const ms_json *ms_json_get(const ms_json *v, const char *key);
/* Dotted path of object members: "profile.totals.heap.live_bytes". */
const ms_json *ms_json_path(const ms_json *v, const char *path);
/* Element i of an array, NULL when out of range or not an array. */
const ms_json *ms_json_index(const ms_json *v, size_t i);
/* Members of an array or object; 0 for anything else (and NULL). */
size_t ms_json_count(const ms_json *v);

double ms_json_number(const ms_json *v, double dflt);
/* Non-negative integers (byte counts); dflt when v is not a number >= 0. */
uint64_t ms_json_u64(const ms_json *v, uint64_t dflt);
int64_t ms_json_i64(const ms_json *v, int64_t dflt);
const char *ms_json_string(const ms_json *v, const char *dflt);
bool ms_json_bool(const ms_json *v, bool dflt);

#endif
