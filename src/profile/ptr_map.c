/* Sharded open-addressing hash set (util/hmap.h: linear probing, backward-shift deletion, no
 * tombstones), one lock per shard (util/forklock.h: no fork handler takes them), tables from mmap. */
#include "ptr_map.h"

#include <string.h>

#include "../util/forklock.h"
#include "../util/hmap.h"
#include "../util/raw_mem.h"

#define MS_SHARDS 64
#define MS_SHARD_MIN_CAP 256

uint16_t ms_ptr_filter[1u << MS_FILTER_BITS];

/* A table's capacity lives with its slots: one pointer store publishes both (a fork child never
 * sees a new capacity with old slots). */
typedef struct {
  uint64_t cap;
  ms_ptr_entry slots[]; /* ptr == 0: empty */
} ms_ptr_tab;

/* The lock is a util/forklock.h word taken by no fork handler (a sampled allocation or the
 * free of a sampled pointer inside another library's fork-guarded section may wait for it).
 * seq is odd while a holder changes the shard, busy the pointer it inserts or removes; a fork
 * child's first holder that finds seq odd repairs the shard (ms_shard_repair). */
typedef struct {
  ms_forklock lk;
  uint32_t seq;
  uintptr_t busy;
  ms_ptr_tab *tab;
  uint32_t n;
} ms_shard_state;
typedef struct {
  ms_shard_state st;
  char pad[64 - sizeof(ms_shard_state) % 64];
} ms_shard;

static ms_shard ms_shards[MS_SHARDS];
static uint64_t ms_ptrs_mem, ms_ptrs_dropped, ms_ptrs_repairs;

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

static inline ms_shard_state *ms_shard_of(uint64_t h) { return &ms_shards[(h >> 16) % MS_SHARDS].st; }
static inline size_t ms_tab_bytes(uint64_t cap) { return sizeof(ms_ptr_tab) + (size_t)cap * sizeof(ms_ptr_entry); }

/* The key last, after the rest of the entry: a slot a fork copied mid-write holds either its
 * old key (the pointer in flight, or one that is also in the previous slot of a backward
 * shift) or the whole new entry. */
static inline void ms_slot_put(ms_ptr_entry *d, const ms_ptr_entry *e) {
  d->bytes = e->bytes;
  d->site = e->site;
  d->count = e->count;
  __atomic_store_n(&d->ptr, e->ptr, __ATOMIC_RELEASE);
}

/* Each shard's table is a util/hmap.h table on bare slots: its capacity travels with the slots
 * (ms_ptr_tab), its count with the shard. Bits 16.. of the hash pick the shard, 22.. the slot. */
#define MS_PTR_HOME(p) ((uint32_t)(ms_ptr_hash(p) >> 22))
#define MS_PTR_EMPTY(e) ((e)->ptr == 0)
#define MS_PTR_ENTRY_HOME(e) MS_PTR_HOME((e)->ptr)
#define MS_PTR_EQ(e, p) ((e)->ptr == (p))
#define MS_PTR_CLEAR(e) __atomic_store_n(&(e)->ptr, 0, __ATOMIC_RELEASE)
MS_HMAP_DEFINE(ms_ptab, ms_ptr_entry, uintptr_t, MS_PTR_EMPTY, MS_PTR_ENTRY_HOME, MS_PTR_HOME, MS_PTR_EQ, ms_slot_put,
               MS_PTR_CLEAR)

static ms_ptr_tab *ms_tab_new(uint64_t cap) {
  ms_ptr_tab *t = ms_raw_alloc(ms_tab_bytes(cap));
  if (t) t->cap = cap;
  return t;
}

/* The slot that holds p, or the empty one where it goes (the table has room). */
static inline ms_ptr_entry *ms_tab_place(ms_ptr_tab *t, uintptr_t p) { return ms_ptab_slot(t->slots, (uint32_t)t->cap, p); }

