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
#include "../util/raw_mem.h"
#include "../util/sort.h"
#include "ptr_map.h"
#include "stack_table.h"
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

/* ---- memory of the scan's own ---- */

typedef struct {
  void *p;
  size_t bytes;
} ms_raw_buf;

static void *ms_buf_get(ms_raw_buf *b, size_t bytes) {
  b->bytes = (bytes + 4095) & ~(size_t)4095;
  if (!b->bytes) b->bytes = 4096;
  b->p = ms_raw_alloc(b->bytes);
  return b->p;
}
static void ms_buf_put(ms_raw_buf *b) {
  ms_raw_free(b->p, b->bytes);
  b->p = NULL;
}

/* ---- readable memory: /proc/self/maps ---- */

typedef struct {
  uintptr_t lo, hi;
} ms_range;

typedef struct {
  ms_raw_buf buf;
  ms_range *v;
  size_t n;
} ms_maps;

static uintptr_t ms_hex(const char **s) {
  uintptr_t v = 0;
  for (;; (*s)++) {
    char c = **s;
    unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
    if (d == 16) return v;
    v = v * 16 + d;
  }
}

/* Reads the whole file into raw memory (grown by doubling); 0-terminated. */
static char *ms_read_all(const char *path, ms_raw_buf *b, size_t *len) {
  size_t cap = 1 << 16;
  for (;;) {
    if (!ms_buf_get(b, cap)) return NULL;
    int fd = ms_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
      ms_buf_put(b);
      return NULL;
    }
    size_t n = 0;
    ssize_t r;
    while (n < b->bytes - 1 && (r = ms_sys_read(fd, (char *)b->p + n, b->bytes - 1 - n)) > 0) n += (size_t)r;
    ms_sys_close(fd);
    if (n < b->bytes - 1) {
      ((char *)b->p)[n] = 0;
      *len = n;
      return b->p;
    }
    ms_buf_put(b);
    cap *= 2;
  }
}

static int ms_maps_read(ms_maps *m) {
  ms_raw_buf text;
  size_t len;
  char *s = ms_read_all("/proc/self/maps", &text, &len);
  if (!s) return -1;
  size_t lines = 1;
  for (size_t i = 0; i < len; i++) lines += s[i] == '\n';
  m->v = ms_buf_get(&m->buf, lines * sizeof *m->v);
  m->n = 0;
  if (!m->v) {
    ms_buf_put(&text);
    return -1;
  }
  for (const char *p = s; *p;) {
    uintptr_t lo = ms_hex(&p);
    if (*p == '-') p++;
    uintptr_t hi = ms_hex(&p);
    if (*p == ' ') p++;
    /* readable, and not [vvar] & co. (kernel pages some kernels refuse to read) */
    const char *nl = strchr(p, '\n');
    const char *name = nl ? nl : p + strlen(p);
    while (name > p && name[-1] != ' ') name--;
    if (p[0] == 'r' && hi > lo && strncmp(name, "[vvar", 5) != 0 && strncmp(name, "[vsys", 5) != 0)
      m->v[m->n++] = (ms_range){lo, hi};
    p = nl ? nl + 1 : p + strlen(p);
  }
  ms_buf_put(&text);
  return 0;
}

/* The readable mapping holding addr, or NULL (maps are sorted by address). */
static const ms_range *ms_maps_find(const ms_maps *m, uintptr_t addr) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->v[mid].hi <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo < m->n && m->v[lo].lo <= addr ? &m->v[lo] : NULL;
}

/* [lo, hi) clipped to the readable memory that starts at lo (contiguous mappings). */
static uintptr_t ms_maps_readable_end(const ms_maps *m, uintptr_t lo, uintptr_t hi) {
  const ms_range *r = ms_maps_find(m, lo);
  if (!r) return lo;
  uintptr_t end = r->hi;
  while (end < hi && r + 1 < m->v + m->n && r[1].lo == end) end = (++r)->hi;
  return end < hi ? end : hi;
}

/* ---- stopping the other threads ---- */

#define MS_STOP_MAX 4096
typedef struct {
  pid_t tid;
  uint32_t answered;
  uintptr_t sp, tp;
} ms_stop_slot;

/* Static: a late handler may still read them after the scan has ended. */
static ms_stop_slot ms_stop[MS_STOP_MAX];
static unsigned ms_nstop;
static uint32_t ms_stop_go, ms_stop_count;

