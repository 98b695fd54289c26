/* Interned Python frames: (file, function, line) records with ids 1, 2, ... that never move or
 * die, and the strings they point to, in memory of our own (ms_raw_alloc). Inserting takes a
 * lock; it happens only on a per-thread cache miss of the frame reader. Reading a record by id
 * is lock-free (records are published with a release store of the count). */
#include <string.h>

#include "../util/arena.h"
#include "../util/chunked.h"
#include "../util/forklock.h"
#include "../util/hmap.h"
#include "../util/raw_mem.h"
#include "py_walk.h"
#include "pyframes.h"

typedef struct {
  const char *file, *function;
  uint32_t line;
} ms_py_record;

/* Records by id: 4096 a chunk, up to 4M (util/chunked.h). */
MS_CHUNKED_DEFINE(ms_py_recs_by_id, ms_py_record, 12, 1024)

/* No fork handler takes it (util/forklock.h): a sampled allocation on a Python thread inside
 * another library's fork-guarded section may wait for it. ms_py_seq is odd while a holder
 * interns; a fork child's first holder that finds it odd repairs (ms_py_repair). */
static ms_forklock ms_py_table_lk;
static uint32_t ms_py_seq;
static ms_py_recs_by_id_store ms_py_rec_store;
static uint32_t ms_py_nrec;
static ms_arena ms_py_str_arena; /* the interned strings, kept for the process's life */

static uint64_t ms_py_hash_bytes(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h ^ (h >> 31);
}

static uint64_t ms_py_hash_record(const char *file, const char *function, uint32_t line) {
  uint64_t h = ((uintptr_t)file * 0x9e3779b97f4a7c15ull) ^ ((uintptr_t)function * 0xc2b2ae3d27d4eb4full) ^ line;
  return h ^ (h >> 29);
}

static ms_py_record *ms_py_record_at(uint32_t id) { return ms_py_recs_by_id_at(&ms_py_rec_store, id); }

/* Two util/hmap.h indexes (load <= 1/2, 0 = empty): interned strings by their text (a key is
 * the text and its length), record ids by (file, function, line) (a key is a record). */
typedef struct {
  const char *s;
  size_t n;
} ms_py_text;
#define MS_PY_EMPTY(e) (*(e) == 0)
#define MS_PY_STR_HOME(e) ((uint32_t)ms_py_hash_bytes((const char *)*(e), strlen((const char *)*(e))))
#define MS_PY_TEXT_HOME(k) ((uint32_t)ms_py_hash_bytes((k)->s, (k)->n))
#define MS_PY_STR_EQ(e, k) (strcmp((const char *)*(e), (k)->s) == 0)
MS_HMAP_DEFINE(ms_py_strs, uintptr_t, const ms_py_text *, MS_PY_EMPTY, MS_PY_STR_HOME, MS_PY_TEXT_HOME, MS_PY_STR_EQ,
               MS_HMAP_COPY, MS_HMAP_ZERO)
#define MS_PY_KEY_HOME(r) ((uint32_t)ms_py_hash_record((r)->file, (r)->function, (r)->line))
#define MS_PY_ID_HOME(e) MS_PY_KEY_HOME(ms_py_record_at((uint32_t)*(e)))
static inline bool ms_py_rec_eq(const uintptr_t *e, const ms_py_record *k) {
  const ms_py_record *r = ms_py_record_at((uint32_t)*e);
  return r->file == k->file && r->function == k->function && r->line == k->line;
}
MS_HMAP_DEFINE(ms_py_ids, uintptr_t, const ms_py_record *, MS_PY_EMPTY, MS_PY_ID_HOME, MS_PY_KEY_HOME, ms_py_rec_eq,
               MS_HMAP_COPY, MS_HMAP_ZERO)
static ms_py_strs_map ms_py_strs;
static ms_py_ids_map ms_py_recs;

/* Into the empty slot the lookup found; grows at half load (a failure to grow keeps the index
 * working, fuller). */
#define MS_PY_INDEX_PUT(pfx, m, slot, value)                                                                  \
  do {                                                                                                     \
    *(slot) = (value);                                                                                     \
    pfx##_claim(m, slot);                                                                                  \
    if (ms_hmap_over_half((m)->n, (m)->cap)) pfx##_grow(m, 1024, ms_raw_alloc, ms_raw_free);               \
  } while (0)