static int ms_shard_grow(ms_shard_state *s) {
  uint64_t old_cap = s->tab ? s->tab->cap : 0, cap = old_cap ? old_cap * 2 : MS_SHARD_MIN_CAP;
  ms_ptr_tab *t = ms_tab_new(cap);
  if (!t) return -1;
  ms_ptr_tab *old = s->tab;
  if (old) ms_ptab_rehash(old->slots, (uint32_t)old_cap, t->slots, (uint32_t)cap);
  __atomic_store_n(&s->tab, t, __ATOMIC_RELEASE); /* then the old one goes: a child has one whole table */
  if (old) ms_raw_free(old, ms_tab_bytes(old_cap));
  __atomic_add_fetch(&ms_ptrs_mem, ms_tab_bytes(cap) - (old ? ms_tab_bytes(old_cap) : 0), __ATOMIC_RELAXED);
  return 0;
}

/* A fork child's, with the lock held, when the parent forked while a thread changed the shard.
 * The table is whole (see ms_shard_grow); an entry the fork may have torn is the pointer in
 * flight (its allocation not yet counted, or its free about to be) or a pointer found twice (a
 * backward shift under way): those are dropped, the rest go into a fresh table. A dropped
 * sample's bytes stay counted at its site in this child (its free is no longer recognised). */
static void ms_shard_repair(ms_shard_state *s) {
  ms_ptr_tab *old = s->tab;
  uint64_t kept = 0, dropped = 0, cap = MS_SHARD_MIN_CAP;
  if (old)
    for (uint64_t i = 0; i < old->cap; i++) kept += old->slots[i].ptr != 0;
  while (kept * 2 >= cap) cap *= 2;
  ms_ptr_tab *t = ms_tab_new(cap);
  if (t) __atomic_add_fetch(&ms_ptrs_mem, ms_tab_bytes(cap), __ATOMIC_RELAXED); /* the old one stays mapped */
  if (t && old) {
    for (uint64_t i = 0; i < old->cap; i++) {
      const ms_ptr_entry *e = &old->slots[i];
      if (!e->ptr) continue;
      if (e->ptr == s->busy) {
        dropped++;
        continue;
      }
      ms_ptr_entry *d = ms_tab_place(t, e->ptr);
      if (d->ptr) d->count = UINT32_MAX; /* found twice: both go below */
      else *d = *e;
    }
    for (uint64_t i = 0; i < old->cap; i++) { /* the pointers found twice */
      uintptr_t p = old->slots[i].ptr;
      if (!p || p == s->busy) continue;
      ms_ptr_entry *d = ms_tab_place(t, p);
      if (d->ptr && d->count == UINT32_MAX) {
        ms_ptab_delete_at(t->slots, (uint32_t)t->cap, (uint32_t)(d - t->slots));
        dropped += 2;
      }
    }
  } else if (old) {
    dropped = kept; /* out of memory: the shard starts empty */
  }
  s->tab = t;
  __atomic_store_n(&s->n, t && kept >= dropped ? (uint32_t)(kept - dropped) : 0, __ATOMIC_RELAXED);
  s->busy = 0;
  __atomic_add_fetch(&ms_ptrs_dropped, dropped, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ms_ptrs_repairs, 1, __ATOMIC_RELAXED);
  /* The filter may count dropped pointers: false positives only. */
}

static uint32_t *ms_shard_lock(ms_shard_state *s) {
  uint32_t *w = ms_forklock_lock(&s->lk);
  if (__builtin_expect(__atomic_load_n(&s->seq, __ATOMIC_RELAXED) & 1, 0)) ms_shard_repair(s);
  return w;
}

static void ms_shard_begin(ms_shard_state *s, uintptr_t key) {
  s->busy = key;
  __atomic_store_n(&s->seq, s->seq | 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE); /* a child sees the odd count before any change */
}

static void ms_shard_end(ms_shard_state *s) { __atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE); }

int ms_ptrs_insert(const ms_ptr_entry *e, ms_ptr_entry *old) {
  uint64_t h = ms_ptr_hash(e->ptr);
  ms_shard_state *s = ms_shard_of(h);
  int rc = 0;
  uint32_t *held = ms_shard_lock(s);
  ms_shard_begin(s, e->ptr);
  uint64_t cap = s->tab ? s->tab->cap : 0;
  if ((s->n + 1) * 2 > cap && ms_shard_grow(s) != 0 && s->n + 1 >= cap) {
    rc = -1;
    goto out;
  }
  ms_ptr_entry *d = ms_tab_place(s->tab, e->ptr);
  if (d->ptr) { /* same address recorded twice: a free we never saw */
    *old = *d;
    ms_slot_put(d, e);
    rc = 1;
    goto out;
  }
  ms_slot_put(d, e);
  __atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELAXED);
  ms_filter_inc(e->ptr);
