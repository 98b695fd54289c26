/* Interned Python frames: (file, function, line) records with ids 1, 2, ... that never move or
 * die, and the strings they point to, in memory of our own (ms_raw_alloc). Inserting takes a
 * lock; it happens only on a per-thread cache miss of the frame reader. Reading a record by id
 * is lock-free (records are published with a release store of the count). */
#include <string.h>

#include "../report/arena.h"
#include "../util/forklock.h"
#include "../util/raw_mem.h"
#include "py_walk.h"
#include "pyframes.h"

typedef struct {
  const char *file, *function;
  uint32_t line;
} ms_py_record;

#define MS_PY_REC_CHUNK_SHIFT 12 /* 4096 records per chunk */
#define MS_PY_REC_CHUNK (1u << MS_PY_REC_CHUNK_SHIFT)
#define MS_PY_REC_CHUNKS 1024

/* No fork handler takes it (util/forklock.h): a sampled allocation on a Python thread inside
 * another library's fork-guarded section may wait for it. ms_py_seq is odd while a holder
 * interns; a fork child's first holder that finds it odd repairs (ms_py_repair). */
static ms_forklock ms_py_table_lk;
static uint32_t ms_py_seq;
static ms_py_record *ms_py_rec_chunks[MS_PY_REC_CHUNKS];
static uint32_t ms_py_nrec;
/* Open-addressing indexes (capacity a power of two, load <= 1/2, 0 = empty): interned strings
 * by their text, record ids by (file, function, line). */
typedef struct {
  uintptr_t *slots;
  uint32_t cap, n;
  uint64_t (*hash)(uintptr_t value);
} ms_py_index;
static uint64_t ms_py_hash_str(uintptr_t s);
static uint64_t ms_py_hash_id(uintptr_t id);
static ms_py_index ms_py_strs = {.hash = ms_py_hash_str}, ms_py_recs = {.hash = ms_py_hash_id};
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

static ms_py_record *ms_py_record_at(uint32_t id) {
  uint32_t i = id - 1;
  return &ms_py_rec_chunks[i >> MS_PY_REC_CHUNK_SHIFT][i & (MS_PY_REC_CHUNK - 1)];
}

static uint64_t ms_py_hash_str(uintptr_t s) { return ms_py_hash_bytes((const char *)s, strlen((const char *)s)); }
static uint64_t ms_py_hash_id(uintptr_t id) {
  const ms_py_record *r = ms_py_record_at((uint32_t)id);
  return ms_py_hash_record(r->file, r->function, r->line);
}

static int ms_py_index_grow(ms_py_index *ix) {
  uint32_t cap = ix->cap ? ix->cap * 2 : 1024;
  uintptr_t *slots = ms_raw_alloc((size_t)cap * sizeof *slots);
  if (!slots) return -1;
  for (uint32_t i = 0; i < ix->cap; i++) {
    if (!ix->slots[i]) continue;
    uint32_t j = (uint32_t)ix->hash(ix->slots[i]) & (cap - 1);
    while (slots[j]) j = (j + 1) & (cap - 1);
    slots[j] = ix->slots[i];
  }
  ms_raw_free(ix->slots, (size_t)ix->cap * sizeof *ix->slots);
  ix->slots = slots;
  ix->cap = cap;
  return 0;
}

/* The slot holding a value equal to key (by eq), or the empty slot where it goes. */
static uintptr_t *ms_py_index_find(ms_py_index *ix, uint64_t h, bool (*eq)(uintptr_t v, const void *key),
                                   const void *key) {
  uint32_t j = (uint32_t)h & (ix->cap - 1);
  while (ix->slots[j] && !eq(ix->slots[j], key)) j = (j + 1) & (ix->cap - 1);
  return &ix->slots[j];
}

/* Insert into the empty slot found by ms_py_index_find; grows at half load (a failure to grow
 * keeps the index working, fuller). */
static void ms_py_index_put(ms_py_index *ix, uintptr_t *slot, uintptr_t value) {
  *slot = value;
  if (++ix->n * 2 > ix->cap) ms_py_index_grow(ix);
}