static const char *ms_py_str_intern_locked(const char *s) {
  ms_py_text key = {s, strlen(s)};
  if (!ms_py_strs.cap && ms_py_strs_grow(&ms_py_strs, 1024, ms_raw_alloc, ms_raw_free) != 0) return NULL;
  uintptr_t *slot = ms_py_strs_put(&ms_py_strs, &key);
  if (*slot) return (const char *)*slot;
  char *copy = ms_arena_alloc(&ms_py_str_arena, key.n + 1);
  if (!copy) return NULL;
  memcpy(copy, s, key.n + 1);
  MS_PY_INDEX_PUT(ms_py_strs, &ms_py_strs, slot, (uintptr_t)copy);
  return copy;
}

static uint32_t ms_py_intern_locked(const char *file_text, const char *function_text, uint32_t line) {
  ms_py_record rec = {.file = ms_py_str_intern_locked(file_text), .function = ms_py_str_intern_locked(function_text),
                      .line = line};
  if (!rec.file || !rec.function) return 0;
  if (!ms_py_recs.cap && ms_py_ids_grow(&ms_py_recs, 1024, ms_raw_alloc, ms_raw_free) != 0) return 0;
  uintptr_t *slot = ms_py_ids_put(&ms_py_recs, &rec);
  if (*slot) return (uint32_t)*slot;
  uint32_t n = ms_py_nrec;
  ms_py_record *r = ms_py_recs_by_id_get(&ms_py_rec_store, n + 1, NULL);
  if (!r) return 0;
  *r = rec;
  __atomic_store_n(&ms_py_nrec, n + 1, __ATOMIC_RELEASE);
  MS_PY_INDEX_PUT(ms_py_ids, &ms_py_recs, slot, n + 1);
  return n + 1;
}

/* A fork child's, with the lock held, when the parent forked mid-intern: the records up to
 * ms_py_nrec were published whole (release), and so were the strings they point to; both indexes
 * (perhaps half grown) are rebuilt from them, and the string arena starts afresh (its position
 * may be torn). What the old indexes and arena hold is left unused. */
static void ms_py_repair(void) {
  ms_py_strs = (ms_py_strs_map){0};
  ms_py_recs = (ms_py_ids_map){0};
  memset(&ms_py_str_arena, 0, sizeof ms_py_str_arena);
  uint32_t n = ms_py_interned_count();
  if (ms_py_strs_grow(&ms_py_strs, 1024, ms_raw_alloc, ms_raw_free) != 0 ||
      ms_py_ids_grow(&ms_py_recs, 1024, ms_raw_alloc, ms_raw_free) != 0)
    return; /* next intern retries */
  for (uint32_t id = 1; id <= n; id++) {
    const ms_py_record *r = ms_py_record_at(id);
    const char *text[2] = {r->file, r->function};
    for (int i = 0; i < 2; i++) {
      uintptr_t *slot = ms_py_strs_put(&ms_py_strs, &(ms_py_text){text[i], strlen(text[i])});
      if (!*slot) MS_PY_INDEX_PUT(ms_py_strs, &ms_py_strs, slot, (uintptr_t)text[i]);
    }
    uintptr_t *slot = ms_py_ids_put(&ms_py_recs, r);
    if (!*slot) MS_PY_INDEX_PUT(ms_py_ids, &ms_py_recs, slot, id);
  }
}

uint32_t ms_py_intern(const char *file, const char *function, uint32_t line) {
  uint32_t *held = ms_forklock_lock(&ms_py_table_lk);
  if (__atomic_load_n(&ms_py_seq, __ATOMIC_RELAXED) & 1) ms_py_repair();
  __atomic_store_n(&ms_py_seq, ms_py_seq | 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE); /* a child sees the odd count before any change */
  uint32_t id = ms_py_intern_locked(file, function, line);
  __atomic_store_n(&ms_py_seq, ms_py_seq + 1, __ATOMIC_RELEASE);
  ms_forklock_unlock(held);
  return id;
}

uint32_t ms_py_interned_count(void) { return __atomic_load_n(&ms_py_nrec, __ATOMIC_ACQUIRE); }

bool ms_py_frame_get(uint32_t id, const char **file, const char **function, uint32_t *line) {
  if (id == 0 || id > ms_py_interned_count()) return false;
  const ms_py_record *r = ms_py_record_at(id);
  *file = r->file;
  *function = r->function;
  *line = r->line;
  return true;
}

void ms_py_table_init(void) { ms_forklock_init(&ms_py_table_lk); }
/* The child keeps every record: its stacks (inherited) refer to them. */
void ms_py_atfork_child(void) { ms_forklock_child(&ms_py_table_lk); }
