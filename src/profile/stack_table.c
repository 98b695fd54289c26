#include "stack_table.h"

#include <string.h>

#include "../util/chunked.h"
#include "../util/forklock.h"
#include "../util/guard.h"
#include "../util/hmap.h"
#include "../util/raw_mem.h"

#define MS_ARENA_CHUNK (1u << 20)

/* Sites by id: 4096 a chunk, up to 4M distinct stacks (util/chunked.h). */
MS_CHUNKED_DEFINE(ms_sites, ms_site, 12, 1024)

/* The index: site ids (0 = empty) by their stack (util/hmap.h); a key is a stack and its hash. */
typedef struct {
  uint64_t hash;
  const uintptr_t *frames;
  unsigned depth;
} ms_stack_key;
static ms_sites_store ms_site_store;
#define MS_IDX_EMPTY(e) (*(e) == 0)
#define MS_IDX_HOME(e) ((uint32_t)ms_sites_at(&ms_site_store, *(e))->hash)
#define MS_IDX_KEY_HOME(k) ((uint32_t)(k)->hash)
static inline bool ms_idx_eq(const uint32_t *e, const ms_stack_key *k) {
  const ms_site *s = ms_sites_at(&ms_site_store, *e);
  return s->hash == k->hash && s->depth == k->depth && memcmp(s->frames, k->frames, k->depth * sizeof *k->frames) == 0;
}
MS_HMAP_DEFINE(ms_idx, uint32_t, const ms_stack_key *, MS_IDX_EMPTY, MS_IDX_HOME, MS_IDX_KEY_HOME, ms_idx_eq,
               MS_HMAP_COPY, MS_HMAP_ZERO)

/* No fork handler takes it (util/forklock.h): a sampled allocation inside another library's
 * fork-guarded section may wait for it. ms_stacks_seq is odd while a holder inserts; a fork
 * child's first holder that finds it odd repairs (ms_stacks_repair). */
static ms_forklock ms_stacks_lk;
static uint32_t ms_stacks_seq;
static uint32_t ms_stacks_repairs;
static uint32_t ms_sites_n; /* published with release after a site is complete */
static ms_idx_map ms_index; /* load <= 1/2 */
/* Bump arena for frame arrays. */
static char *ms_arena;
static size_t ms_arena_used, ms_arena_cap;
static uint64_t ms_mem_bytes;

static uint32_t ms_stacks_intern_locked(const uintptr_t *frames, unsigned depth, uint64_t h);
static void ms_stacks_repair(void);

