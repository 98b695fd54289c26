/* The reachability scan's cases (LeakSanitizer's definition). Arg: the case.
 *   leak      a block whose last pointer is dropped in lose_block; a block that points to
 *             itself (still leaked); a leaked header holding the only pointer to a second block
 *             (that one leaked indirectly)
 *   clean     blocks held by a global, the main thread's static TLS, another thread's stack
 *             (the thread is blocked in a system call at exit), another thread's registers
 *             (it spins holding the pointer in a register only), and pthread_setspecific */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;
void *held_by_global;
__thread void *held_by_tls;
static atomic_int ready;
static pthread_key_t key;

static __attribute__((noinline)) void lose_block(void) {
  sink = malloc(1337);
  sink = NULL;
}

static __attribute__((noinline)) void lose_self_pointer(void) {
  void **p = malloc(64);
  p[0] = p;
  sink = NULL;
}

static __attribute__((noinline)) void lose_header(void) {
  void **h = malloc(100);
  h[0] = malloc(200);
  sink = h;
  sink = NULL;
}

static void *hold_on_stack(void *arg) {
  void *volatile onstack = malloc(555);
  (void)onstack;
  atomic_fetch_add(&ready, 1);
  for (;;) pause();
  return arg;
}

static void *hold_in_register(void *arg) {
  register unsigned long x = (unsigned long)malloc(777) ^ 0x5a5a5a5aUL; /* not a pointer in memory */
  atomic_fetch_add(&ready, 1);
  for (;;) {
    __asm__ volatile("" : "+r"(x));
    x ^= 0x5a5a5a5aUL; /* the real pointer, in a register, for half of the time */
    __asm__ volatile("" : "+r"(x));
    x ^= 0x5a5a5a5aUL;
  }
  return arg;
}

static void *hold_specific(void *arg) {
  pthread_setspecific(key, malloc(999));
  atomic_fetch_add(&ready, 1);
  for (;;) pause();
  return arg;
}

/* Dead stack below main still holds the pointers the functions above had: the scan, like
 * LeakSanitizer's, is conservative and would take them for live ones at exit. */
static __attribute__((noinline)) void scrub_stack(void) {
  volatile char junk[64 * 1024];
  memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "leak") == 0) {
    lose_block();
    lose_self_pointer();
    lose_header();
    scrub_stack();
    return 0;
  }
  if (strcmp(what, "clean") == 0) {
    held_by_global = malloc(100);
    held_by_tls = malloc(222);
    pthread_key_create(&key, NULL);
    pthread_t t;
    pthread_create(&t, NULL, hold_on_stack, NULL);
    pthread_create(&t, NULL, hold_specific, NULL);
    while (atomic_load(&ready) < 2) usleep(1000);
    return 0;
  }
  if (strcmp(what, "register") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, hold_in_register, NULL);
    while (atomic_load(&ready) < 1) usleep(1000);
    return 0;
  }
  fprintf(stderr, "usage: scan_cases leak|clean|register\n");
  return 2;
}
