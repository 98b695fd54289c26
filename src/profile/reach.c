/* The reachability scan (reach.h): a conservative mark from the roots, as LeakSanitizer and the
 * Boehm collector do it, written for a process at exit: raw system calls, memory of its own,
 * no lock a stopped thread may hold. */
#include "reach.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/uio.h>

#include "../config/options.h"
#include "../util/elf_sym.h"
#include "../util/log.h"
#include "../util/maps.h"
#include "../util/raw_mem.h"
#include "../util/sort.h"
#include "ptr_map.h"
#include "stack_table.h"
#include "stop_world.h"
#include "unwind.h"

static bool ms_reach_on;
static ms_reach_result ms_reach_res;
static bool ms_reach_done;

enum { MS_SCAN_OFF, MS_SCAN_ON, MS_SCAN_NATIVE }; /* MEMSHIM_LEAK_SCAN's choices, in order */

/* Shells, which `memshim check` runs around most commands: bash keeps its variables in blocks the
 * scan finds no pointer to (valgrind finds them reachable; not understood yet), and a shell's
 * state at exit is not what a leak gate is asked about. */
static bool ms_is_shell(void) {
  static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "busybox"};
  const char *name = program_invocation_short_name;
  for (unsigned i = 0; name && i < sizeof shells / sizeof shells[0]; i++)
    if (strcmp(name, shells[i]) == 0) return true;
  return false;
}

void ms_reach_decide(void) {
  uint64_t mode = ms_opt_u64(MS_OPT_LEAK_SCAN);
  /* What CPython keeps until exit (interned strings, type caches, arenas) is not the user's
   * leak: a Python process is judged on growth unless the scan is asked for by name. */
  ms_reach_on = mode == MS_SCAN_ON ||
                (mode == MS_SCAN_NATIVE && !ms_is_shell() && !dlsym(RTLD_DEFAULT, "Py_IsInitialized"));
}

bool ms_reach_wanted(void) { return ms_reach_on; }
const ms_reach_result *ms_reach_last(void) { return ms_reach_done ? &ms_reach_res : NULL; }

/* ---- the mark ---- */

typedef struct {
  uintptr_t ptr, end; /* end: ptr + size, at least ptr + 1 (malloc(0) returns a block too) */
  uint64_t size;
  uint32_t site;
  uint32_t mark; /* MS_UNREACHED, MS_REACHED, MS_INDIRECT */
} ms_block;
enum { MS_UNREACHED, MS_REACHED, MS_INDIRECT };

typedef struct {
  ms_block *b;
  size_t n;
  uintptr_t lo, hi; /* of all blocks */
  uint32_t *work;   /* blocks marked and not yet scanned */
  size_t nwork;
  const ms_maps *maps;
} ms_heap;

