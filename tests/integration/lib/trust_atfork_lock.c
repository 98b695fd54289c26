/* A library with a lock of its own taken by a pthread_atfork prepare handler, as an allocator
 * (PartitionAlloc, tcmalloc) has: the handler is registered by the constructor, and
 * atforklock_work maps, protects and unmaps memory while holding the lock; atforklock_alloc
 * allocates while holding it. Built by
 * trust_fork_atfork_lock.sh with cc -shared -fPIC; used by progs/trust_fork_atfork.c. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;

static void lib_prepare(void) { pthread_mutex_lock(&lib_mu); }
static void lib_release(void) { pthread_mutex_unlock(&lib_mu); }

__attribute__((constructor)) static void lib_init(void) {
  pthread_atfork(lib_prepare, lib_release, lib_release);
}

/* One round under the lock: a fresh mapping made writable (mprotect with PROT_WRITE takes the
 * mapping registry's path in memshim when a file mapping is tracked), then unmapped. Returns 0
 * when every call succeeded. */
int atforklock_work(void) {
  int bad = 0;
  pthread_mutex_lock(&lib_mu);
  size_t len = 64u << 10;
  void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    bad = 1;
  } else {
    if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0) bad = 1;
    else ((volatile char *)p)[0] = 1;
    if (munmap(p, len) != 0) bad = 1;
  }
  pthread_mutex_unlock(&lib_mu);
  return bad;
}

/* One allocation under the lock: on a new thread, its first, which memshim registers. */
int atforklock_alloc(void) {
  pthread_mutex_lock(&lib_mu);
  void *volatile p = malloc(4096 + (rand() & 4095)); /* sizes vary: samples of many sizes */
  int bad = p == NULL;
  free(p);
  pthread_mutex_unlock(&lib_mu);
  return bad;
}
