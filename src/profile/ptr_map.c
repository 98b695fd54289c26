/* Sharded open-addressing hash set (linear probing, backward-shift deletion: no tombstones),
 * one lock per shard, tables from mmap. */
#include "ptr_map.h"

#include <pthread.h>
#include <string.h>

#include "../util/raw_mem.h"

#define MS_SHARDS 64
#define MS_SHARD_MIN_CAP 256

uint16_t ms_ptr_filter[1u << MS_FILTER_BITS];

typedef struct {
  pthread_mutex_t mu;
  ms_ptr_entry *slots; /* ptr == 0: empty */
  uint32_t cap, n;
  char pad[64 - sizeof(pthread_mutex_t) % 64];
} ms_shard;

static ms_shard ms_shards[MS_SHARDS] = {[0 ... MS_SHARDS - 1] = {.mu = PTHREAD_MUTEX_INITIALIZER}};
static uint64_t ms_ptrs_n, ms_ptrs_mem;

static void ms_filter_inc(uintptr_t p) {
  uint16_t *c = &ms_ptr_filter[ms_ptr_filter_slot(p)];
  uint16_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
  /* saturates: a full counter stays non-zero forever (only costs false positives) */
  while (v != UINT16_MAX && !__atomic_compare_exchange_n(c, &v, (uint16_t)(v + 1), 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

static void ms_filter_dec(uintptr_t p) {
  uint16_t *c = &ms_ptr_filter[ms_ptr_filter_slot(p)];
  uint16_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
  while (v != UINT16_MAX && v != 0 &&
         !__atomic_compare_exchange_n(c, &v, (uint16_t)(v - 1), 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

static inline ms_shard *ms_shard_of(uint64_t h) { return &ms_shards[(h >> 16) % MS_SHARDS]; }
static inline uint32_t ms_slot_of(uint64_t h, uint32_t cap) { return (uint32_t)(h >> 22) & (cap - 1); }

static int ms_shard_grow(ms_shard *s) {
  uint32_t cap = s->cap ? s->cap * 2 : MS_SHARD_MIN_CAP;
  ms_ptr_entry *slots = ms_raw_alloc((size_t)cap * sizeof *slots);
  if (!slots) return -1;
  for (uint32_t i = 0; i < s->cap; i++) {
    if (!s->slots[i].ptr) continue;
    uint32_t j = ms_slot_of(ms_ptr_hash(s->slots[i].ptr), cap);
    while (slots[j].ptr) j = (j + 1) & (cap - 1);
    slots[j] = s->slots[i];
  }
  ms_raw_free(s->slots, (size_t)s->cap * sizeof *s->slots);
  __atomic_add_fetch(&ms_ptrs_mem, (uint64_t)(cap - s->cap) * sizeof *slots, __ATOMIC_RELAXED);
  s->slots = slots;
  s->cap = cap;
  return 0;
}

int ms_ptrs_insert(const ms_ptr_entry *e, ms_ptr_entry *old) {
  uint64_t h = ms_ptr_hash(e->ptr);
  ms_shard *s = ms_shard_of(h);
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  if ((s->n + 1) * 2 > s->cap && ms_shard_grow(s) != 0 && s->n + 1 >= s->cap) {
    rc = -1;
    goto out;
  }
  uint32_t j = ms_slot_of(h, s->cap);
  while (s->slots[j].ptr && s->slots[j].ptr != e->ptr) j = (j + 1) & (s->cap - 1);
  if (s->slots[j].ptr) { /* same address recorded twice: a free we never saw */
    *old = s->slots[j];
    s->slots[j] = *e;
    rc = 1;
    goto out;
  }
  s->slots[j] = *e;
  s->n++;
  __atomic_add_fetch(&ms_ptrs_n, 1, __ATOMIC_RELAXED);
  ms_filter_inc(e->ptr);
out:
  pthread_mutex_unlock(&s->mu);
  return rc;
}

bool ms_ptrs_remove(const void *p, ms_ptr_entry *out) {
  uintptr_t key = (uintptr_t)p;
  uint64_t h = ms_ptr_hash(key);
  ms_shard *s = ms_shard_of(h);
  bool found = false;
  pthread_mutex_lock(&s->mu);
  if (!s->n) goto out;
  uint32_t mask = s->cap - 1, j = ms_slot_of(h, s->cap);
  while (s->slots[j].ptr && s->slots[j].ptr != key) j = (j + 1) & mask;
  if (!s->slots[j].ptr) goto out;
  *out = s->slots[j];
  found = true;
  /* backward-shift deletion */
  uint32_t hole = j;
  for (uint32_t k = (j + 1) & mask; s->slots[k].ptr; k = (k + 1) & mask) {
    uint32_t home = ms_slot_of(ms_ptr_hash(s->slots[k].ptr), s->cap);
    /* move k into the hole when its home is not in (hole, k] (cyclically) */
    bool between = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
    if (!between) {
      s->slots[hole] = s->slots[k];
      hole = k;
    }
  }
  s->slots[hole].ptr = 0;
  s->n--;
  __atomic_sub_fetch(&ms_ptrs_n, 1, __ATOMIC_RELAXED);
  ms_filter_dec(key);
out:
  pthread_mutex_unlock(&s->mu);
  return found;
}

uint64_t ms_ptrs_count(void) { return __atomic_load_n(&ms_ptrs_n, __ATOMIC_RELAXED); }
uint64_t ms_ptrs_memory(void) { return __atomic_load_n(&ms_ptrs_mem, __ATOMIC_RELAXED) + sizeof ms_ptr_filter; }

int ms_ptrs_copy_all(ms_ptr_entry **out, uint64_t *n, size_t *bytes) {
  int locked = 0;
  while (locked < MS_SHARDS && pthread_mutex_trylock(&ms_shards[locked].mu) == 0) locked++;
  int rc = locked < MS_SHARDS ? -2 : 0;
  uint64_t total = 0;
  for (int i = 0; i < locked; i++) total += ms_shards[i].n;
  *bytes = ((total ? total : 1) * sizeof **out + 4095) & ~(size_t)4095;
  *out = rc == 0 ? ms_raw_alloc(*bytes) : NULL;
  if (rc == 0 && !*out) rc = -1;
  *n = 0;
  for (int i = 0; rc == 0 && i < MS_SHARDS; i++)
    for (uint32_t j = 0; j < ms_shards[i].cap; j++)
      if (ms_shards[i].slots[j].ptr) (*out)[(*n)++] = ms_shards[i].slots[j];
  while (locked-- > 0) pthread_mutex_unlock(&ms_shards[locked].mu);
  return rc;
}

void ms_ptrs_lock_all(void) {
  for (int i = 0; i < MS_SHARDS; i++) pthread_mutex_lock(&ms_shards[i].mu);
}
void ms_ptrs_unlock_all(void) {
  for (int i = MS_SHARDS; i-- > 0;) pthread_mutex_unlock(&ms_shards[i].mu);
}
void ms_ptrs_atfork_child(void) {
  for (int i = 0; i < MS_SHARDS; i++) pthread_mutex_init(&ms_shards[i].mu, NULL);
}
