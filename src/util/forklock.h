/* A lock that no fork handler has to take (docs/design.md, "Fork, signals, descriptors").
 *
 * A lock our prepare handler takes is held while the prepare handlers of libraries initialised
 * before us run (prepare handlers run in reverse order of registration); if one of them waits
 * for its own lock, whose owner waits inside one of our wrappers for ours, fork never returns.
 * This lock is a futex word (0 free, 1 held, 2 held with waiters) in a page marked
 * MADV_WIPEONFORK: a fork child finds it free whichever parent thread held it, even in a child
 * handler that runs before ours. What the lock protects must survive being copied mid-update
 * (the user keeps its own evidence of that). Before ms_forklock_init, or without
 * MADV_WIPEONFORK (kernels before 4.14), the word is the static fallback, which the user's
 * child handler frees with ms_forklock_child. */
#ifndef MEMSHIM_UTIL_FORKLOCK_H
#define MEMSHIM_UTIL_FORKLOCK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "raw_mem.h"
#include "sys.h"

typedef struct {
  uint32_t *word; /* NULL: the fallback */
  uint32_t fallback;
} ms_forklock;

static inline void ms_forklock_word_lock(uint32_t *w) {
  uint32_t c = 0;
  if (__atomic_compare_exchange_n(w, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
  int saved = errno;
  if (c != 2) c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
  while (c != 0) {
    ms_sys_futex_wait(w, 2, UINT64_MAX);
    c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
  }
  errno = saved;
}

static inline void ms_forklock_unlock(uint32_t *w);

/* Returns the word taken, for ms_forklock_unlock. errno is kept. A holder of the fallback that
 * finds the page published meanwhile lets go and takes the page's word. */
static inline uint32_t *ms_forklock_lock(ms_forklock *l) {
  for (;;) {
    uint32_t *w = __atomic_load_n(&l->word, __ATOMIC_ACQUIRE);
    if (w) {
      ms_forklock_word_lock(w);
      return w;
    }
    ms_forklock_word_lock(&l->fallback);
    if (!__atomic_load_n(&l->word, __ATOMIC_ACQUIRE)) return &l->fallback;
    ms_forklock_unlock(&l->fallback);
  }
}

/* A page marked MADV_WIPEONFORK (NULL without one): room for up to 64 lock words, 64 bytes
 * apart (word i at page + 16 * i). */
static inline uint32_t *ms_forklock_page(void) {
  uint32_t *page = ms_raw_alloc(4096);
  if (!page || ms_sys_madvise(page, 4096, MADV_WIPEONFORK) != 0) {
    ms_raw_free(page, 4096);
    return NULL;
  }
  return page;
}

/* Once per lock; threads may already use the fallback: the word is published under it. */
static inline void ms_forklock_init_at(ms_forklock *l, uint32_t *word) {
  if (__atomic_load_n(&l->word, __ATOMIC_ACQUIRE)) return;
  ms_forklock_word_lock(&l->fallback);
  __atomic_store_n(&l->word, word, __ATOMIC_RELEASE);
  ms_forklock_unlock(&l->fallback);
}

static inline void ms_forklock_init(ms_forklock *l) {
  if (__atomic_load_n(&l->word, __ATOMIC_ACQUIRE)) return;
  uint32_t *page = ms_forklock_page();
  if (page) ms_forklock_init_at(l, page);
}

/* The word taken, or NULL when the lock is held. errno is kept. */
static inline uint32_t *ms_forklock_trylock(ms_forklock *l) {
  for (;;) {
    uint32_t *w = __atomic_load_n(&l->word, __ATOMIC_ACQUIRE), *t = w ? w : &l->fallback, c = 0;
    if (!__atomic_compare_exchange_n(t, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return NULL;
    if (w || !__atomic_load_n(&l->word, __ATOMIC_ACQUIRE)) return t;
    ms_forklock_unlock(t);
  }
}

static inline void ms_forklock_unlock(uint32_t *w) {
  if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2) {
    int saved = errno;
    ms_sys_futex_wake(w, 1);
    errno = saved;
  }
}

/* In the fork child's handler: the fallback word may have been copied held. */
static inline void ms_forklock_child(ms_forklock *l) {
  if (!__atomic_load_n(&l->word, __ATOMIC_ACQUIRE)) __atomic_store_n(&l->fallback, 0, __ATOMIC_RELAXED);
}

#endif
