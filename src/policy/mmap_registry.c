/* Registry of file-backed mappings and the residency cap (see mmap_registry.h).
 *
 * Residency comes from /proc/self/pagemap, not mincore: for a file mapping mincore reports
 * whether a page is in the page cache (it stays there after MADV_DONTNEED, and pages this
 * process never touched count too), while pagemap's "present" bit is this process's page table,
 * which is what RssFile counts. Pagemap also tells file pages from anonymous ones (bit 61), so a
 * chunk holding a copy-on-write page is never dropped, whatever its protection says.
 *
 * A few dozen mappings at most in the programs we serve: a flat array, linear scans. */
#include "mmap_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../util/forklock.h"
#include "../util/proc.h"
#include "../util/raw_mem.h"

#define MS_MMAP_MAX_ENTRIES 1024
#define MS_CHUNK_BYTES (2u << 20)
#define MS_PAGE 4096u
#define MS_PM_PRESENT (1ull << 63)
#define MS_PM_FILE_OR_SHARED (1ull << 61)

typedef struct {
  uint32_t resident; /* present pages, last measured */
  uint32_t touched;  /* tick when resident last grew */
  uint32_t anon;     /* present anonymous pages: never drop */
} ms_chunk;

typedef struct {
  uintptr_t start, end; /* page-aligned */
  int prot, flags;
  ms_map_class cls;
  uint32_t site; /* the profiler's stack id of the mmap call, 0 when unknown */
  uint32_t nchunks;
  ms_chunk *chunks; /* raw mmap; NULL until measured or after a split */
} ms_entry;

/* The lock (util/forklock.h): no fork handler takes it, since a library whose prepare handler
 * runs after ours may wait for its own lock, held by a thread inside our mprotect waiting for
 * this one (Chromium's PartitionAlloc did); a fork child finds it free. */
static ms_forklock ms_mmap_lk;
static uint32_t *ms_lock_held; /* the word the holder took */
/* Odd while a holder may be changing the kernel's mappings or the registry. A holder finds it
 * odd only in a fork child whose parent forked in the middle: the registry is then repaired
 * (ms_registry_repair) before use. */
static uint32_t ms_seq;
/* The ranges the holder's system call may change, [lo, hi) twice (mremap has two). */
static uintptr_t ms_flight[4];
static ms_entry *ms_entries; /* raw mmap of MS_MMAP_MAX_ENTRIES */
static unsigned ms_nentries; /* atomic reads outside the lock */
static uint64_t ms_min_bytes = UINT64_MAX;
static uint32_t ms_tick;
static uint64_t ms_tracked_bytes, ms_resident_bytes, ms_dropped_bytes, ms_untracked_full;


static uintptr_t ms_page_up(uintptr_t x) { return (x + MS_PAGE - 1) & ~(uintptr_t)(MS_PAGE - 1); }

ms_map_class ms_mmap_classify(size_t len, int prot, int flags, int fd, uint64_t min_bytes) {
  if ((flags & MAP_ANONYMOUS) || fd < 0 || len < min_bytes || len == 0) return MS_MAP_IGNORE;
  int type = flags & MAP_TYPE;
  if (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) return MS_MAP_ELIGIBLE; /* page cache has it */
  if (!(prot & PROT_WRITE)) return MS_MAP_ELIGIBLE; /* private, unwritten: the file has it */
  return MS_MAP_KEEP;
}

void ms_mmap_registry_configure(uint64_t min_bytes) {
  ms_forklock_init(&ms_mmap_lk); /* before anything is tracked, with no holder */
  __atomic_store_n(&ms_min_bytes, min_bytes ? min_bytes : 1, __ATOMIC_RELEASE);
}

bool ms_mmap_registry_busy(void) { return __atomic_load_n(&ms_nentries, __ATOMIC_ACQUIRE) != 0; }

bool ms_mmap_registry_wants(size_t len, int prot, int flags, int fd) {
  return ms_mmap_classify(len, prot, flags, fd, __atomic_load_n(&ms_min_bytes, __ATOMIC_ACQUIRE)) !=
         MS_MAP_IGNORE;
}

static void ms_registry_repair(void);

