/* GPU state and fork: the parent allocates device memory, then forks; the child allocates its own
 * (the fake driver does not mind) and both exit. memshim must report in the child only what the
 * child allocated. */
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

int cudaMalloc(void **, size_t);
int cudaSetDevice(int);

__attribute__((noinline)) void parent_alloc(void) {
  void *p;
  CHECK(cudaMalloc(&p, 40 * MIB) == 0, "parent");
}
__attribute__((noinline)) void child_alloc(void) {
  void *p;
  CHECK(cudaMalloc(&p, 3 * MIB) == 0, "child");
}

int main(void) {
  CHECK(cudaSetDevice(0) == 0, "cudaSetDevice");
  parent_alloc();
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    child_alloc();
    printf("child %d\n", (int)getpid());
    return 0;
  }
  int st;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status");
  printf("parent %d\n", (int)getpid());
  return 0;
}