out:
  ms_shard_end(s);
  ms_forklock_unlock(held);
  return rc;
}

bool ms_ptrs_remove(const void *p, ms_ptr_entry *out) {
  uintptr_t key = (uintptr_t)p;
  uint64_t h = ms_ptr_hash(key);
  ms_shard_state *s = ms_shard_of(h);
  bool found = false;
  uint32_t *held = ms_shard_lock(s);
  if (!s->n) goto out;
  ms_ptr_entry *d = ms_tab_place(s->tab, key);
  if (!d->ptr) goto out;
  *out = *d;
  found = true;
  ms_shard_begin(s, key);
  ms_ptab_delete_at(s->tab->slots, (uint32_t)s->tab->cap, (uint32_t)(d - s->tab->slots));
  __atomic_store_n(&s->n, s->n - 1, __ATOMIC_RELAXED);
  ms_filter_dec(key);
  ms_shard_end(s);
out:
  ms_forklock_unlock(held);
  return found;
}

/* The shards' own counts, which a fork child's repair keeps true (a separate total could be
 * copied between a shard's change and its own). */
uint64_t ms_ptrs_count(void) {
  uint64_t n = 0;
  for (int i = 0; i < MS_SHARDS; i++) n += __atomic_load_n(&ms_shards[i].st.n, __ATOMIC_RELAXED);
  return n;
}
uint64_t ms_ptrs_memory(void) { return __atomic_load_n(&ms_ptrs_mem, __ATOMIC_RELAXED) + sizeof ms_ptr_filter; }

int ms_ptrs_copy_all(ms_ptr_entry **out, uint64_t *n, size_t *bytes) {
  uint32_t *held[MS_SHARDS];
  int locked = 0;
  while (locked < MS_SHARDS && (held[locked] = ms_forklock_trylock(&ms_shards[locked].st.lk))) {
    ms_shard_state *s = &ms_shards[locked++].st;
    if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) & 1) ms_shard_repair(s); /* a fork child */
  }
  int rc = locked < MS_SHARDS ? -2 : 0;
  uint64_t total = 0;
  for (int i = 0; i < locked; i++) total += ms_shards[i].st.n;
  *bytes = ((total ? total : 1) * sizeof **out + 4095) & ~(size_t)4095;
  *out = rc == 0 ? ms_raw_alloc(*bytes) : NULL;
  if (rc == 0 && !*out) rc = -1;
  *n = 0;
  for (int i = 0; rc == 0 && i < MS_SHARDS; i++) {
    const ms_ptr_tab *t = ms_shards[i].st.tab;
    for (uint64_t j = 0; t && j < t->cap; j++)
      if (t->slots[j].ptr) (*out)[(*n)++] = t->slots[j];
  }
  while (locked-- > 0) ms_forklock_unlock(held[locked]);
  return rc;
}

uint64_t ms_ptrs_fork_dropped(void) { return __atomic_load_n(&ms_ptrs_dropped, __ATOMIC_RELAXED); }
uint64_t ms_ptrs_fork_repairs(void) { return __atomic_load_n(&ms_ptrs_repairs, __ATOMIC_RELAXED); }

/* The 64 shard locks share one page (64 bytes apart). */
void ms_ptrs_init(void) {
  uint32_t *page = ms_forklock_page();
  if (!page) return; /* the static fallbacks, which the child handler frees */
  for (int i = 0; i < MS_SHARDS; i++) ms_forklock_init_at(&ms_shards[i].st.lk, page + 16 * i);
}
void ms_ptrs_atfork_child(void) {
  for (int i = 0; i < MS_SHARDS; i++) ms_forklock_child(&ms_shards[i].st.lk);
}
