/* fork under the shim. "single": the parent holds blocks, forks; the child reads them, frees
 * them, allocates and frees more, reads memshim's counters, and exits 0. "threads": three
 * threads allocate and free without pause while the main thread forks three times; every
 * child must allocate and exit cleanly (no deadlock on an allocator lock held across fork).
 * "threads-openmp": the same with an OpenMP runtime (libgomp) loaded, the pool that breaks in a
 * fork child. Exit 0 when every child exited 0; the test counts memshim's fork warnings. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int (*stat_fn)(const char *, uint64_t *);
static volatile int stop;

static int child_work(char **held, int nheld) {
  for (int i = 0; i < nheld; i++) {
    if (held[i][0] != (char)i || held[i][99] != (char)i) return 3;
    free(held[i]);
  }
  void *blocks[1000];
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 1000; i++) blocks[i] = malloc(16 + (size_t)(i * 37 % 5000));
    for (int i = 0; i < 1000; i++) free(blocks[i]);
  }
  if (stat_fn) {
    uint64_t live = 0, allocs = 0;
    if (stat_fn("heap.live", &live) != 0 || stat_fn("calls.alloc", &allocs) != 0) return 4;
    if (allocs < 20000) return 5; /* the child's own calls are counted */
  }
  return 0;
}

static void *churn(void *arg) {
  (void)arg;
  while (!stop) {
    void *p[64];
    for (int i = 0; i < 64; i++) p[i] = malloc(8 + (size_t)i * 24);
    for (int i = 0; i < 64; i++) free(p[i]);
  }
  return NULL;
}

static int fork_and_wait(char **held, int nheld) {
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) _exit(child_work(held, nheld));
  int status;
  alarm(60); /* a deadlocked child fails the test instead of hanging it */
  if (waitpid(pid, &status, 0) < 0) { perror("waitpid"); return 1; }
  alarm(0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "found_fork: child failed (status 0x%x)\n", status);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "single";
  stat_fn = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "memshim_stat");
  char *held[100];
  for (int i = 0; i < 100; i++) {
    held[i] = malloc(100 + (size_t)i * 1000);
    memset(held[i], i, 100);
  }
  int fail = 0;
  if (strcmp(mode, "threads-openmp") == 0 && !dlopen("libgomp.so.1", RTLD_NOW)) {
    fprintf(stderr, "found_fork: cannot load libgomp.so.1: %s\n", dlerror());
    return 2;
  }
  if (strncmp(mode, "threads", 7) == 0) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn, NULL);
    usleep(20000);
    for (int i = 0; i < 3 && !fail; i++) fail |= fork_and_wait(held, 100);
    stop = 1;
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  } else {
    fail = fork_and_wait(held, 100);
  }
  for (int i = 0; i < 100; i++) free(held[i]);
  printf("found_fork %s: %s\n", mode, fail ? "FAILED" : "children exited cleanly");
  return fail;
}