static uint64_t ms_stack_hash(const uintptr_t *f, unsigned depth) {
  uint64_t h = 0xcbf29ce484222325ull ^ depth;
  for (unsigned i = 0; i < depth; i++) {
    h ^= (uint64_t)f[i];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h ? h : 1;
}

ms_site *ms_stacks_site(uint32_t id) {
  uint32_t n = __atomic_load_n(&ms_sites_n, __ATOMIC_ACQUIRE);
  if (id == 0 || id > n) return NULL;
  return ms_sites_at(&ms_site_store, id);
}

uint32_t ms_stacks_count(void) { return __atomic_load_n(&ms_sites_n, __ATOMIC_ACQUIRE); }
uint64_t ms_stacks_memory(void) { return __atomic_load_n(&ms_mem_bytes, __ATOMIC_RELAXED); }

static int ms_index_grow_locked(void) {
  uint32_t cap = ms_index.cap;
  if (ms_idx_grow(&ms_index, 1024, ms_raw_alloc, ms_raw_free) != 0) return -1;
  ms_mem_bytes += (uint64_t)(ms_index.cap - cap) * sizeof *ms_index.slots;
  return 0;
}

static uintptr_t *ms_arena_frames_locked(unsigned depth) {
  size_t bytes = (size_t)depth * sizeof(uintptr_t);
  if (ms_arena_used + bytes > ms_arena_cap) {
    char *a = ms_raw_alloc(MS_ARENA_CHUNK);
    if (!a) return NULL;
    ms_mem_bytes += MS_ARENA_CHUNK;
    ms_arena = a;
    ms_arena_used = 0;
    ms_arena_cap = MS_ARENA_CHUNK;
  }
  uintptr_t *f = (uintptr_t *)(ms_arena + ms_arena_used);
  ms_arena_used += bytes;
  return f;
}

/* Per-thread cache of recently seen stacks: a thread that allocates from the same places again
 * finds its site without the table lock (sites never move or change their frames). */
#define MS_STACK_CACHE 64
static MS_TLS struct {
  uint64_t hash;
  uint32_t id;
} ms_tls_stack_cache[MS_STACK_CACHE];

uint32_t ms_stacks_intern(const uintptr_t *frames, unsigned depth) {
  if (depth > MS_MAX_DEPTH) depth = MS_MAX_DEPTH;
  uint64_t h = ms_stack_hash(frames, depth);
  unsigned slot = (unsigned)(h >> 7) & (MS_STACK_CACHE - 1);
  if (ms_tls_stack_cache[slot].hash == h) {
    const ms_site *s = ms_stacks_site(ms_tls_stack_cache[slot].id);
    if (s && s->depth == depth && memcmp(s->frames, frames, depth * sizeof *frames) == 0) return s->id;
  }
  uint32_t id = ms_stacks_intern_locked(frames, depth, h);
  if (id) {
    ms_tls_stack_cache[slot].hash = h;
    ms_tls_stack_cache[slot].id = id;
  }
  return id;
}

static uint32_t ms_stacks_intern_locked(const uintptr_t *frames, unsigned depth, uint64_t h) {
  uint32_t id = 0;
  uint32_t *held = ms_forklock_lock(&ms_stacks_lk);
  if (__atomic_load_n(&ms_stacks_seq, __ATOMIC_RELAXED) & 1) ms_stacks_repair();
  __atomic_store_n(&ms_stacks_seq, ms_stacks_seq | 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE); /* a child sees the odd count before any change */
  if (ms_index.cap == 0 && ms_index_grow_locked() != 0) goto out;
  ms_stack_key key = {h, frames, depth};
  uint32_t *slot = ms_idx_put(&ms_index, &key);
  if (*slot) {
    id = *slot;
    goto out;
  }
  /* New site. */
  uint32_t n = ms_sites_n;
  ms_site *s = ms_sites_get(&ms_site_store, n + 1, &ms_mem_bytes);
  if (!s) goto out;
  uintptr_t *f = ms_arena_frames_locked(depth ? depth : 1);
  if (!f) goto out;
  memcpy(f, frames, depth * sizeof *frames);
  s->hash = h;
  s->frames = f;
  s->depth = depth;
  s->id = n + 1;
  *slot = n + 1;
  ms_idx_claim(&ms_index, slot);
  __atomic_store_n(&ms_sites_n, n + 1, __ATOMIC_RELEASE);
  id = n + 1;
  if (ms_idx_needs_room(&ms_index)) ms_index_grow_locked(); /* failure: keeps working, fuller */
out:
  __atomic_store_n(&ms_stacks_seq, ms_stacks_seq + 1, __ATOMIC_RELEASE);
  ms_forklock_unlock(held);
  return id;
}

void ms_site_alloc(ms_site *s, uint64_t bytes, uint32_t count) {
  int64_t live = __atomic_add_fetch(&s->live_bytes, (int64_t)bytes, __ATOMIC_RELAXED);
  __atomic_add_fetch(&s->live_count, (int64_t)count, __ATOMIC_RELAXED);
  __atomic_add_fetch(&s->alloc_bytes, bytes, __ATOMIC_RELAXED);
  __atomic_add_fetch(&s->alloc_count, count, __ATOMIC_RELAXED);
  uint64_t peak = __atomic_load_n(&s->peak_bytes, __ATOMIC_RELAXED);
  while (live > 0 && (uint64_t)live > peak &&
         !__atomic_compare_exchange_n(&s->peak_bytes, &peak, (uint64_t)live, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

void ms_site_free(ms_site *s, uint64_t bytes, uint32_t count) {
  __atomic_sub_fetch(&s->live_bytes, (int64_t)bytes, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&s->live_count, (int64_t)count, __ATOMIC_RELAXED);
}

static bool ms_peaks_reset;

void ms_stacks_peak_reset(void) {
  uint32_t n = ms_stacks_count();
  for (uint32_t id = 1; id <= n; id++) {
    ms_site *s = ms_stacks_site(id);
    int64_t live = __atomic_load_n(&s->live_bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&s->peak_bytes, live > 0 ? (uint64_t)live : 0, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&ms_peaks_reset, true, __ATOMIC_RELAXED);
}

bool ms_stacks_peaks_were_reset(void) { return __atomic_load_n(&ms_peaks_reset, __ATOMIC_RELAXED); }

/* A fork child's, with the lock held, when the parent forked while a thread inserted: the sites
 * up to ms_sites_n were published whole (release), so they stay; the index (perhaps half grown,
 * its pointer and capacity out of step) is rebuilt from them; the frame arena starts a new chunk
 * (its position may be torn). The old index and the unpublished site's frames are left unused. */
static void ms_stacks_repair(void) {
  uint32_t n = __atomic_load_n(&ms_sites_n, __ATOMIC_ACQUIRE), cap = 1024;
  while ((uint64_t)n * 2 >= cap) cap *= 2;
  ms_index = (ms_idx_map){0};
  uint32_t *idx = ms_raw_alloc((size_t)cap * sizeof *idx);
  if (idx) { /* else the next insert starts an empty index: known stacks get a second site */
    ms_index = (ms_idx_map){idx, cap, n};
    for (uint32_t id = 1; id <= n; id++) ms_idx_place(idx, cap, &id);
  }
  ms_arena_used = ms_arena_cap;
  __atomic_add_fetch(&ms_stacks_repairs, 1, __ATOMIC_RELAXED);
}

uint32_t ms_stacks_fork_repairs(void) { return __atomic_load_n(&ms_stacks_repairs, __ATOMIC_RELAXED); }
void ms_stacks_init(void) { ms_forklock_init(&ms_stacks_lk); }
void ms_stacks_atfork_child(void) { ms_forklock_child(&ms_stacks_lk); }