static bool ms_py_str_eq(uintptr_t v, const void *key) { return strcmp((const char *)v, key) == 0; }

static const char *ms_py_str_intern_locked(const char *s) {
  size_t n = strlen(s);
  if (!ms_py_strs.cap && ms_py_index_grow(&ms_py_strs) != 0) return NULL;
  uintptr_t *slot = ms_py_index_find(&ms_py_strs, ms_py_hash_bytes(s, n), ms_py_str_eq, s);
  if (*slot) return (const char *)*slot;
  char *copy = ms_arena_alloc(&ms_py_str_arena, n + 1);
  if (!copy) return NULL;
  memcpy(copy, s, n + 1);
  ms_py_index_put(&ms_py_strs, slot, (uintptr_t)copy);
  return copy;
}

static bool ms_py_rec_eq(uintptr_t id, const void *key) {
  const ms_py_record *r = ms_py_record_at((uint32_t)id), *k = key;
  return r->file == k->file && r->function == k->function && r->line == k->line;
}

static uint32_t ms_py_intern_locked(const char *file_text, const char *function_text, uint32_t line) {
  ms_py_record rec = {.file = ms_py_str_intern_locked(file_text), .function = ms_py_str_intern_locked(function_text),
                      .line = line};
  if (!rec.file || !rec.function) return 0;
  if (!ms_py_recs.cap && ms_py_index_grow(&ms_py_recs) != 0) return 0;
  uintptr_t *slot = ms_py_index_find(&ms_py_recs, ms_py_hash_record(rec.file, rec.function, line), ms_py_rec_eq, &rec);
  if (*slot) return (uint32_t)*slot;
  uint32_t n = ms_py_nrec;
  if (n >= MS_PY_REC_CHUNKS * MS_PY_REC_CHUNK) return 0;
  ms_py_record **chunk = &ms_py_rec_chunks[n >> MS_PY_REC_CHUNK_SHIFT];
  if (!*chunk && !(*chunk = ms_raw_alloc(MS_PY_REC_CHUNK * sizeof(ms_py_record)))) return 0;
  (*chunk)[n & (MS_PY_REC_CHUNK - 1)] = rec;
  __atomic_store_n(&ms_py_nrec, n + 1, __ATOMIC_RELEASE);
  ms_py_index_put(&ms_py_recs, slot, n + 1);
  return n + 1;
}

/* A fork child's, with the lock held, when the parent forked mid-intern: the records up to
 * ms_py_nrec were published whole (release), and so were the strings they point to; both indexes
 * (perhaps half grown) are rebuilt from them, and the string arena starts afresh (its position
 * may be torn). What the old indexes and arena hold is left unused. */
static void ms_py_repair(void) {
  ms_py_strs = (ms_py_index){.hash = ms_py_hash_str};
  ms_py_recs = (ms_py_index){.hash = ms_py_hash_id};
  memset(&ms_py_str_arena, 0, sizeof ms_py_str_arena);
  uint32_t n = ms_py_interned_count();
  if (ms_py_index_grow(&ms_py_strs) != 0 || ms_py_index_grow(&ms_py_recs) != 0) return; /* next intern retries */
  for (uint32_t id = 1; id <= n; id++) {
    const ms_py_record *r = ms_py_record_at(id);
    const char *text[2] = {r->file, r->function};
    for (int i = 0; i < 2; i++) {
      uintptr_t *slot = ms_py_index_find(&ms_py_strs, ms_py_hash_bytes(text[i], strlen(text[i])), ms_py_str_eq, text[i]);
      if (!*slot) ms_py_index_put(&ms_py_strs, slot, (uintptr_t)text[i]);
    }
    uintptr_t *slot = ms_py_index_find(&ms_py_recs, ms_py_hash_record(r->file, r->function, r->line), ms_py_rec_eq, r);
    if (!*slot) ms_py_index_put(&ms_py_recs, slot, id);
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
