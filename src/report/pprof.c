/* pprof's profile.proto (github.com/google/pprof/proto/profile.proto), gzipped, from a snapshot.
 *
 * Sample types: inuse_space, inuse_objects, alloc_space, alloc_objects (bytes/count of the heap,
 * estimates when sampling), plus device_inuse_space and device_alloc_space when any site holds
 * GPU bytes. One sample per call site, locations leaf first. Native frames carry their function
 * name (has_functions) and an address in their module's mapping: each module gets a mapping of
 * its own at (i + 1) << 40 with file offset 0, so address - memory_start is the frame's offset
 * in the module's ELF address space, and the mapping's build id (the ELF NT_GNU_BUILD_ID note)
 * lets a symbolizer find the same binary offline. Python frames are functions with a file name
 * and a line, without a mapping.
 *
 * Encoding: a hand-written varint/length-delimited writer into memory of our own
 * (util/raw_mem.h); gzip as stored deflate blocks with a CRC32 (RFC 1951/1952): no zlib inside
 * the preloaded library, no heap. */
#include <stdio.h>
#include <string.h>

#include "../util/hmap.h"
#include "../util/raw_mem.h"
#include "write.h"

/* ---- growable byte buffer on raw memory ---- */

typedef struct {
  unsigned char *p;
  size_t len, cap;
  int failed;
} ms_pb;

static void ms_pb_reserve(ms_pb *b, size_t more) {
  if (b->failed || b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + more) cap *= 2;
  unsigned char *p = ms_raw_alloc(cap);
  if (!p) {
    b->failed = 1;
    return;
  }
  if (b->len) memcpy(p, b->p, b->len);
  ms_raw_free(b->p, b->cap);
  b->p = p;
  b->cap = cap;
}