static int ms_block_cmp(const void *a, const void *b) {
  const ms_block *x = a, *y = b;
  return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

/* The block holding address v, or -1. */
static long ms_heap_find(const ms_heap *h, uintptr_t v) {
  if (v < h->lo || v >= h->hi) return -1;
  size_t lo = 0, hi = h->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (h->b[mid].ptr <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo && v < h->b[lo - 1].end ? (long)(lo - 1) : -1;
}

/* Every word of words[0..n) that points into an unmarked block marks it `tag` and queues it.
 * skip: the block being scanned (a pointer to itself reaches nothing new), or -1. */
static void ms_scan_words(ms_heap *h, const uintptr_t *words, size_t n, uint32_t tag, long skip) {
  for (size_t k = 0; k < n; k++) {
    long i = ms_heap_find(h, words[k]);
    if (i < 0 || i == skip || h->b[i].mark != MS_UNREACHED) continue;
    h->b[i].mark = tag;
    h->work[h->nwork++] = (uint32_t)i;
  }
}

/* A heap block: live and in memory the allocator keeps mapped, read in place. */
static void ms_scan_block(ms_heap *h, long i, uint32_t tag) {
  uintptr_t lo = (h->b[i].ptr + 7) & ~(uintptr_t)7;
  uintptr_t hi = ms_maps_readable_end(h->maps, lo, h->b[i].end);
  if (hi > lo) ms_scan_words(h, (const uintptr_t *)lo, (hi - lo) / 8, tag, i);
}

/* A root range: copied with process_vm_readv, which says EFAULT where a direct read would
 * fault (a root's bounds come from the loader and the thread pointer, not from the allocator). */
static void ms_scan_root(ms_heap *h, uintptr_t lo, uintptr_t hi) {
  static uintptr_t buf[8192]; /* only the scanning thread uses it */
  lo = (lo + 7) & ~(uintptr_t)7;
  pid_t pid = ms_sys_getpid();
  while (lo + 8 <= hi) {
    size_t want = hi - lo < sizeof buf ? (hi - lo) & ~(size_t)7 : sizeof buf;
    struct iovec local = {buf, want}, remote = {(void *)lo, want};
    long got = syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0);
    if (got <= 0) { /* unreadable: on to the next page */
      lo = (lo + 4096) & ~(uintptr_t)4095;
      continue;
    }
    ms_scan_words(h, buf, (size_t)got / 8, MS_REACHED, -1);
    lo += (uintptr_t)got & ~(uintptr_t)7;
  }
}

static void ms_drain(ms_heap *h, uint32_t tag) {
  while (h->nwork) {
    uint32_t i = h->work[--h->nwork];
    ms_scan_block(h, (long)i, tag);
  }
}

/* Roots: the writable segments of every module but memshim's own (its jemalloc's metadata
 * points at every extent, and its tables are not the program's). */
static int ms_module_roots(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  ms_heap *h = arg;
  static const char marker = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && (uintptr_t)&marker >= lo && (uintptr_t)&marker < lo + ph->p_memsz) return 0;
  }
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    ms_scan_root(h, lo, lo + ph->p_memsz);
  }
  return 0;
}

/* A thread's static TLS (below the thread pointer on x86-64), its control block (above it: the
 * pthread_setspecific values live there) and glibc's DTV, whose entries point at the dynamic
 * TLS blocks. */
static void ms_tls_roots(ms_heap *h, uintptr_t tp, size_t static_size) {
  if (!tp || !ms_maps_find(h->maps, tp)) return;
  uintptr_t lo = tp > static_size ? tp - static_size : 0;
  const ms_range *r = ms_maps_find(h->maps, lo);
  if (!r) lo = ms_maps_find(h->maps, tp)->lo;
  ms_scan_root(h, lo, tp + 4096);
  uintptr_t dtv = ((const uintptr_t *)tp)[1];
  if (!dtv || !ms_maps_find(h->maps, dtv - 16)) return;
  uint64_t len = *(const uint64_t *)(dtv - 16); /* dtv[-1].counter: the entries allocated */
  if (len > 1 << 16) return;
  ms_scan_root(h, dtv - 16, dtv + 16 * (len + 1));
}

/* Blocks the dynamic loader allocated are reachable, as LeakSanitizer treats them: a thread's
 * DTV and dynamic TLS blocks are allocated by ld.so, and once the thread ended its control block
 * (holding the DTV pointer) lies in a stack glibc keeps for reuse, which is no root. */
static void ms_loader_roots(ms_heap *h) {
  uintptr_t lo, hi;
  void *probe = ms_elf_loaded_sym("ld-linux-x86-64.so.2", "_dl_get_tls_static_info");
  if (!probe || !ms_elf_text_range((uintptr_t)probe, &lo, &hi)) return;
  for (size_t i = 0; i < h->n; i++) {
    const ms_site *site = ms_stacks_site(h->b[i].site);
    if (!site || !site->depth || site->frames[0] < lo || site->frames[0] >= hi) continue;
    if (h->b[i].mark != MS_UNREACHED) continue;
    h->b[i].mark = MS_REACHED;
    h->work[h->nwork++] = (uint32_t)i;
  }
}

/* This thread's live stack at exit: from the frame that called exit() (after main returned:
 * glibc's own caller of main) up, and the registers that frame keeps across the call (the exit
 * machinery saved them somewhere below). Below lie the exit machinery's frames, over what main
 * and the functions it called left behind: a stale copy of a pointer there would keep a leaked
 * block reachable. Without the walk, the whole stack from here up. */
