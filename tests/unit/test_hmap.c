/* util/hmap.h and util/chunked.h on their own: insert, find, delete with backward shift (no
 * tombstones: a delete leaves every probe chain whole and the cluster one shorter), clusters
 * that wrap past the last slot, a table with one empty slot left, growth with the caller's
 * memory (and a failing allocator), the caller's move/clear hooks, a long random run against a
 * plain array; the chunked store's ids, bounds, chunk mapping and stable addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/chunked.h"
#include "util/hmap.h"

typedef struct {
  uint64_t key; /* 0 = empty */
  uint64_t val;
} ent;

/* The home is the key's bits 16..47: keys that differ only in their low 16 bits collide, and a
 * test picks a key's home slot by hand. */
static inline uint32_t key_home(uint64_t k) { return (uint32_t)(k >> 16); }
static unsigned moves, clears;
static inline void ent_move(ent *d, const ent *s) {
  moves++;
  *d = *s;
}
static inline void ent_clear(ent *e) {
  clears++;
  memset(e, 0, sizeof *e);
}
#define ENT_EMPTY(e) ((e)->key == 0)
#define ENT_HOME(e) key_home((e)->key)
#define ENT_EQ(e, k) ((e)->key == (k))
MS_HMAP_DEFINE(tm, ent, uint64_t, ENT_EMPTY, ENT_HOME, key_home, ENT_EQ, ent_move, ent_clear)

#define K(home, i) (((uint64_t)(home) << 16) | (uint64_t)(i))

/* The caller's memory: a counting allocator that can be told to fail. */
static size_t live_bytes;
static unsigned allocs;
static bool alloc_fails;
static void *t_alloc(size_t bytes) {
  if (alloc_fails) return NULL;
  allocs++;
  live_bytes += bytes;
  return calloc(1, bytes);
}
static void t_release(void *p, size_t bytes) {
  if (!p) return;
  live_bytes -= bytes;
  free(p);
}

static int setup(void **state) {
  (void)state;
  moves = clears = allocs = 0;
  live_bytes = 0;
  alloc_fails = false;
  return 0;
}

static ent *add(tm_map *m, uint64_t k, uint64_t v) {
  if (tm_needs_room(m)) assert_int_equal(tm_grow(m, 16, t_alloc, t_release), 0);
  ent *e = tm_put(m, k);
  assert_non_null(e);
  if (ENT_EMPTY(e)) {
    e->key = k;
    tm_claim(m, e);
  }
  e->val = v;
  return e;
}

/* Every entry is reached from its home without crossing an empty slot (the one invariant that
 * lookups need), and the count is right. */
static void check_chains(const tm_map *m) {
  uint32_t n = 0, mask = m->cap - 1;
  for (uint32_t i = 0; i < m->cap; i++) {
    if (ENT_EMPTY(&m->slots[i])) continue;
    n++;
    for (uint32_t j = key_home(m->slots[i].key) & mask; j != i; j = (j + 1) & mask)
      assert_false(ENT_EMPTY(&m->slots[j]));
  }
  assert_int_equal(n, m->n);
}

/* Slots from, from + 1, ... (wrapping) hold keys in this order, and the slot after them is empty
 * (a cluster with no tombstone at its end). */
static void expect_run(const tm_map *m, uint32_t from, const uint64_t *keys, unsigned n) {
  uint32_t mask = m->cap - 1;
  for (unsigned i = 0; i < n; i++) assert_int_equal(m->slots[(from + i) & mask].key, keys[i]);
  assert_true(ENT_EMPTY(&m->slots[(from + n) & mask]));
  check_chains(m);
}