void ms_mmap_lock_span(uintptr_t a, size_t alen, uintptr_t b, size_t blen) {
  ms_lock_held = ms_forklock_lock(&ms_mmap_lk);
  if (__atomic_load_n(&ms_seq, __ATOMIC_RELAXED) & 1) ms_registry_repair();
  __atomic_store_n(&ms_seq, ms_seq | 1, __ATOMIC_RELAXED);
  ms_flight[0] = a;
  ms_flight[1] = alen ? ms_page_up(a + alen) : a;
  ms_flight[2] = b;
  ms_flight[3] = blen ? ms_page_up(b + blen) : b;
  /* The child must see the odd count and the ranges before any effect of the call. */
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
void ms_mmap_lock(void) { ms_mmap_lock_span(0, 0, 0, 0); }
void ms_mmap_unlock(void) {
  __atomic_store_n(&ms_seq, ms_seq + 1, __ATOMIC_RELEASE);
  ms_forklock_unlock(ms_lock_held);
}

static void ms_entry_forget_chunks(ms_entry *e) {
  ms_raw_free(e->chunks, (size_t)e->nchunks * sizeof(ms_chunk));
  e->chunks = NULL;
  e->nchunks = 0;
}

static void ms_set_count(unsigned n) { __atomic_store_n(&ms_nentries, n, __ATOMIC_RELEASE); }

/* A slot a fork child may read half-written: it is marked invalid first and gets its class
 * last, so a valid class means a whole entry (ms_registry_repair). */
static void ms_entry_put(ms_entry *slot, ms_entry v) {
  ms_map_class cls = v.cls;
  __atomic_store_n(&slot->cls, MS_MAP_IGNORE, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  v.cls = MS_MAP_IGNORE;
  *slot = v;
  __atomic_store_n(&slot->cls, cls, __ATOMIC_RELEASE);
}

static void ms_entry_add(uintptr_t start, uintptr_t end, int prot, int flags, ms_map_class cls, uint32_t site) {
  if (!ms_entries) ms_entries = ms_raw_alloc(MS_MMAP_MAX_ENTRIES * sizeof(ms_entry));
  if (!ms_entries || ms_nentries >= MS_MMAP_MAX_ENTRIES) {
    /* Untracked is safe: it is only never dropped. */
    __atomic_add_fetch(&ms_untracked_full, 1, __ATOMIC_RELAXED);
    return;
  }
  ms_entry_put(&ms_entries[ms_nentries], (ms_entry){start, end, prot, flags, cls, site, 0, NULL});
  __atomic_add_fetch(&ms_tracked_bytes, end - start, __ATOMIC_RELAXED);
  ms_set_count(ms_nentries + 1);
}

bool ms_mmap_note_map_locked(uintptr_t addr, size_t len, int prot, int flags, int fd, uint32_t site) {
  uintptr_t end = ms_page_up(addr + len);
  /* MAP_FIXED replaces whatever was there. */
  if (ms_nentries) ms_mmap_note_unmap_locked(addr, end - addr);
  ms_map_class cls = ms_mmap_classify(len, prot, flags, fd, __atomic_load_n(&ms_min_bytes, __ATOMIC_ACQUIRE));
  if (cls == MS_MAP_IGNORE) return false;
  /* Only a regular file keeps the contents MADV_DONTNEED discards: an io_uring or AF_PACKET
   * ring, a GPU driver's /dev/nvidia* or any other device mapping is shared memory whose pages
   * would be lost (the host then dies of SIGBUS or reads zeros). Those are never tracked. */
  struct stat st;
  if (ms_sys_fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  ms_entry_add(addr, end, prot, flags, cls, site);
  return cls == MS_MAP_ELIGIBLE;
}

/* Remove [a, b) from the registry: entries inside it go, entries across it are cut. */
void ms_mmap_note_unmap_locked(uintptr_t a, size_t len) {
  uintptr_t b = ms_page_up(a + len);
  for (unsigned i = 0; i < ms_nentries;) {
    ms_entry *e = &ms_entries[i];
    if (e->end <= a || e->start >= b) { i++; continue; }
    uintptr_t cut_lo = e->start > a ? e->start : a, cut_hi = e->end < b ? e->end : b;
    __atomic_sub_fetch(&ms_tracked_bytes, cut_hi - cut_lo, __ATOMIC_RELAXED);
    ms_entry_forget_chunks(e);
    if (a <= e->start && b >= e->end) { /* whole entry: swap the last one in, look at i again */
      if (i != ms_nentries - 1) ms_entry_put(&ms_entries[i], ms_entries[ms_nentries - 1]);
      ms_set_count(ms_nentries - 1);
      continue;
    }
    if (a > e->start && b < e->end) { /* a hole in the middle: keep the left, add the right */
      ms_entry right = *e;
      right.start = b;
      e->end = a;
      __atomic_sub_fetch(&ms_tracked_bytes, right.end - right.start, __ATOMIC_RELAXED);
      ms_entry_add(right.start, right.end, right.prot, right.flags, right.cls, right.site);
    } else if (a <= e->start) {
      e->start = b;
    } else {
      e->end = a;
    }
    i++;
  }
}

void ms_mmap_note_remap_locked(uintptr_t old_addr, size_t old_len, uintptr_t new_addr, size_t new_len) {
  ms_entry moved = {0};
  bool tracked = false;
  for (unsigned i = 0; i < ms_nentries; i++) {
    if (ms_entries[i].start <= old_addr && old_addr < ms_entries[i].end) {
      moved = ms_entries[i];
      tracked = true;
      break;
    }
  }
  ms_mmap_note_unmap_locked(old_addr, old_len);
  ms_mmap_note_unmap_locked(new_addr, new_len); /* MREMAP_FIXED replaces the target */
  if (tracked) ms_entry_add(new_addr, ms_page_up(new_addr + new_len), moved.prot, moved.flags, moved.cls, moved.site);
}

/* A private mapping made writable may now hold data only this process has: never drop it. */
void ms_mmap_note_protect_locked(uintptr_t addr, size_t len, int prot) {
  if (!(prot & PROT_WRITE)) return;
  uintptr_t end = ms_page_up(addr + len);
  for (unsigned i = 0; i < ms_nentries; i++) {
    ms_entry *e = &ms_entries[i];
    if (e->end <= addr || e->start >= end) continue;
    int type = e->flags & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE) __atomic_store_n(&e->cls, MS_MAP_KEEP, __ATOMIC_RELAXED);
    e->prot |= prot;
  }
}

/* Pagemap entries of a run of chunks, read in one pread (used with the registry lock held). */
#define MS_PM_BATCH_CHUNKS 64
static uint64_t ms_pm_buf[MS_PM_BATCH_CHUNKS * (MS_CHUNK_BYTES / MS_PAGE)];

static uint32_t ms_chunk_pages(const ms_entry *e, uint32_t c) {
  uintptr_t lo = e->start + (uintptr_t)c * MS_CHUNK_BYTES;
  uintptr_t hi = lo + MS_CHUNK_BYTES < e->end ? lo + MS_CHUNK_BYTES : e->end;
  return (uint32_t)((hi - lo) / MS_PAGE);
}

/* Measure one entry; returns its resident pages (anonymous ones included: they are RSS too). */
static uint64_t ms_entry_measure(ms_entry *e, int pagemap_fd) {
  if (!e->chunks) {
    uint32_t n = (uint32_t)((e->end - e->start + MS_CHUNK_BYTES - 1) / MS_CHUNK_BYTES);
    e->chunks = ms_raw_alloc((size_t)n * sizeof(ms_chunk));
    if (!e->chunks) return 0;
    e->nchunks = n;
  }
  uint64_t pages = 0;
  for (uint32_t c0 = 0; c0 < e->nchunks; c0 += MS_PM_BATCH_CHUNKS) {
    uint32_t c1 = c0 + MS_PM_BATCH_CHUNKS < e->nchunks ? c0 + MS_PM_BATCH_CHUNKS : e->nchunks;
    uintptr_t lo = e->start + (uintptr_t)c0 * MS_CHUNK_BYTES;
    size_t npages = (size_t)(c1 - c0 - 1) * (MS_CHUNK_BYTES / MS_PAGE) + ms_chunk_pages(e, c1 - 1);
    size_t want = npages * sizeof(uint64_t);
    if (ms_sys_pread(pagemap_fd, ms_pm_buf, want, (off_t)(lo / MS_PAGE * sizeof(uint64_t))) != (ssize_t)want)
      return pages;
    const uint64_t *pm = ms_pm_buf;
    for (uint32_t c = c0; c < c1; c++) {
      ms_chunk *ch = &e->chunks[c];
      uint32_t n = ms_chunk_pages(e, c), present = 0, anon = 0;
      for (uint32_t i = 0; i < n; i++) {
        if (pm[i] & MS_PM_PRESENT) {
          present++;
          if (!(pm[i] & MS_PM_FILE_OR_SHARED)) anon++;
        }
      }
      pm += n;
      if (present > ch->resident) ch->touched = ms_tick;
      ch->resident = present;
      ch->anon = anon;
      pages += present;
    }
  }
  return pages;
}

/* The droppable chunk touched longest ago, or false when none is left. */
static bool ms_oldest_chunk(unsigned *ei, uint32_t *ci) {
  bool found = false;
  uint32_t best = UINT32_MAX;
  for (unsigned i = 0; i < ms_nentries; i++) {
    ms_entry *e = &ms_entries[i];
    if (e->cls != MS_MAP_ELIGIBLE || !e->chunks) continue;
    for (uint32_t c = 0; c < e->nchunks; c++) {
      ms_chunk *ch = &e->chunks[c];
      if (ch->resident && !ch->anon && (!found || ch->touched < best)) {
        found = true;
        best = ch->touched;
        *ei = i;
        *ci = c;
      }
    }
  }
  return found;
}

uint64_t ms_mmap_enforce(uint64_t limit_bytes, uint64_t target_bytes, uint64_t *resident) {
  uint64_t dropped = 0, pages = 0;
  ms_mmap_lock();
  /* Opened for each measure, never kept: a daemon that closes every descriptor and opens its
   * own must never find one of its files read by us. */
  int pagemap_fd = ms_sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
  if (pagemap_fd < 0) { /* no way to measure: drop nothing rather than guess */
    ms_mmap_unlock();
    *resident = 0;
    return 0;
  }
  ms_tick++;
  for (unsigned i = 0; i < ms_nentries; i++)
    if (ms_entries[i].cls == MS_MAP_ELIGIBLE) pages += ms_entry_measure(&ms_entries[i], pagemap_fd);
  ms_sys_close(pagemap_fd);
  unsigned ei;
  uint32_t ci;
  bool over = pages * MS_PAGE > limit_bytes;
  while (over && pages * MS_PAGE > target_bytes && ms_oldest_chunk(&ei, &ci)) {
    ms_entry *e = &ms_entries[ei];
    ms_chunk *ch = &e->chunks[ci];
    uintptr_t lo = e->start + (uintptr_t)ci * MS_CHUNK_BYTES;
    if (ms_sys_madvise((void *)lo, (size_t)ms_chunk_pages(e, ci) * MS_PAGE, MADV_DONTNEED) == 0)
      dropped += (uint64_t)ch->resident * MS_PAGE;
    pages -= ch->resident;
    ch->resident = 0;
  }
  ms_mmap_unlock();
  __atomic_store_n(&ms_resident_bytes, pages * MS_PAGE, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ms_dropped_bytes, dropped, __ATOMIC_RELAXED);
  *resident = pages * MS_PAGE;
  return dropped;
}

uint64_t ms_mmap_drop_all(uint64_t *shared_after) {
  ms_mmap_lock();
  uint64_t before = ms_proc_rss_shared();
  for (unsigned i = 0; i < ms_nentries; i++) {
    ms_entry *e = &ms_entries[i];
    if (e->cls != MS_MAP_ELIGIBLE) continue;
    bool anon = false;
    for (uint32_t c = 0; e->chunks && c < e->nchunks && !anon; c++) anon = e->chunks[c].anon != 0;
    if (anon) continue; /* a copy-on-write page lives only here: the measured path keeps it */
    if (ms_sys_madvise((void *)e->start, e->end - e->start, MADV_DONTNEED) != 0) continue;
    for (uint32_t c = 0; e->chunks && c < e->nchunks; c++) e->chunks[c].resident = 0;
  }
  uint64_t after = ms_proc_rss_shared();
  ms_mmap_unlock();
  uint64_t dropped = before > after ? before - after : 0;
  __atomic_store_n(&ms_resident_bytes, 0, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ms_dropped_bytes, dropped, __ATOMIC_RELAXED);
  *shared_after = after;
  return dropped;
}

void ms_mmap_counters_read(ms_mmap_counters *out) {
  *out = (ms_mmap_counters){
    .tracked_bytes = __atomic_load_n(&ms_tracked_bytes, __ATOMIC_RELAXED),
    .tracked_count = __atomic_load_n(&ms_nentries, __ATOMIC_RELAXED),
    .resident_bytes = __atomic_load_n(&ms_resident_bytes, __ATOMIC_RELAXED),
    .dropped_bytes = __atomic_load_n(&ms_dropped_bytes, __ATOMIC_RELAXED),
    .untracked_full = __atomic_load_n(&ms_untracked_full, __ATOMIC_RELAXED),
  };
}

/* Present and anonymous pages of [lo, hi), without touching the cap's chunk state (a report
 * must not make a chunk look recently grown). Registry lock held (ms_pm_buf). */
static void ms_range_pages(int pagemap_fd, uintptr_t lo, uintptr_t hi, uint64_t *present, uint64_t *anon) {
  const size_t batch = sizeof ms_pm_buf / sizeof ms_pm_buf[0];
  for (uintptr_t a = lo; a < hi;) {
    size_t n = (hi - a) / MS_PAGE < batch ? (hi - a) / MS_PAGE : batch;
    if (ms_sys_pread(pagemap_fd, ms_pm_buf, n * sizeof(uint64_t), (off_t)(a / MS_PAGE * sizeof(uint64_t))) !=
        (ssize_t)(n * sizeof(uint64_t)))
      return;
    for (size_t i = 0; i < n; i++)
      if (ms_pm_buf[i] & MS_PM_PRESENT) {
        (*present)++;
        if (!(ms_pm_buf[i] & MS_PM_FILE_OR_SHARED)) (*anon)++;
      }
    a += n * MS_PAGE;
  }
}

unsigned ms_mmap_registry_list(ms_mmap_item *out, unsigned max) {
  unsigned n = 0;
  ms_mmap_lock();
  int pagemap_fd = ms_nentries ? ms_sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0) : -1;
  for (unsigned i = 0; i < ms_nentries && n < max; i++) {
    const ms_entry *e = &ms_entries[i];
    uint64_t present = 0, anon = 0;
    if (pagemap_fd >= 0) ms_range_pages(pagemap_fd, e->start, e->end, &present, &anon);
    out[n++] = (ms_mmap_item){.start = e->start, .end = e->end, .site = e->site,
                              .resident_bytes = present * MS_PAGE, .anon_bytes = anon * MS_PAGE,
                              .droppable = e->cls == MS_MAP_ELIGIBLE, .measured = pagemap_fd >= 0};
  }
  if (pagemap_fd >= 0) ms_sys_close(pagemap_fd);
  ms_mmap_unlock();
  return n;
}

void ms_mmap_registry_visit(ms_mmap_visit_fn fn, void *arg) {
  ms_mmap_lock();
  for (unsigned i = 0; i < ms_nentries; i++) fn(ms_entries[i].start, ms_entries[i].end, ms_entries[i].cls, arg);
  ms_mmap_unlock();
}

void ms_mmap_registry_clear(void) {
  ms_mmap_lock();
  for (unsigned i = 0; i < ms_nentries; i++) ms_entry_forget_chunks(&ms_entries[i]);
  ms_set_count(0);
  __atomic_store_n(&ms_tracked_bytes, 0, __ATOMIC_RELAXED);
  ms_mmap_unlock();
}

/* In a fork child whose parent forked while a holder was mid-way (ms_seq odd), with the lock
 * held. That holder's system call may or may not have reached this copy of the address space,
 * and one slot may be half-written. Whatever is in doubt leaves the registry: an untracked
 * mapping is only never dropped, while a listed range that is no longer that file mapping could
 * lose data to MADV_DONTNEED. Kept: every whole entry outside the holder's ranges. Chunk arrays
 * are forgotten (a pointer may be half-written or freed; their pages are left to the child). */
static void ms_registry_repair(void) {
  unsigned n = ms_entries ? ms_nentries : 0, k = 0;
  if (n > MS_MMAP_MAX_ENTRIES) n = MS_MMAP_MAX_ENTRIES;
  uint64_t bytes = 0;
  for (unsigned i = 0; i < n; i++) {
    ms_entry e = ms_entries[i];
    bool ok = (e.cls == MS_MAP_KEEP || e.cls == MS_MAP_ELIGIBLE) && e.start < e.end &&
              !(e.start & (MS_PAGE - 1)) && !(e.end & (MS_PAGE - 1));
    /* A removal copies the last entry over the removed one: the copy may be there twice. */
    for (unsigned j = 0; ok && j < k; j++) ok = ms_entries[j].end <= e.start || ms_entries[j].start >= e.end;
    if (!ok) continue;
    e.chunks = NULL;
    e.nchunks = 0;
    ms_entries[k++] = e;
    bytes += e.end - e.start;
  }
  ms_set_count(k);
  __atomic_store_n(&ms_tracked_bytes, bytes, __ATOMIC_RELAXED);
  __atomic_store_n(&ms_resident_bytes, 0, __ATOMIC_RELAXED);
  for (int r = 0; r < 4; r += 2)
    if (ms_flight[r + 1] > ms_flight[r]) ms_mmap_note_unmap_locked(ms_flight[r], ms_flight[r + 1] - ms_flight[r]);
}

/* Nothing in prepare or parent (see ms_mmap_lk). */
void ms_mmap_atfork_child(void) { ms_forklock_child(&ms_mmap_lk); }
