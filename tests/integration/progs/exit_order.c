/* memshim's exit sequence on the ways a program ends (tests/integration/exit_order.sh).
 *   exit_order HOW STATUS LEAK_SECONDS
 * Loads the fake CUDA runtime (libcudart.so.12 on LD_LIBRARY_PATH), allocates 24 MiB of device
 * memory in device_weights(), waits for memshim's thread, leaks host memory steadily for
 * LEAK_SECONDS (0: none; the leak check's verdict needs the run), then ends with STATUS by HOW:
 *   exit    exit(STATUS) from main
 *   return  return STATUS from main
 *   thread  exit(STATUS) from a second thread while main waits to join it
 *   vfork   first a vfork() child whose exec fails calls exit(127) (it runs the exit handlers and
 *           destructors in our memory), then exit(STATUS) from main
 * Prints "pid N" and, for vfork, "vfork child N". */
#include <pthread.h>

#include "trust_util.h"

static int (*cuda_malloc)(void **, size_t);
static int status;

static __attribute__((noinline)) void device_weights(void) {
  void *p;
  if (cuda_malloc(&p, 24u << 20) != 0) trust_fail("cudaMalloc failed");
}

static void **leaks;
static size_t nleaks;
static __attribute__((noinline)) void remember_forever(void) {
  void *p = malloc(65536);
  memset(p, 1, 65536);
  leaks[nleaks++] = p;
}

/* 50 leaks a second on the program's clock (as prof_leaky: a starved stretch catches up). */
static void leak_for(double secs) {
  leaks = calloc(1 << 16, sizeof *leaks);
  uint64_t t0 = trust_now_ms();
  uint64_t t;
  while ((t = trust_now_ms() - t0) < (uint64_t)(secs * 1000)) {
    while (nleaks < t / 20 && nleaks < (1u << 16)) remember_forever();
    trust_sleep_ms(2);
  }
}

static void *exit_from_thread(void *arg) {
  (void)arg;
  fflush(stdout);
  exit(status);
}

int main(int argc, char **argv) {
  if (argc != 4) trust_fail("usage: exit_order exit|return|thread|vfork STATUS LEAK_SECONDS");
  const char *how = argv[1];
  status = atoi(argv[2]);
  void *rt = dlopen("libcudart.so.12", RTLD_NOW | RTLD_GLOBAL);
  if (!rt || !(cuda_malloc = (int (*)(void **, size_t))dlsym(rt, "cudaMalloc"))) trust_fail("no fake libcudart.so.12: %s", dlerror());
  device_weights();
  printf("pid %d\n", (int)getpid());
  trust_wait_threads(2, 1u << 20, 60000, "memshim's thread");
  if (atof(argv[3]) > 0) leak_for(atof(argv[3]));
  if (!strcmp(how, "vfork")) {
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
      char *args[] = {"/nonexistent/exit-order", NULL};
      execv(args[0], args);
      exit(127); /* exit, not _exit: our exit handlers and destructors run in the parent's memory */
    }
    if (pid < 0) trust_fail("vfork: %s", strerror(errno));
    int rc = trust_reap(pid, 60000, "vfork child");
    if (rc != 127) trust_fail("vfork child exited %d, want 127", rc);
    printf("vfork child %d\n", (int)pid);
  } else if (!strcmp(how, "thread")) {
    pthread_t t;
    if (pthread_create(&t, NULL, exit_from_thread, NULL) != 0) trust_fail("pthread_create");
    pthread_join(t, NULL);
    trust_fail("the thread's exit() returned");
  } else if (!strcmp(how, "return")) {
    return status;
  } else if (strcmp(how, "exit") != 0) {
    trust_fail("unknown way to end: %s", how);
  }
  fflush(stdout);
  exit(status);
}