static void test_basic(void **state) {
  (void)state;
  tm_map m = {0};
  assert_null(tm_find(&m, 5));  /* no slots yet */
  assert_null(tm_put(&m, 5));   /* nowhere to put it */
  assert_true(tm_needs_room(&m));
  ent *e = add(&m, K(3, 1), 10);
  assert_int_equal(m.cap, 16);
  assert_int_equal(m.n, 1);
  assert_ptr_equal(e, &m.slots[3]); /* at its home */
  assert_ptr_equal(tm_find(&m, K(3, 1)), e);
  assert_null(tm_find(&m, K(3, 2)));
  assert_null(tm_find(&m, K(4, 1)));
  add(&m, K(3, 1), 11); /* the same key again: the same entry */
  assert_int_equal(m.n, 1);
  assert_int_equal(tm_find(&m, K(3, 1))->val, 11);
  tm_del(&m, tm_find(&m, K(3, 1)));
  assert_int_equal(m.n, 0);
  assert_null(tm_find(&m, K(3, 1)));
  assert_int_equal(clears, 1);
  assert_int_equal(moves, 0);
  for (uint32_t i = 0; i < m.cap; i++) assert_true(ENT_EMPTY(&m.slots[i]));
  tm_clear(&m);
  t_release(m.slots, m.cap * sizeof *m.slots);
  assert_int_equal(live_bytes, 0);
}

/* A cluster of three keys at home 2 and two at home 3 (slots 2..6), then deletes. */
static void test_collisions_backward_shift(void **state) {
  (void)state;
  tm_map m = {0};
  assert_int_equal(tm_grow(&m, 16, t_alloc, t_release), 0);
  uint64_t a = K(2, 1), b = K(2, 2), c = K(3, 1), d = K(2, 3), e = K(3, 2);
  uint64_t keys[] = {a, b, c, d, e};
  for (unsigned i = 0; i < 5; i++) {
    ent *s = tm_put(&m, keys[i]);
    s->key = keys[i];
    s->val = i;
    tm_claim(&m, s);
  }
  expect_run(&m, 2, keys, 5); /* linear probing: in insertion order from slot 2 */

  /* delete b (slot 3): c (home 3) and d (home 2) and e (home 3) all move back one */
  tm_del(&m, tm_find(&m, b));
  expect_run(&m, 2, (uint64_t[]){a, c, d, e}, 4); /* no tombstone: the cluster is one shorter */
  assert_int_equal(moves, 3);
  assert_int_equal(clears, 1);

  /* delete a (slot 2): c's home is 3, so it may not move into slot 2; d (home 2) jumps over
   * it; e (home 3) then fills d's place */
  moves = 0;
  tm_del(&m, tm_find(&m, a));
  expect_run(&m, 2, (uint64_t[]){d, c, e}, 3);
  assert_int_equal(moves, 2);
  for (unsigned i = 0; i < 5; i++) {
    ent *f = tm_find(&m, keys[i]);
    if (keys[i] == a || keys[i] == b) assert_null(f);
    else assert_int_equal(f->val, i);
  }
  assert_int_equal(m.n, 3);
  t_release(m.slots, m.cap * sizeof *m.slots);
}

/* A cluster that runs past the last slot into slot 0: deletes move entries back across the
 * wrap, and an entry whose home is after the hole (cyclically) stays. */
static void test_wraparound(void **state) {
  (void)state;
  tm_map m = {0};
  assert_int_equal(tm_grow(&m, 16, t_alloc, t_release), 0);
  uint64_t k[] = {K(14, 1), K(14, 2), K(15, 1), K(14, 3), K(0, 1), K(1, 1)};
  for (unsigned i = 0; i < 6; i++) {
    ent *s = tm_put(&m, k[i]);
    s->key = k[i];
    tm_claim(&m, s);
  }
  expect_run(&m, 14, k, 6); /* slots 14 15 0 1 2 3 */
  tm_del(&m, tm_find(&m, k[1])); /* slot 15 */
  /* K(15,1) back to 15, K(14,3) to 0, K(0,1) to 1, K(1,1) to 2 */
  expect_run(&m, 14, (uint64_t[]){k[0], k[2], k[3], k[4], k[5]}, 5);
  tm_del(&m, tm_find(&m, k[0])); /* slot 14: K(15,1) stays (home 15), K(14,3) jumps to 14 */
  expect_run(&m, 14, (uint64_t[]){k[3], k[2], k[4], k[5]}, 4);
  assert_int_equal(m.n, 4);
  t_release(m.slots, m.cap * sizeof *m.slots);
}

