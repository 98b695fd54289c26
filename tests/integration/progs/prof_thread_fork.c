/* Forks while a second thread runs (the HF tokenizers hazard): memshim must warn once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *spin(void *arg) {
  (void)arg;
  sleep(2);
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, spin, NULL);
  usleep(20000);
  for (int i = 0; i < 2; i++) {
    pid_t pid = fork();
    if (pid == 0) exit(0); /* exit, not _exit: the child writes its own report */
    waitpid(pid, NULL, 0);
  }
  printf("forked twice\n");
  return 0;
}