static void ms_pb_bytes(ms_pb *b, const void *s, size_t n) {
  ms_pb_reserve(b, n);
  if (b->failed) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void ms_pb_varint(ms_pb *b, uint64_t v) {
  unsigned char tmp[10];
  size_t n = 0;
  do {
    tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  ms_pb_bytes(b, tmp, n);
}

static void ms_pb_key(ms_pb *b, unsigned field, unsigned wire) { ms_pb_varint(b, (uint64_t)field << 3 | wire); }
static void ms_pb_uint(ms_pb *b, unsigned field, uint64_t v) {
  if (!v) return; /* proto3: zero is the default and not written */
  ms_pb_key(b, field, 0);
  ms_pb_varint(b, v);
}
static void ms_pb_len(ms_pb *b, unsigned field, const void *s, size_t n) {
  ms_pb_key(b, field, 2);
  ms_pb_varint(b, n);
  ms_pb_bytes(b, s, n);
}
/* Append a finished submessage, then empty the scratch buffer for the next one. */
static void ms_pb_sub(ms_pb *b, unsigned field, ms_pb *sub) {
  ms_pb_len(b, field, sub->p, sub->len);
  if (sub->failed) b->failed = 1;
  sub->len = 0;
}
static void ms_pb_release(ms_pb *b) { ms_raw_free(b->p, b->cap); }

/* ---- interning: strings, functions, locations, mappings (util/hmap.h on raw memory) ---- */

typedef struct {
  const char *a, *b;
  uint64_t n;
  uint64_t id; /* 0 = empty slot */
} ms_intern_slot;

static int ms_streq(const char *x, const char *y) { return x == y || (x && y && !strcmp(x, y)); }

static uint64_t ms_hash_str(uint64_t h, const char *s) {
  for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h * 1099511628211ull;
}

static uint32_t ms_intern_home(const ms_intern_slot *k) {
  uint64_t h = ms_hash_str(ms_hash_str(14695981039346656037ull ^ k->n, k->a), k->b);
  return (uint32_t)(h ^ (h >> 29));
}
#define MS_INTERN_EMPTY(e) ((e)->id == 0)
#define MS_INTERN_EQ(e, k) ((e)->n == (k)->n && ms_streq((e)->a, (k)->a) && ms_streq((e)->b, (k)->b))
MS_HMAP_DEFINE(ms_intern_tab, ms_intern_slot, const ms_intern_slot *, MS_INTERN_EMPTY, ms_intern_home, ms_intern_home,
               MS_INTERN_EQ, MS_HMAP_COPY, MS_HMAP_ZERO)

/* Sized once for what the snapshot can hold (at most half full): it never grows. */
typedef struct {
  ms_intern_tab_map map;
  uint64_t next_id;
} ms_intern;

static int ms_intern_init(ms_intern *t, size_t want, uint64_t first_id) {
  size_t cap = 64;
  while (cap < want * 2) cap *= 2;
  t->next_id = first_id;
  return cap > UINT32_MAX / 2 ? -1 : ms_intern_tab_grow(&t->map, (uint32_t)cap, ms_raw_alloc, ms_raw_free);
}

static void ms_intern_release(ms_intern *t) { ms_raw_free(t->map.slots, (size_t)t->map.cap * sizeof *t->map.slots); }

/* The id of (a, b, n), *created set when new. */
static uint64_t ms_intern_get(ms_intern *t, const char *a, const char *b, uint64_t n, int *created) {
  ms_intern_slot key = {a, b, n, 0}, *s = ms_intern_tab_put(&t->map, &key);
  *created = MS_INTERN_EMPTY(s);
  if (*created) {
    *s = (ms_intern_slot){a, b, n, t->next_id++};
    ms_intern_tab_claim(&t->map, s);
  }
  return s->id;
}

typedef struct {
  ms_pb out, scratch, scratch2, sample, packed;
  ms_intern strings, functions, locations, mappings;
} ms_pprof;

static uint64_t ms_pprof_str(ms_pprof *pp, const char *s) {
  int created;
  uint64_t id = ms_intern_get(&pp->strings, s ? s : "", NULL, 0, &created);
  if (created) ms_pb_len(&pp->out, 6, s ? s : "", s ? strlen(s) : 0);
  return id - 1; /* string table indices start at 0 (""), ids at 1 */
}

/* A string-table entry for a transient string (no interning): its index. */
static uint64_t ms_pprof_str_once(ms_pprof *pp, const char *s) {
  uint64_t idx = pp->strings.next_id++ - 1;
  ms_pb_len(&pp->out, 6, s, strlen(s));
  return idx;
}

static void ms_pprof_value_type(ms_pprof *pp, unsigned field, const char *type, const char *unit) {
  uint64_t t = ms_pprof_str(pp, type), u = ms_pprof_str(pp, unit);
  ms_pb_uint(&pp->scratch, 1, t);
  ms_pb_uint(&pp->scratch, 2, u);
  ms_pb_sub(&pp->out, field, &pp->scratch);
}

static uint64_t ms_pprof_mapping(ms_pprof *pp, const ms_snapshot *s, const char *module) {
  int created;
  uint64_t id = ms_intern_get(&pp->mappings, module, NULL, 0, &created);
  if (created) {
    uint64_t name = ms_pprof_str(pp, module), build = ms_pprof_str(pp, ms_snap_build_id(s, module));
    ms_pb_uint(&pp->scratch, 1, id);
    ms_pb_uint(&pp->scratch, 2, id << 40);
    ms_pb_uint(&pp->scratch, 3, ((id + 1) << 40) - 1);
    ms_pb_uint(&pp->scratch, 5, name);
    ms_pb_uint(&pp->scratch, 6, build);
    ms_pb_uint(&pp->scratch, 7, 1); /* has_functions */
    ms_pb_sub(&pp->out, 3, &pp->scratch);
  }
  return id;
}

static uint64_t ms_pprof_function(ms_pprof *pp, const char *name, const char *file) {
  int created;
  uint64_t id = ms_intern_get(&pp->functions, name, file, 0, &created);
  if (created) {
    uint64_t n = ms_pprof_str(pp, name), f = ms_pprof_str(pp, file);
    ms_pb_uint(&pp->scratch, 1, id);
    ms_pb_uint(&pp->scratch, 2, n);
    ms_pb_uint(&pp->scratch, 3, n);
    ms_pb_uint(&pp->scratch, 4, f);
    ms_pb_sub(&pp->out, 5, &pp->scratch);
  }
  return id;
}

static uint64_t ms_pprof_location(ms_pprof *pp, const ms_snapshot *s, const ms_snap_frame *f) {
  int created;
  uint64_t id;
  if (f->kind == MS_SNAP_PYTHON) {
    id = ms_intern_get(&pp->locations, f->file, f->function, ((uint64_t)1 << 63) | f->line, &created);
  } else {
    id = ms_intern_get(&pp->locations, f->module, f->function, f->offset, &created);
  }
  if (!created) return id;
  uint64_t mapping = 0, address = 0, fn;
  int64_t line = 0;
  if (f->kind == MS_SNAP_PYTHON) {
    fn = ms_pprof_function(pp, f->function, f->file);
    line = f->line;
  } else {
    const char *name = f->function && strcmp(f->function, "??") ? f->function : NULL;
    if (f->kind == MS_SNAP_NATIVE) {
      mapping = ms_pprof_mapping(pp, s, f->module ? f->module : "[unknown]");
      address = (mapping << 40) + f->offset;
    }
    if (name) {
      fn = ms_pprof_function(pp, name, "");
    } else {
      /* an unknown symbol: a function of its own per location, named module+offset */
      char label[512];
      ms_frame_label(f, label, sizeof label); /* "??" becomes module+offset */
      int c2;
      fn = ms_intern_get(&pp->functions, NULL, NULL, id, &c2);
      uint64_t n = ms_pprof_str_once(pp, label);
      ms_pb_uint(&pp->scratch, 1, fn);
      ms_pb_uint(&pp->scratch, 2, n);
      ms_pb_uint(&pp->scratch, 3, n);
      ms_pb_sub(&pp->out, 5, &pp->scratch);
    }
  }
  ms_pb_uint(&pp->scratch2, 1, fn);
  if (line > 0) ms_pb_uint(&pp->scratch2, 2, (uint64_t)line);
  ms_pb_uint(&pp->scratch, 1, id);
  ms_pb_uint(&pp->scratch, 2, mapping);
  ms_pb_uint(&pp->scratch, 3, address);
  ms_pb_sub(&pp->scratch, 4, &pp->scratch2);
  ms_pb_sub(&pp->out, 4, &pp->scratch);
  return id;
}

/* ---- gzip: stored deflate blocks + CRC32 ---- */

static uint32_t ms_crc32(uint32_t crc, const unsigned char *p, size_t n) {
  static uint32_t table[256];
  if (!table[1]) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
  }
  crc = ~crc;
  while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static void ms_gzip_stored(const unsigned char *p, size_t n, ms_out *o) {
  static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  ms_out_write(o, (const char *)header, sizeof header);
  size_t done = 0;
  do {
    size_t k = n - done > 65535 ? 65535 : n - done;
    unsigned char h[5] = {(unsigned char)(done + k == n), (unsigned char)(k & 0xff), (unsigned char)(k >> 8),
                          (unsigned char)(~k & 0xff), (unsigned char)((~k >> 8) & 0xff)};
    ms_out_write(o, (const char *)h, sizeof h);
    ms_out_write(o, (const char *)p + done, k);
    done += k;
  } while (done < n);
  uint32_t crc = ms_crc32(0, p, n), size = (uint32_t)n;
  unsigned char t[8] = {(unsigned char)crc, (unsigned char)(crc >> 8), (unsigned char)(crc >> 16), (unsigned char)(crc >> 24),
                        (unsigned char)size, (unsigned char)(size >> 8), (unsigned char)(size >> 16), (unsigned char)(size >> 24)};
  ms_out_write(o, (const char *)t, sizeof t);
}

/* ---- the profile ---- */

int ms_write_pprof(const ms_snapshot *s, ms_out *o) {
  ms_pprof pp;
  memset(&pp, 0, sizeof pp);
  size_t frames = 16;
  for (uint32_t i = 0; i < s->nsites; i++) frames += s->sites[i].nframes;
  int rc = -1;
  if (ms_intern_init(&pp.strings, 2 * frames + s->nmodules + 32, 1) || ms_intern_init(&pp.functions, frames, 1) ||
      ms_intern_init(&pp.locations, frames, 1) || ms_intern_init(&pp.mappings, s->nmodules + frames / 4 + 8, 1))
    goto done;
  ms_pprof_str(&pp, ""); /* index 0 */
  bool device = ms_snap_has_device(s);
  ms_pprof_value_type(&pp, 1, "inuse_space", "bytes");
  ms_pprof_value_type(&pp, 1, "inuse_objects", "count");
  ms_pprof_value_type(&pp, 1, "alloc_space", "bytes");
  ms_pprof_value_type(&pp, 1, "alloc_objects", "count");
  if (device) {
    ms_pprof_value_type(&pp, 1, "device_inuse_space", "bytes");
    ms_pprof_value_type(&pp, 1, "device_alloc_space", "bytes");
  }
  /* the modules in the snapshot's order first: the first mapping is the one pprof calls the
   * main binary, and the collector lists the executable first */
  for (unsigned i = 0; i < s->nmodules; i++) ms_pprof_mapping(&pp, s, s->modules[i].path);
  for (uint32_t i = 0; i < s->nsites; i++) {
    const ms_snap_site *site = &s->sites[i];
    if (!site->nframes) continue;
    uint64_t loc[256];
    uint32_t n = site->nframes < 256 ? site->nframes : 256;
    for (uint32_t k = 0; k < n; k++) loc[k] = ms_pprof_location(&pp, s, &site->frames[k]);
    ms_pb *sample = &pp.sample, *packed = &pp.packed;
    for (uint32_t k = 0; k < n; k++) ms_pb_varint(packed, loc[k]);
    ms_pb_sub(sample, 1, packed);
    int64_t v[6] = {site->heap.live_bytes, site->heap.live_count, (int64_t)site->heap.allocated_bytes,
                    (int64_t)site->heap.allocated_count, site->device.live_bytes, (int64_t)site->device.allocated_bytes};
    for (unsigned k = 0; k < (device ? 6u : 4u); k++) ms_pb_varint(packed, (uint64_t)v[k]);
    ms_pb_sub(sample, 2, packed);
    ms_pb_sub(&pp.out, 2, sample);
  }
  int64_t t0 = s->process.start_time * 1000000000ll;
  ms_pb_uint(&pp.out, 9, (uint64_t)(t0 + (int64_t)s->time_ms * 1000000ll));
  ms_pb_uint(&pp.out, 10, s->time_ms * 1000000ull);
  ms_pprof_value_type(&pp, 11, "space", "bytes");
  ms_pb_uint(&pp.out, 12, s->sample_bytes ? s->sample_bytes : 1);
  char comment[256];
  snprintf(comment, sizeof comment, "memshim %s report of %s (pid %lld)", s->reason ? s->reason : "?",
           s->process.command ? s->process.command : "?", (long long)s->process.pid);
  ms_pb_uint(&pp.out, 13, ms_pprof_str_once(&pp, comment));
  ms_pb_uint(&pp.out, 14, ms_pprof_str(&pp, "inuse_space"));
  if (pp.out.failed || pp.scratch.failed || pp.scratch2.failed || pp.sample.failed || pp.packed.failed) goto done;
  ms_gzip_stored(pp.out.p, pp.out.len, o);
  rc = 0;
done:
  ms_pb_release(&pp.out);
  ms_pb_release(&pp.scratch);
  ms_pb_release(&pp.scratch2);
  ms_pb_release(&pp.sample);
  ms_pb_release(&pp.packed);
  ms_intern_release(&pp.strings);
  ms_intern_release(&pp.functions);
  ms_intern_release(&pp.locations);
  ms_intern_release(&pp.mappings);
  return rc;
}