/* Past half load the map asks for room; a table its caller fills to one empty slot (the bare
 * level: ptr_map's shards when growth failed) still finds every key and misses end. */
static void test_full(void **state) {
  (void)state;
  ent slots[8];
  memset(slots, 0, sizeof slots);
  tm_map m = {slots, 8, 0};
  for (unsigned i = 0; i < 4; i++) {
    assert_false(tm_needs_room(&m));
    ent *s = tm_put(&m, K(5, i + 1));
    s->key = K(5, i + 1);
    tm_claim(&m, s);
  }
  assert_true(tm_needs_room(&m)); /* a fifth key would pass half load */
  for (unsigned i = 4; i < 7; i++) {
    ent *s = tm_slot(slots, 8, K(5, i + 1));
    s->key = K(5, i + 1);
    m.n++;
  }
  check_chains(&m);
  for (unsigned i = 0; i < 7; i++) assert_non_null(tm_find(&m, K(5, i + 1)));
  assert_null(tm_find(&m, K(5, 99)));          /* the probe stops at the one empty slot */
  assert_ptr_equal(tm_put(&m, K(6, 1)), &slots[4]); /* slots 5..7, 0..3 are taken */
  /* growth with no memory: -1, the map as it was */
  alloc_fails = true;
  assert_int_equal(tm_grow(&m, 16, t_alloc, t_release), -1);
  assert_ptr_equal(m.slots, slots);
  assert_int_equal(m.cap, 8);
  assert_int_equal(m.n, 7);
  for (unsigned i = 0; i < 7; i++) assert_non_null(tm_find(&m, K(5, i + 1)));
  /* tm_resize into memory of the caller's: the old slots come back, every key moves */
  ent bigger[32];
  memset(bigger, 0, sizeof bigger);
  assert_ptr_equal(tm_resize(&m, bigger, 32), slots);
  assert_int_equal(m.cap, 32);
  for (unsigned i = 0; i < 7; i++) { /* one cluster again, from home 5 */
    ent *f = tm_find(&m, K(5, i + 1));
    assert_true(f >= &bigger[5] && f < &bigger[12]);
  }
  check_chains(&m);
  tm_clear(&m);
  assert_int_equal(m.n, 0);
  for (unsigned i = 0; i < 32; i++) assert_true(ENT_EMPTY(&bigger[i]));
}

/* Growth from nothing to 20000 keys: the capacity doubles, load stays at most one half, every
 * key is found with its value, and the old slots all go back to the caller. */
static void test_growth(void **state) {
  (void)state;
  tm_map m = {0};
  enum { N = 20000 };
  for (uint64_t i = 1; i <= N; i++) {
    uint32_t cap = m.cap;
    add(&m, i * 0x9E3779B97F4A7C15ull | 1, i);
    assert_true(m.cap == cap || m.cap == (cap ? cap * 2 : 16));
    assert_false(ms_hmap_over_half(m.n, m.cap));
  }
  assert_int_equal(m.n, N);
  assert_int_equal(m.cap, 65536);
  assert_int_equal(live_bytes, m.cap * sizeof(ent)); /* only the current slots are held */
  assert_int_equal(allocs, 13);                      /* 16 .. 65536 */
  for (uint64_t i = 1; i <= N; i++) assert_int_equal(tm_find(&m, i * 0x9E3779B97F4A7C15ull | 1)->val, i);
  check_chains(&m);
  t_release(m.slots, m.cap * sizeof *m.slots);
}

/* tm_place and tm_rehash: a rebuild from records (stack and Python tables after a fork). */
static void test_place_rehash(void **state) {
  (void)state;
  ent a[16], b[64];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  for (unsigned i = 0; i < 6; i++) tm_place(a, 16, &(ent){K(9, i + 1), i});
  tm_map m = {a, 16, 6};
  check_chains(&m);
  tm_rehash(a, 16, b, 64);
  tm_map mb = {b, 64, 6};
  check_chains(&mb);
  for (unsigned i = 0; i < 6; i++) assert_int_equal(tm_find(&mb, K(9, i + 1))->val, i);
  assert_int_equal(moves, 0); /* copies into unseen slots go around the caller's move hook */
}