static void ms_exit_thread_roots(ms_heap *h) {
  uintptr_t lo, hi, sp, regs[MS_UNWIND_SAVED_REGS];
  if (!ms_elf_loaded_sym_range("libc.so.6", "exit", &lo, &hi) || !ms_unwind_caller_frame(lo, hi, &sp, regs)) {
    sp = (uintptr_t)__builtin_frame_address(0);
    memset(regs, 0, sizeof regs);
  }
  ms_scan_words(h, regs, MS_UNWIND_SAVED_REGS, MS_REACHED, -1);
  const ms_range *stack = ms_maps_find(h->maps, sp);
  if (stack) ms_scan_root(h, sp, stack->hi);
}

/* The static TLS the modules use, in bytes below the thread pointer (the same in every thread). */
typedef struct {
  uintptr_t tp;
  size_t size, used;
} ms_tls_probe;

static int ms_tls_module(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  ms_tls_probe *p = arg;
  uintptr_t at = (uintptr_t)info->dlpi_tls_data;
  if (at && at < p->tp && p->tp - at <= p->size && p->tp - at > p->used) p->used = p->tp - at;
  return 0;
}

/* glibc's static TLS size (_dl_get_tls_static_info, GLIBC_PRIVATE, what LeakSanitizer asks too)
 * includes a surplus no module may use yet; below the modules' blocks it holds no variable of
 * the program's, and a pointer left there (seen: one to a leaked block's address, in 1 run of
 * 10 with address randomization) would keep a leak reachable. So the roots stop at the lowest
 * module block. Asked before the world stops: dl_iterate_phdr takes the loader's lock. */
static size_t ms_static_tls_size(void) {
  void (*info)(size_t *, size_t *) =
    (void (*)(size_t *, size_t *))ms_elf_loaded_sym("ld-linux-x86-64.so.2", "_dl_get_tls_static_info");
  size_t size = 0, align = 0;
  if (info) info(&size, &align);
  ms_tls_probe p = {ms_thread_pointer(), size, 0};
  if (!size || !p.tp) return size;
  dl_iterate_phdr(ms_tls_module, &p);
  return p.used ? p.used : size;
}

/* ---- the scan ---- */

/* The live blocks, sorted, from the pointer table: with every other thread stopped, each of its
 * shard locks is free or held by a stopped thread (then -2: the caller lets the world run and
 * tries again). */
static int ms_heap_load(ms_heap *h, ms_raw_buf *blocks, ms_raw_buf *work) {
  ms_raw_buf raw;
  ms_ptr_entry *e;
  uint64_t n;
  int rc = ms_ptrs_copy_all(&e, &n, &raw.bytes);
  if (rc != 0) return rc;
  raw.p = e;
  h->b = ms_raw_buf_get(blocks, n * sizeof *h->b);
  h->work = ms_raw_buf_get(work, n * sizeof *h->work);
  if (!h->b || !h->work) {
    ms_raw_buf_put(&raw);
    return -1;
  }
  for (uint64_t i = 0; i < n; i++)
    h->b[i] = (ms_block){.ptr = e[i].ptr, .end = e[i].ptr + (e[i].bytes ? e[i].bytes : 1), .size = e[i].bytes,
                         .site = e[i].site};
  ms_raw_buf_put(&raw);
  h->n = n;
  ms_sort(h->b, n, sizeof *h->b, ms_block_cmp);
  h->lo = n ? h->b[0].ptr : 0;
  h->hi = 0;
  for (size_t i = 0; i < n; i++)
    if (h->b[i].end > h->hi) h->hi = h->b[i].end;
  return 0;
}

static void ms_lost_add(ms_snap_lost *l, bool direct, uint64_t bytes) {
  if (direct) l->direct_bytes += bytes, l->direct_count++;
  else l->indirect_bytes += bytes, l->indirect_count++;
}

/* Per-site sums of what stayed unreached, into raw memory kept for the report. */
static void ms_reach_sum(const ms_heap *h) {
  ms_reach_result *r = &ms_reach_res;
  uint32_t nsites = ms_stacks_count();
  ms_raw_buf sums;
  ms_snap_unreach_site *by_id = ms_raw_buf_get(&sums, ((size_t)nsites + 1) * sizeof *by_id);
  if (!by_id) return;
  for (size_t i = 0; i < h->n; i++) {
    const ms_block *b = &h->b[i];
    if (b->mark == MS_REACHED) continue;
    uint32_t id = b->site <= nsites ? b->site : 0;
    by_id[id].id = id;
    ms_lost_add(&by_id[id].lost, b->mark == MS_UNREACHED, b->size);
    ms_lost_add(&r->lost, b->mark == MS_UNREACHED, b->size);
  }
  unsigned k = 0;
  for (uint32_t id = 1; id <= nsites; id++)
    if (by_id[id].lost.direct_count || by_id[id].lost.indirect_count) by_id[k++] = by_id[id];
  r->sites = by_id; /* kept until the process ends */
  r->nsites = k;
}

