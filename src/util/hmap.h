/* One open-addressing hash map for every table of memshim's own: linear probing, backward-shift
 * deletion (no tombstones), capacity a power of two. It allocates nothing: the caller hands it
 * slots (pages from util/raw_mem.h, never the heap memshim serves) and frees what a resize hands
 * back, so it is safe wherever the caller's memory is (a preloaded library's hot path, a fork
 * child, a report).
 *
 * MS_HMAP_DEFINE(name, entry_t, key_t, EMPTY, ENTRY_HOME, KEY_HOME, EQ, MOVE, CLEAR) expands to
 * static inline functions on slots of entry_t (khash's shape, jemalloc's ckh without its malloc):
 *   EMPTY(const entry_t *e)      the slot holds nothing (a zeroed slot must be empty)
 *   ENTRY_HOME(const entry_t *e) uint32_t hash of a stored entry (resize and delete move by it)
 *   KEY_HOME(key)                the same hash computed from a key
 *   EQ(const entry_t *e, key)    a full slot holds key
 *   MOVE(entry_t *d, const entry_t *s), CLEAR(entry_t *e)   how a delete shifts and empties a
 *                                slot: MS_HMAP_COPY and MS_HMAP_ZERO, or the caller's own (the
 *                                pointer map writes the key last, for a fork child's sake)
 * The macros are evaluated as expressions, once per probe step: keep them cheap.
 *
 * Two levels. On bare slots (a caller that keeps capacity and count itself, the pointer map's
 * shards: their capacity travels with the slots):
 *   name_slot(slots, cap, key)         the slot holding key, or the empty one where it goes
 *   name_delete_at(slots, cap, i)      delete slot i; entries after it shift back
 *   name_place(slots, cap, e)          copy e, whose key is absent, in (a rebuild's)
 *   name_rehash(from, fcap, to, tcap)  copy every entry into empty slots `to`
 * On a map (slots, cap, n; zero-initialised is an empty map without slots):
 *   name_find(m, key)  the entry or NULL;   name_put(m, key)  the entry or the empty slot where
 *   key goes (NULL: no slots; room is the caller's: name_needs_room before a new key);
 *   name_claim(m, e)   count an entry written into a slot name_put returned;
 *   name_del(m, e);    name_clear(m);
 *   name_resize(m, slots, cap) moves every entry into the zeroed slots given and returns the
 *   old slots (NULL at first) for the caller to free; name_grow(m, first_cap, alloc, release)
 *   doubles the map with the caller's allocator (ms_raw_alloc, ms_raw_free). */
#ifndef MEMSHIM_UTIL_HMAP_H
#define MEMSHIM_UTIL_HMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MS_HMAP_COPY(d, s) (*(d) = *(s))
#define MS_HMAP_ZERO(e) memset((e), 0, sizeof *(e))

/* Load stays at most one half: a probe sequence stays short and always ends at an empty slot. */
static inline bool ms_hmap_over_half(uint32_t n, uint32_t cap) { return (uint64_t)n * 2 > cap; }

