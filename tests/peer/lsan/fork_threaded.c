/* Scenario of LLVM lsan TestCases/Linux/fork_threaded.cpp: a block held in main's TLS; the
 * forked child calls exit() from a new thread. Clean (reachable from TLS in both processes). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__thread void *thread_local_var;

static void *exit_thread(void *arg) {
  (void)arg;
  exit(0);
}

int main(void) {
  thread_local_var = malloc(1337);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid > 0) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  pthread_t t;
  pthread_create(&t, 0, exit_thread, 0);
  pthread_join(t, 0);
  return 0;
}