/* Random inserts and deletes on a colliding key space against a plain array. */
static void test_random_model(void **state) {
  (void)state;
  enum { KEYS = 600 };
  static uint64_t model[KEYS]; /* value + 1, 0 = absent */
  memset(model, 0, sizeof model);
  tm_map m = {0};
  uint64_t x = 88172645463325252ull;
  for (unsigned step = 0; step < 200000; step++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    unsigned k = (unsigned)(x % KEYS);
    uint64_t key = K(k % 37, k + 1); /* 37 homes: long clusters */
    if ((x >> 32) % 3) {
      add(&m, key, step);
      model[k] = step + 1ull;
    } else {
      ent *e = tm_find(&m, key);
      assert_true((e != NULL) == (model[k] != 0));
      if (e) tm_del(&m, e);
      model[k] = 0;
    }
    if (step % 5000 == 0) check_chains(&m);
  }
  unsigned n = 0;
  for (unsigned k = 0; k < KEYS; k++) {
    ent *e = tm_find(&m, K(k % 37, k + 1));
    assert_true((e != NULL) == (model[k] != 0));
    if (e) {
      assert_int_equal(e->val + 1, model[k]);
      n++;
    }
  }
  assert_int_equal(m.n, n);
  check_chains(&m);
  t_release(m.slots, m.cap * sizeof *m.slots);
}

/* ---- util/chunked.h ---- */

typedef struct {
  uint64_t a, b;
} rec;
MS_CHUNKED_DEFINE(tc, rec, 4, 3) /* 16 records a chunk, ids 1..48 */

static void test_chunked(void **state) {
  (void)state;
  static tc_store s; /* zero: empty */
  uint64_t mem = 0;
  assert_int_equal(tc_CAP, 48);
  assert_null(tc_get(&s, 0, &mem));
  assert_null(tc_get(&s, 49, &mem));
  assert_int_equal(mem, 0);
  rec *r1 = tc_get(&s, 1, &mem);
  assert_non_null(r1);
  assert_int_equal(mem, 16 * sizeof(rec)); /* one chunk mapped */
  assert_int_equal(r1->a, 0);              /* zeroed */
  r1->a = 1;
  rec *r16 = tc_get(&s, 16, &mem);
  assert_ptr_equal(r16, r1 + 15); /* the same chunk */
  assert_int_equal(mem, 16 * sizeof(rec));
  rec *r17 = tc_get(&s, 17, &mem);
  assert_non_null(r17);
  assert_int_equal(mem, 2 * 16 * sizeof(rec)); /* the next chunk */
  rec *r48 = tc_get(&s, 48, NULL);               /* the last id; no counter */
  assert_non_null(r48);
  assert_ptr_equal(s.chunk[2] + 15, r48);
  for (uint32_t id = 1; id <= 48; id++) {
    rec *r = tc_get(&s, id, &mem);
    r->b = id;
    assert_ptr_equal(tc_at(&s, id), r); /* records never move */
  }
  assert_int_equal(mem, 2 * 16 * sizeof(rec)); /* chunk 3 was not counted: NULL counter */
  assert_int_equal(r1->a, 1);
  assert_int_equal(tc_at(&s, 17)->b, 17);
  for (unsigned c = 0; c < 3; c++) ms_raw_free(s.chunk[c], 16 * sizeof(rec));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_basic, setup),        cmocka_unit_test_setup(test_collisions_backward_shift, setup),
    cmocka_unit_test_setup(test_wraparound, setup),   cmocka_unit_test_setup(test_full, setup),
    cmocka_unit_test_setup(test_growth, setup),       cmocka_unit_test_setup(test_place_rehash, setup),
    cmocka_unit_test_setup(test_random_model, setup), cmocka_unit_test(test_chunked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