static int ms_reach_site_cmp(const void *a, const void *b) {
  const ms_snap_lost *x = &((const ms_snap_unreach_site *)a)->lost, *y = &((const ms_snap_unreach_site *)b)->lost;
  uint64_t u = x->direct_bytes + x->indirect_bytes, v = y->direct_bytes + y->indirect_bytes;
  if (x->direct_bytes != y->direct_bytes) return x->direct_bytes > y->direct_bytes ? -1 : 1;
  return u > v ? -1 : u < v;
}

static const char *ms_reach_once(void) {
  ms_maps maps = {0};
  size_t tls_size = ms_static_tls_size();
  ms_heap h = {.maps = &maps};
  ms_raw_buf blocks = {0}, work = {0};
  int unknown = 0, rc = -2;
  for (int attempt = 0; attempt < 50 && rc == -2; attempt++) {
    if (attempt) { /* a stopped thread held a table lock: let it finish its call */
      ms_world_start();
      struct timespec ts = {0, 10 * 1000 * 1000};
      syscall(SYS_nanosleep, &ts, NULL);
    }
    unknown = ms_world_stop();
    if (unknown < 0) {
      ms_world_start();
      return "no free real-time signal to stop the threads with";
    }
    rc = ms_heap_load(&h, &blocks, &work);
  }
  if (rc == 0 && ms_maps_read(&maps) != 0) rc = -3; /* read with the world stopped: it holds still */
  const char *why = NULL;
  if (rc != 0) why = rc == -2 ? "a thread kept a profiler table locked" : rc == -3 ? "cannot read /proc/self/maps" : "out of memory";
  else if (unknown) why = "a thread could not be stopped (it blocks signals and is not in a system call)";
  if (!why) {
    ms_reach_res.blocks = h.n;
    ms_loader_roots(&h);
    dl_iterate_phdr(ms_module_roots, &h);
    ms_drain(&h, MS_REACHED);
    ms_exit_thread_roots(&h);
    ms_tls_roots(&h, ms_thread_pointer(), tls_size);
    const ms_stopped_thread *threads;
    unsigned nthreads = ms_world_threads(&threads);
    for (unsigned i = 0; i < nthreads; i++) {
      const ms_stopped_thread *t = &threads[i];
      if (t->tid < 0) continue;
      ms_reach_res.threads++;
      const ms_range *stack = ms_maps_find(&maps, t->sp);
      if (stack) ms_scan_root(&h, t->sp, stack->hi);
      ms_tls_roots(&h, t->tp, tls_size);
      ms_drain(&h, MS_REACHED);
    }
    ms_drain(&h, MS_REACHED);
    /* What a leaked block points to is leaked through it: indirectly (LeakSanitizer's split). */
    for (size_t i = 0; i < h.n; i++) {
      if (h.b[i].mark != MS_UNREACHED) continue; /* an indirect one was scanned when marked */
      ms_scan_block(&h, (long)i, MS_INDIRECT);
      ms_drain(&h, MS_INDIRECT);
    }
  }
  ms_world_start();
  if (!why) {
    ms_reach_sum(&h);
    ms_sort((void *)ms_reach_res.sites, ms_reach_res.nsites, sizeof *ms_reach_res.sites, ms_reach_site_cmp);
  }
  ms_raw_buf_put(&blocks);
  ms_raw_buf_put(&work);
  ms_maps_free(&maps);
  return why;
}

void ms_reach_run(void) {
  if (!ms_reach_on || ms_reach_done) return;
  const char *why = ms_reach_once();
  ms_reach_res.scanned = !why;
  ms_reach_res.why_not = why;
  ms_reach_done = true;
  if (why) ms_log_error("leak scan at exit not done: %s", why);
}