static uintptr_t ms_thread_pointer(void) {
  uintptr_t tp;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}

/* Runs on each stopped thread: its registers are in the signal frame the kernel pushed just
 * above this handler's own frame, so the scan from `here` up covers them. */
static void ms_stop_handler(int sig, siginfo_t *info, void *uc) {
  (void)sig, (void)info, (void)uc;
  int saved = errno;
  pid_t tid = ms_sys_gettid();
  volatile uintptr_t here = 0;
  for (unsigned i = 0; i < ms_nstop; i++) {
    if (ms_stop[i].tid != tid) continue;
    ms_stop[i].sp = (uintptr_t)&here;
    ms_stop[i].tp = ms_thread_pointer();
    __atomic_store_n(&ms_stop[i].answered, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&ms_stop_count, 1, __ATOMIC_ACQ_REL);
    ms_sys_futex_wake(&ms_stop_count, 1);
    while (!__atomic_load_n(&ms_stop_go, __ATOMIC_ACQUIRE)) ms_sys_futex_wait(&ms_stop_go, 0, UINT64_MAX);
    break;
  }
  errno = saved;
}

/* A real-time signal nobody handles: ours for the scan's length. */
static int ms_stop_signal(struct sigaction *old) {
  for (int sig = SIGRTMAX; sig >= SIGRTMIN + 2; sig--) {
    if (sigaction(sig, NULL, old) != 0) continue;
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_DFL) return sig;
  }
  return -1;
}

static uint64_t ms_now_ms(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What a thread that did not answer is doing (/proc/self/task/TID/syscall: "nr args... sp pc"
 * while it sleeps in a system call, "running" otherwise): MS_THREAD_GONE (it has ended),
 * MS_THREAD_ASLEEP (*sp set) or MS_THREAD_RUNNING. */
enum { MS_THREAD_GONE, MS_THREAD_ASLEEP, MS_THREAD_RUNNING };
static int ms_thread_state(pid_t tid, uintptr_t *sp) {
  char path[64], buf[256];
  int n = 0;
  memcpy(path, "/proc/self/task/", 16);
  n = 16;
  char digits[16];
  int k = 0;
  for (unsigned v = (unsigned)tid; v || !k; v /= 10) digits[k++] = (char)('0' + v % 10);
  while (k) path[n++] = digits[--k];
  memcpy(path + n, "/syscall", 9);
  int fd = ms_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return MS_THREAD_GONE;
  ssize_t len = ms_sys_read(fd, buf, sizeof buf - 1);
  ms_sys_close(fd);
  if (len <= 0) return MS_THREAD_GONE; /* ended between the open and the read */
  buf[len] = 0;
  const char *p = buf;
  for (int field = 0; field < 7; field++) { /* skip nr and the six arguments */
    while (*p && *p != ' ') p++;
    if (!*p) return MS_THREAD_RUNNING;
    p++;
  }
  if (p[0] != '0' || p[1] != 'x') return MS_THREAD_RUNNING;
  p += 2;
  *sp = ms_hex(&p);
  return MS_THREAD_ASLEEP;
}

/* Signals every other thread and waits (at most 2 s, for a loaded machine) until each answered.
 * Returns the number of threads that neither answered nor sleep in a system call (their stacks
 * cannot be scanned), or -1 when no signal could be had. */
static int ms_stop_world(struct sigaction *old, int *sig_out) {
  int sig = ms_stop_signal(old);
  if (sig < 0) return -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = ms_stop_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) return -1;
  *sig_out = sig;
  __atomic_store_n(&ms_stop_go, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&ms_stop_count, 0, __ATOMIC_RELEASE);
  ms_nstop = 0;

  pid_t pid = ms_sys_getpid(), self = ms_sys_gettid();
  int fd = ms_sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  char dents[4096];
  long n;
  while ((n = syscall(SYS_getdents64, fd, dents, sizeof dents)) > 0) {
    for (long off = 0; off < n;) {
      struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(dents + off);
      off += d->reclen;
      if (d->name[0] < '0' || d->name[0] > '9') continue;
      pid_t tid = 0;
      for (const char *c = d->name; *c; c++) tid = tid * 10 + (*c - '0');
      if (tid == self || ms_nstop == MS_STOP_MAX) continue;
      ms_stop[ms_nstop++] = (ms_stop_slot){.tid = tid};
    }
  }
  ms_sys_close(fd);
  unsigned sent = 0;
  for (unsigned i = 0; i < ms_nstop; i++) {
    if (ms_sys_tgkill(pid, ms_stop[i].tid, sig) == 0) sent++;
    else ms_stop[i].tid = -1; /* gone: nothing to scan */
  }
  uint64_t deadline = ms_now_ms() + 2000;
  uint32_t seen;
  while ((seen = __atomic_load_n(&ms_stop_count, __ATOMIC_ACQUIRE)) < sent && ms_now_ms() < deadline)
    ms_sys_futex_wait(&ms_stop_count, seen, 50);
  /* A thread that blocks the signal is scanned from where it sleeps in the kernel. One that runs
   * with every signal blocked is most often a thread on its way out (glibc blocks them before it
   * frees the thread's resources): it is given another second to end or to sleep. */
  int unknown;
  deadline = ms_now_ms() + 1000;
  for (;;) {
    unknown = 0;
    for (unsigned i = 0; i < ms_nstop; i++) {
      if (ms_stop[i].tid < 0 || ms_stop[i].sp || __atomic_load_n(&ms_stop[i].answered, __ATOMIC_ACQUIRE)) continue;
      int state = ms_thread_state(ms_stop[i].tid, &ms_stop[i].sp);
      if (state == MS_THREAD_GONE) ms_stop[i].tid = -1;
      else if (state == MS_THREAD_RUNNING) unknown++;
    }
    if (!unknown || ms_now_ms() >= deadline) return unknown;
    struct timespec ts = {0, 5 * 1000 * 1000};
    syscall(SYS_nanosleep, &ts, NULL);
  }
}

