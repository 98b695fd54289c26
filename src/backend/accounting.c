/* Heap accounting (accounting.h). */
#include "accounting.h"

#include <pthread.h>
#include <string.h>

#include "../util/forklock.h"
#include "backend.h"

MS_TLS int ms_tls_guard;
const uint64_t ms_no_frees;

/* The thread list's lock (util/forklock.h): no fork handler takes it. A thread that holds
 * another library's fork lock registers here at its first allocation, and an activity tick reads
 * the counters here: held by our prepare handler, it made fork wait forever for that library's
 * prepare handler. The child rebuilds the list from the forward chain, which every update keeps
 * whole (see ms_accounting_atfork_child). */
static ms_forklock ms_registry_lk;
static uint32_t *ms_registry_lock(void) { return ms_forklock_lock(&ms_registry_lk); }
static ms_thread *ms_registry_head;
static pthread_key_t ms_thread_key;
static bool ms_thread_key_ready;
/* Totals of threads that have ended. */
static uint64_t ms_dead_alloc_calls, ms_dead_free_calls, ms_dead_je_allocated, ms_dead_je_deallocated;
static uint64_t ms_dead_glibc_freed;

static void ms_thread_fold_locked(ms_thread *t) {
  ms_dead_alloc_calls += t->alloc_calls;
  ms_dead_free_calls += t->free_calls;
  ms_dead_glibc_freed += t->glibc_freed;
  t->alloc_calls = t->free_calls = t->glibc_freed = 0;
  if (t->je_allocatedp) {
    uint64_t a = *t->je_allocatedp, d = *t->je_deallocatedp;
    ms_dead_je_allocated += a - t->je_allocated_base;
    ms_dead_je_deallocated += d - t->je_deallocated_base;
    t->je_allocated_base = a;
    t->je_deallocated_base = d;
  }
}

static void ms_thread_unlink_locked(ms_thread *t) {
  if (t->prev) t->prev->next = t->next;
  else ms_registry_head = t->next;
  if (t->next) t->next->prev = t->prev;
  t->next = t->prev = NULL;
  t->registered = 0;
}

/* pthread key destructor: the thread is ending. Allocations made after this (by later
 * destructors) register the thread again; the folded bases keep totals exact. */
static void ms_thread_exit(void *arg) {
  ms_thread *t = arg;
  /* Later allocations (other keys' destructors) take the tracked path again, so that they
   * register the thread again: the callback stays installed and ignores a tracked thread. */
  if (t->direct) ms_dispatch_set(t, MS_DISPATCH_TRACKED);
  uint32_t *lk = ms_registry_lock();
  if (t->registered) {
    ms_thread_fold_locked(t);
    ms_thread_unlink_locked(t);
  }
  ms_forklock_unlock(lk);
}

/* jemalloc's per-thread byte counters are found with mallctl, on the thread itself. The first
 * mallctl of a process costs about 150,000 instructions (jemalloc builds its control tree): a
 * shell or /bin/true must not pay that. So a thread binds its counters at registration only
 * once jemalloc's control tree exists; before that, at its next slow-path visit (an activity
 * tick, 1 MiB later, or a sample). The counters count from the thread's start, so nothing is
 * missed by binding late; only a reader in between does not see an unbound thread's bytes. */
void ms_thread_bind_counters(ms_thread *t) {
  if (t->je_allocatedp || ms_be_kind != MS_BE_JEMALLOC) return;
  uint64_t *a, *d;
  ms_guard_enter();
  ms_backend_thread_counters(&a, &d);
  ms_guard_leave();
  if (!a) return;
  uint32_t *lk = ms_registry_lock();
  t->je_allocated_base = 0;
  t->je_deallocated_base = 0;
  t->je_deallocatedp = d;
  __atomic_store_n(&t->je_allocatedp, a, __ATOMIC_RELEASE); /* last: a fork child's fold tests it */
  ms_forklock_unlock(lk);
  t->freed_p = d;
  t->free_mark = t->heap_mark = 0; /* the next free sets the real mark (ms_free_slow) */
}

