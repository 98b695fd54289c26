/* Scenario of LLVM lsan TestCases/Linux/fork_and_leak.cpp: a forked child (no exec) leaks ten
 * blocks and exits; the parent passes the child's status on. Leak; allocated in main (child). */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid > 0) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  for (int i = 0; i < 10; i++) {
    void *volatile p = malloc(1337);
    (void)p;
  }
  return 0;
}
