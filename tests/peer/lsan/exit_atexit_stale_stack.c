/* Scenario of LLVM lsan TestCases/Linux/exit_atexit_stale_stack.cpp (EXPLICIT_EXIT variant):
 * the pointer returned by malloc is written only into a dead helper frame, then the program
 * calls exit(). x86-64 only. Leak; allocated in leak_to_dead_frame. Build -O0
 * -fno-omit-frame-pointer (the asm addresses the frame through %rbp). */
#include <stdlib.h>

__attribute__((noinline)) void leak_to_dead_frame(void) {
  __asm__ __volatile__("movl $100, %%edi\n\t"
                       "callq malloc@PLT\n\t"
                       "movq %%rax, -64(%%rbp)\n\t"
                       "xorq %%rax, %%rax\n\t"
                       :
                       :
                       : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
}

int main(void) {
  leak_to_dead_frame();
  exit(0);
}
