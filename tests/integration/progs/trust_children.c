/* Children made without fork(): they run memshim's destructors but none of its atfork handlers,
 * while memshim's thread exists in the parent (proven first).
 *   trust_children clone N   N raw clone() children (no CLONE_VM, SIGCHLD), each allocating and
 *                            leaving through exit(): each must be reaped within 20 s; the parent's
 *                            thread is still there afterwards.
 *   trust_children vfork     a vfork() child whose exec fails calls exit(127) (destructors run in
 *                            the parent's memory); afterwards the parent's monitor must still work:
 *                            its thread comes back and a purge follows a large free.
 *   trust_children vfork-host  what the host itself sees of such a child (an atexit handler, stdio
 *                            buffered before and in the child, the child's status): the output
 *                            must be the same with and without memshim. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>

#include "trust_util.h"

static int clone_child(void *arg) {
  (void)arg;
  free(trust_alloc(4u << 20)); /* the child's own heap work, then a normal exit */
  exit(7);
}

static void clones(int n) {
  trust_monitor_up(1, "monitor before clone");
  size_t stack_size = 256u << 10;
  char *stack = trust_alloc(stack_size);
  for (int i = 0; i < n; i++) {
    trust_wait_threads(2, 1u << 20, 20000, "parent's monitor up before clone");
    pid_t pid = clone(clone_child, stack + stack_size, SIGCHLD, NULL);
    if (pid < 0) trust_fail("clone: %s", strerror(errno));
    int rc = trust_reap(pid, 20000, "raw clone child");
    if (rc != 7) trust_fail("raw clone child exited %d, want 7", rc);
  }
  trust_wait_threads(2, 1u << 20, 20000, "parent's monitor after the clone children");
  printf("ok: %d raw clone() children left through exit() (status 7) while our thread ran; parent still has it\n", n);
}

static void vfork_child(void) {
  enum { N = 128 };
  static char *blocks[N];
  for (int i = 0; i < N; i++) blocks[i] = trust_alloc(1u << 20); /* 128 MiB live: our thread has work */
  trust_wait_threads(2, 1u << 20, 20000, "monitor before vfork");
  uint64_t purges_before = trust_stat("purge.count");
  pid_t pid = vfork();
  if (pid == 0) {
    char *argv[] = {"/nonexistent/trust-vfork", NULL};
    execv(argv[0], argv);
    exit(127); /* exit, not _exit: destructors and exit handlers run in the parent's memory */
  }
  if (pid < 0) trust_fail("vfork: %s", strerror(errno));
  int rc = trust_reap(pid, 20000, "vfork child");
  if (rc != 127) trust_fail("vfork child exited %d, want 127", rc);
  trust_wait_threads(2, 1u << 20, 20000, "parent's monitor after the vfork child");
  printf("ok: vfork child exited 127 after a failed exec; parent's thread is there (threads %d)\n", trust_threads());
  /* The monitor still acts: freeing 128 MiB leaves it retained; a purge must follow. */
  for (int i = 0; i < N; i++) free(blocks[i]);
  uint64_t deadline = trust_now_ms() + 20000;
  while (trust_stat("purge.count") == purges_before) {
    if (trust_now_ms() > deadline) trust_fail("no purge within 20 s of freeing 128 MiB after the vfork child");
    trust_sleep_ms(20);
  }
  printf("ok: purge after a 128 MiB free (purge.count %llu -> %llu)\n", (unsigned long long)purges_before,
         (unsigned long long)trust_stat("purge.count"));
}

static pid_t host_parent;
static void host_atexit(void) { printf("atexit handler ran in the %s\n", getpid() == host_parent ? "parent" : "child"); }

static void vfork_host(void) {
  host_parent = getpid();
  atexit(host_atexit);
  printf("parent: buffered before vfork\n");
  pid_t pid = vfork();
  if (pid == 0) {
    printf("child: exec failed\n");
    execl("/nonexistent/trust-vfork", "x", (char *)NULL);
    exit(127);
  }
  int rc = trust_reap(pid, 20000, "vfork child");
  printf("parent: child status %d\n", rc);
}

int main(int argc, char **argv) {
  if (argc < 2) trust_fail("usage: trust_children clone N|vfork|vfork-host");
  if (!strcmp(argv[1], "vfork-host")) {
    vfork_host();
    return 0;
  }
  if (!strcmp(argv[1], "clone")) clones(argc > 2 ? atoi(argv[2]) : 10);
  else if (!strcmp(argv[1], "vfork")) vfork_child();
  else trust_fail("unknown mode %s", argv[1]);
  return 0;
}
