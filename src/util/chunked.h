/* An id -> record store whose records never move: ids 1, 2, ... index fixed-size chunks of
 * 2^SHIFT records, each mapped from the kernel (util/raw_mem.h) the first time an id in it is
 * asked for, zeroed, and kept for the process's life. A record's address is stable, so a
 * reader that learnt an id (published by the owner with a release store of its count) reads
 * the record without a lock.
 *
 * MS_CHUNKED_DEFINE(name, rec_t, SHIFT, NCHUNKS) expands to
 *   name_store                 a zero-initialised one is empty (static storage: no constructor)
 *   name_CAP                   the largest id, NCHUNKS << SHIFT
 *   name_at(s, id)             the record of id; its chunk exists (an id the store handed out)
 *   name_get(s, id, mem)       the record of id, its chunk mapped first when new (the bytes are
 *                              added to *mem, NULL for none); NULL for id 0, beyond name_CAP or
 *                              when the kernel gives no memory */
#ifndef MEMSHIM_UTIL_CHUNKED_H
#define MEMSHIM_UTIL_CHUNKED_H

#include <stdint.h>

#include "raw_mem.h"

#define MS_CHUNKED_DEFINE(name, rec_t, SHIFT, NCHUNKS)                                              \
  typedef struct {                                                                                \
    rec_t *chunk[NCHUNKS];                                                                        \
  } name##_store;                                                                                 \
  enum { name##_CAP = (NCHUNKS) << (SHIFT) };                                                     \
                                                                                                  \
  static inline rec_t *name##_at(const name##_store *s, uint32_t id) {                            \
    uint32_t i = id - 1;                                                                          \
    return &s->chunk[i >> (SHIFT)][i & ((1u << (SHIFT)) - 1)];                                    \
  }                                                                                               \
                                                                                                  \
  static inline rec_t *name##_get(name##_store *s, uint32_t id, uint64_t *mem) {                  \
    if (id == 0 || id > (uint32_t)name##_CAP) return NULL;                                        \
    rec_t **c = &s->chunk[(id - 1) >> (SHIFT)];                                                  \
    if (!*c) {                                                                                    \
      if (!(*c = ms_raw_alloc(sizeof(rec_t) << (SHIFT)))) return NULL;                            \
      if (mem) *mem += sizeof(rec_t) << (SHIFT);                                                  \
    }                                                                                             \
    return name##_at(s, id);                                                                      \
  }

#endif
