/* Scenario of LLVM lsan TestCases/Linux/guard-page.c: a thread switches to a 4 KiB malloc'd
 * context stack and spins there until the process exits. Clean (the stack block is reachable
 * from the thread's saved context). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started;

static void ctxfunc(void) {
  pthread_mutex_lock(&mu);
  started = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  for (;;) {
  }
}

static void *thread(void *arg) {
  (void)arg;
  ucontext_t ctx;
  if (getcontext(&ctx) < 0) exit(2);
  void *stack = malloc(1 << 12);
  if (!stack) exit(2);
  ctx.uc_stack.ss_sp = stack;
  ctx.uc_stack.ss_size = 1 << 12;
  makecontext(&ctx, ctxfunc, 0);
  setcontext(&ctx);
  exit(2);
}

int main(void) {
  pthread_t t;
  pthread_mutex_lock(&mu);
  if (pthread_create(&t, NULL, thread, NULL)) return 2;
  while (!started) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return 0;
}
