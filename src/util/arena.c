#include "arena.h"

#include <stdint.h>
#include <string.h>

#include "raw_mem.h"

struct ms_arena_chunk {
  ms_arena_chunk *next;
  size_t bytes; /* mapped, header included */
};

#define MS_ARENA_CHUNK (256u << 10)
#define MS_ARENA_HDR ((sizeof(ms_arena_chunk) + 15) & ~(size_t)15)

void ms_arena_init(ms_arena *a) { memset(a, 0, sizeof *a); }

void *ms_arena_alloc(ms_arena *a, size_t bytes) {
  if (bytes > SIZE_MAX - MS_ARENA_HDR - 4095 - 15) return NULL; /* the roundings below would wrap */
  bytes = (bytes + 15) & ~(size_t)15;
  if (!a->head || a->size - a->used < bytes) {
    size_t want = MS_ARENA_HDR + bytes > MS_ARENA_CHUNK ? ((MS_ARENA_HDR + bytes + 4095) & ~(size_t)4095) : MS_ARENA_CHUNK;
    ms_arena_chunk *c = ms_raw_alloc(want);
    if (!c) return NULL;
    c->next = a->head;
    c->bytes = want;
    a->head = c;
    a->used = MS_ARENA_HDR;
    a->size = want;
  }
  void *p = (char *)a->head + a->used; /* fresh pages are zero and never reused */
  a->used += bytes;
  return p; /* bytes == 0: inside or just past the head chunk, never NULL */
}

void *ms_arena_array(ms_arena *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  return ms_arena_alloc(a, n * size);
}

char *ms_arena_strdup(ms_arena *a, const char *s) {
  if (!s) s = "";
  size_t n = strlen(s);
  char *p = ms_arena_alloc(a, n + 1);
  if (p) memcpy(p, s, n + 1);
  return p ? p : (char *)"";
}

void ms_arena_release(ms_arena *a) {
  for (ms_arena_chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    ms_raw_free(c, c->bytes);
  }
  ms_arena_init(a);
}
