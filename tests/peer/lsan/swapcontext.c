/* Scenario of LLVM lsan TestCases/swapcontext.cpp, run with an argument (the coroutine runs on a
 * stack array of main that is zeroed afterwards): the block the coroutine allocates is leaked.
 * Changed: C, malloc instead of new[]. Leak; allocated in child. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

enum { STACK = 1 << 20 };

static void child(void) {
  int *volatile leaked = malloc(666 * sizeof(int));
  (void)leaked;
}

int main(int argc, char **argv) {
  static ucontext_t orig, ctx;
  char stack_memory[STACK + 1] __attribute__((aligned(16)));
  char *heap_memory = malloc(STACK + 1);
  char *stack = argc > 1 ? stack_memory : heap_memory;
  getcontext(&ctx);
  ctx.uc_stack.ss_sp = stack;
  ctx.uc_stack.ss_size = STACK / 2;
  ctx.uc_link = &orig;
  makecontext(&ctx, child, 0);
  if (swapcontext(&orig, &ctx) < 0) {
    perror("swapcontext");
    return 1;
  }
  memset(stack_memory, 0, sizeof stack_memory);
  free(heap_memory);
  return 0;
}