void ms_thread_register(ms_thread *t) {
  ms_guard_enter();
  if (ms_be_kind == MS_BE_GLIBC && t->freed_p != &t->glibc_freed) {
    t->freed_p = &t->glibc_freed;
    t->free_mark = t->heap_mark = 0;
  }
  if (ms_backend_ctl_ready()) ms_thread_bind_counters(t);
  uint32_t *lk = ms_registry_lock();
  t->prev = NULL;
  t->next = ms_registry_head;
  if (ms_registry_head) ms_registry_head->prev = t;
  __atomic_store_n(&ms_registry_head, t, __ATOMIC_RELEASE); /* last: a fork child walks from it */
  t->registered = 1;
  ms_forklock_unlock(lk);
  if (ms_thread_key_ready) pthread_setspecific(ms_thread_key, t);
  ms_guard_leave();
}

void ms_accounting_init(void) {
  ms_forklock_init(&ms_registry_lk);
  if (!ms_thread_key_ready && pthread_key_create(&ms_thread_key, ms_thread_exit) == 0) {
    ms_thread_key_ready = true;
    if (ms_tls_thread.registered) pthread_setspecific(ms_thread_key, &ms_tls_thread);
  }
}

void ms_counters_read(ms_counters *out) {
  if (ms_tls_thread.registered) ms_thread_bind_counters(&ms_tls_thread); /* the reader's own, at least */
  memset(out, 0, sizeof *out);
  uint64_t je_a = 0, je_d = 0;
  bool have_je = false;
  uint32_t *lk = ms_registry_lock();
  out->alloc_calls = ms_dead_alloc_calls;
  out->free_calls = ms_dead_free_calls;
  uint64_t glibc_freed = ms_dead_glibc_freed;
  je_a = ms_dead_je_allocated;
  je_d = ms_dead_je_deallocated;
  for (ms_thread *t = ms_registry_head; t; t = t->next) {
    out->alloc_calls += __atomic_load_n(&t->alloc_calls, __ATOMIC_RELAXED);
    out->free_calls += __atomic_load_n(&t->free_calls, __ATOMIC_RELAXED);
    out->threads++;
    out->threads_direct += __atomic_load_n(&t->direct, __ATOMIC_RELAXED) == MS_DISPATCH_DIRECT;
    glibc_freed += __atomic_load_n(&t->glibc_freed, __ATOMIC_RELAXED);
    if (t->je_allocatedp) {
      have_je = true;
      je_a += __atomic_load_n(t->je_allocatedp, __ATOMIC_RELAXED) - t->je_allocated_base;
      je_d += __atomic_load_n(t->je_deallocatedp, __ATOMIC_RELAXED) - t->je_deallocated_base;
    }
  }
  ms_forklock_unlock(lk);
  out->freed_bytes = ms_be_kind == MS_BE_JEMALLOC ? je_d : glibc_freed;
  if (have_je || ms_be_kind == MS_BE_JEMALLOC) {
    out->live_bytes = je_a >= je_d ? je_a - je_d : 0;
  } else {
    ms_backend_stats st;
    if (ms_be.stats(&st) == 0) out->live_bytes = st.live;
  }
}

/* In the child only the forking thread exists: fold every other thread's counters (the
 * memory they allocated lives on in the child) and keep only ourselves registered. The lock was
 * not held across fork, so another thread may have been mid-update: the forward chain from the
 * head is whole at every step of a link or unlink (head is written last, an unlink rewires
 * prev->next first) and every thread on it still has its memory here (it unlinks itself before
 * it ends); a fold under way counts that thread's figures twice at most, in this child only. */
void ms_accounting_atfork_child(void) {
  ms_thread *self = &ms_tls_thread;
  for (ms_thread *t = ms_registry_head, *next; t; t = next) {
    next = t->next;
    if (t == self) continue;
    ms_thread_fold_locked(t);
  }
  ms_registry_head = NULL;
  if (self->registered) {
    self->next = self->prev = NULL;
    ms_registry_head = self;
  }
  ms_forklock_child(&ms_registry_lk);
}

void ms_heap_figures_read(ms_heap_figures *out) {
  ms_counters c;
  ms_counters_read(&c);
  ms_backend_stats st;
  memset(&st, 0, sizeof st);
  ms_be.stats(&st);
  out->live = c.live_bytes;
  out->returnable = st.retained;
  /* jemalloc: pages holding live objects plus freed pages not yet purged; glibc: its arenas. */
  uint64_t held = ms_be_kind == MS_BE_JEMALLOC ? st.active + st.retained : st.mapped;
  out->held = held > out->live ? held : out->live;
}