#define MS_HMAP_DEFINE(name, entry_t, key_t, EMPTY, ENTRY_HOME, KEY_HOME, EQ, MOVE, CLEAR)                    \
  typedef struct {                                                                                           \
    entry_t *slots;                                                                                          \
    uint32_t cap, n;                                                                                         \
  } name##_map;                                                                                              \
                                                                                                             \
  static inline entry_t *name##_slot(entry_t *slots, uint32_t cap, key_t key) {                              \
    uint32_t mask = cap - 1, i = (KEY_HOME(key)) & mask;                                                     \
    while (!(EMPTY(&slots[i])) && !(EQ(&slots[i], key))) i = (i + 1) & mask;                                 \
    return &slots[i];                                                                                        \
  }                                                                                                          \
                                                                                                             \
  /* An entry whose home lies cyclically in (hole, j] stays; any other moves back into the hole. */          \
  static inline void name##_delete_at(entry_t *slots, uint32_t cap, uint32_t hole) {                         \
    uint32_t mask = cap - 1;                                                                                 \
    for (uint32_t j = (hole + 1) & mask; !(EMPTY(&slots[j])); j = (j + 1) & mask) {                          \
      uint32_t home = (ENTRY_HOME(&slots[j])) & mask;                                                        \
      bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);                      \
      if (stays) continue;                                                                                   \
      MOVE(&slots[hole], &slots[j]);                                                                         \
      hole = j;                                                                                              \
    }                                                                                                        \
    CLEAR(&slots[hole]);                                                                                     \
  }                                                                                                          \
                                                                                                             \
  /* A copy of e into the first empty slot from its home: e's key is not in slots, which no one else    \
   * sees yet (a plain copy). */                                                                             \
  static inline entry_t *name##_place(entry_t *slots, uint32_t cap, const entry_t *e) {                      \
    uint32_t mask = cap - 1, j = (ENTRY_HOME(e)) & mask;                                                     \
    while (!(EMPTY(&slots[j]))) j = (j + 1) & mask;                                                          \
    slots[j] = *e;                                                                                           \
    return &slots[j];                                                                                        \
  }                                                                                                          \
  static inline void name##_rehash(const entry_t *from, uint32_t from_cap, entry_t *to, uint32_t to_cap) {   \
    for (uint32_t i = 0; i < from_cap; i++)                                                                  \
      if (!(EMPTY(&from[i]))) name##_place(to, to_cap, &from[i]);                                            \
  }                                                                                                          \
                                                                                                             \
  static inline entry_t *name##_find(const name##_map *m, key_t key) {                                       \
    if (!m->cap) return NULL;                                                                                \
    entry_t *e = name##_slot(m->slots, m->cap, key);                                                         \
    return EMPTY(e) ? NULL : e;                                                                              \
  }                                                                                                          \
  static inline entry_t *name##_put(name##_map *m, key_t key) {                                              \
    return m->cap ? name##_slot(m->slots, m->cap, key) : NULL;                                               \
  }                                                                                                          \
  /* One more key would pass half load (or there are no slots yet). */                                       \
  static inline bool name##_needs_room(const name##_map *m) { return ms_hmap_over_half(m->n + 1, m->cap); }  \
  static inline void name##_claim(name##_map *m, entry_t *e) {                                               \
    (void)e;                                                                                                 \
    m->n++;                                                                                                  \
  }                                                                                                          \
  static inline void name##_del(name##_map *m, entry_t *e) {                                                 \
    name##_delete_at(m->slots, m->cap, (uint32_t)(e - m->slots));                                            \
    m->n--;                                                                                                  \
  }                                                                                                          \
  static inline void name##_clear(name##_map *m) {                                                           \
    if (m->slots) memset(m->slots, 0, (size_t)m->cap * sizeof *m->slots);                                    \
    m->n = 0;                                                                                                \
  }                                                                                                          \
  static inline entry_t *name##_resize(name##_map *m, entry_t *slots, uint32_t cap) {                        \
    entry_t *old = m->slots;                                                                                 \
    name##_rehash(old, m->cap, slots, cap);                                                                  \
    m->slots = slots;                                                                                        \
    m->cap = cap;                                                                                            \
    return old;                                                                                              \
  }                                                                                                          \
  /* Twice the slots (first_cap at first) from alloc (zeroed memory or NULL), the old ones to release;      \
   * -1 when alloc fails, the map unchanged. */                                                              \
  static inline int name##_grow(name##_map *m, uint32_t first_cap, void *(*alloc)(size_t),                   \
                                void (*release)(void *, size_t)) {                                           \
    uint32_t old_cap = m->cap, cap = old_cap ? old_cap * 2 : first_cap;                                      \
    entry_t *slots = alloc((size_t)cap * sizeof *slots);                                                     \
    if (!slots) return -1;                                                                                   \
    release(name##_resize(m, slots, cap), (size_t)old_cap * sizeof *slots);                                  \
    return 0;                                                                                                \
  }

#endif