static void ms_start_world(int sig, const struct sigaction *old) {
  __atomic_store_n(&ms_stop_go, 1, __ATOMIC_RELEASE);
  ms_sys_futex_wake(&ms_stop_go, 1 << 30);
  /* A thread that blocks the signal still has it pending: ignoring the signal discards it, so
   * the default action (ending the process) never meets it once the old disposition is back. */
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(sig, &ign, NULL);
  sigaction(sig, old, NULL);
}

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

static size_t ms_static_tls_size(void) {
  /* glibc's own answer (GLIBC_PRIVATE, what LeakSanitizer asks too) */
  void (*info)(size_t *, size_t *) =
    (void (*)(size_t *, size_t *))ms_elf_loaded_sym("ld-linux-x86-64.so.2", "_dl_get_tls_static_info");
  size_t size = 0, align = 0;
  if (info) info(&size, &align);
  return size;
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
  h->b = ms_buf_get(blocks, n * sizeof *h->b);
  h->work = ms_buf_get(work, n * sizeof *h->work);
  if (!h->b || !h->work) {
    ms_buf_put(&raw);
    return -1;
  }
  for (uint64_t i = 0; i < n; i++)
    h->b[i] = (ms_block){.ptr = e[i].ptr, .end = e[i].ptr + (e[i].bytes ? e[i].bytes : 1), .size = e[i].bytes,
                         .site = e[i].site};
  ms_buf_put(&raw);
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
  ms_snap_unreach_site *by_id = ms_buf_get(&sums, ((size_t)nsites + 1) * sizeof *by_id);
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
  struct sigaction old;
  int sig = -1, unknown = 0, rc = -2;
  for (int attempt = 0; attempt < 50 && rc == -2; attempt++) {
    if (attempt) { /* a stopped thread held a table lock: let it finish its call */
      ms_start_world(sig, &old);
      struct timespec ts = {0, 10 * 1000 * 1000};
      syscall(SYS_nanosleep, &ts, NULL);
    }
    unknown = ms_stop_world(&old, &sig);
    if (unknown < 0) {
      ms_buf_put(&maps.buf);
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
    for (unsigned i = 0; i < ms_nstop; i++) {
      const ms_stop_slot *t = &ms_stop[i];
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
  ms_start_world(sig, &old);
  if (!why) {
    ms_reach_sum(&h);
    ms_sort((void *)ms_reach_res.sites, ms_reach_res.nsites, sizeof *ms_reach_res.sites, ms_reach_site_cmp);
  }
  ms_buf_put(&blocks);
  ms_buf_put(&work);
  ms_buf_put(&maps.buf);
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
