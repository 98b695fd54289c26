/* Shared by the trust_* test programs: the host hazards of issue 12, each reproduced with
 * memshim's monitor thread proven present first. Every wait has a deadline and says what it
 * waited for; a program prints "ok: ..." lines and exits 0, or names the failure and exits 1. */
#ifndef TRUST_UTIL_H
#define TRUST_UTIL_H

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static void trust_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static uint64_t trust_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void trust_sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* A numeric field of /proc/self/status ("Threads", "RssFile" in kB, ...); -1 when absent. */
static long trust_status_field(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) trust_fail("cannot read /proc/self/status");
  char line[256];
  size_t klen = strlen(key);
  long v = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, klen) == 0 && line[klen] == ':' && sscanf(line + klen + 1, "%ld", &v) == 1) break;
  fclose(f);
  return v;
}

/* "Threads:" of /proc/self/status: every task of the process, ours included. */
static int trust_threads(void) { return (int)trust_status_field("Threads"); }

/* memshim's counters through dlsym, so a program also runs without the preload (then 0). */
static uint64_t trust_stat(const char *name) {
  static int (*fn)(const char *, uint64_t *);
  if (!fn) fn = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "memshim_stat");
  uint64_t v = 0;
  if (!fn) trust_fail("libmemshim.so is not preloaded (memshim_stat not found)");
  if (fn(name, &v) != 0) trust_fail("memshim_stat(%s) failed", name);
  return v;
}

/* Allocate and touch a block (counts as activity: the allocation slow path ticks per MiB). */
static char *trust_alloc(size_t bytes) {
  char *p = malloc(bytes);
  if (!p) trust_fail("malloc(%zu) failed", bytes);
  memset(p, 0x5a, bytes);
  return p;
}

/* Wait until the process has `want` threads, allocating and freeing `churn` bytes in 1 MiB
 * blocks between looks (activity that brings a stopped monitor back). Fails after timeout_ms. */
static void trust_wait_threads(int want, size_t churn, unsigned timeout_ms, const char *what) {
  uint64_t deadline = trust_now_ms() + timeout_ms;
  int n;
  while ((n = trust_threads()) != want) {
    if (trust_now_ms() > deadline) trust_fail("%s: %d threads after %u ms, want %d", what, n, timeout_ms, want);
    for (size_t done = 0; done < churn; done += 1u << 20) free(trust_alloc(1u << 20));
    trust_sleep_ms(10);
  }
}

/* Hold 64 MiB live (over the heap policy's 32 MiB floor: memshim's thread has work) and wait
 * until our thread is there: `base` host threads plus one. Returns the block. */
static char *trust_monitor_up(int base, const char *what) {
  char *hold = trust_alloc(64u << 20);
  trust_wait_threads(base + 1, 1u << 20, 20000, what);
  return hold;
}

/* The lines of pid's /proc/PID/maps that contain x or y, with the offsets into them. */
static void trust_dump_maps_of(pid_t pid, unsigned long long x, unsigned long long y) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "r");
  char prev[512] = "";
  while (f && fgets(line, sizeof line, f)) {
    unsigned long long lo, hi, off;
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "%llx-%llx %*s %llx", &lo, &hi, &off) == 3) {
      /* an anonymous mapping right after a library's data is its .bss: name the one before */
      if (x >= lo && x < hi)
        fprintf(stderr, "    arg1 0x%llx = +0x%llx (file offset +0x%llx) in: %s\n      after: %s\n", x, x - lo, x - lo + off,
                line, prev);
      if (y >= lo && y < hi) fprintf(stderr, "    pc 0x%llx = +0x%llx (file offset +0x%llx) in: %s\n", y, y - lo, y - lo + off, line);
    }
    memcpy(prev, line, sizeof prev);
  }
  if (f) fclose(f);
}

/* Every task of pid: name, state, wait channel and current syscall (what a hang waits on). */
static void trust_dump_tasks(pid_t pid) {
  char path[128], buf[512];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    fprintf(stderr, "  task %s:", e->d_name);
    static const char *files[] = {"comm", "wchan", "syscall", "stat"};
    for (int i = 0; i < 4; i++) {
      snprintf(path, sizeof path, "/proc/%d/task/%s/%s", (int)pid, e->d_name, files[i]);
      FILE *f = fopen(path, "r");
      size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
      if (f) fclose(f);
      buf[n] = 0;
      buf[strcspn(buf, "\n")] = 0;
      fprintf(stderr, " %s=[%s]", files[i], buf);
    }
    fputc('\n', stderr);
    /* What a blocked task waits on: the mappings that hold its syscall's first argument (a
     * futex word) and its program counter, so a hang names the library and the lock. */
    snprintf(path, sizeof path, "/proc/%d/task/%s/syscall", (int)pid, e->d_name);
    FILE *f = fopen(path, "r");
    unsigned long long nr = 0, a1 = 0, a[5], sp = 0, pc = 0;
    int got = f ? fscanf(f, "%llu %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a1, &a[0], &a[1], &a[2], &a[3],
                         &a[4], &sp, &pc)
                : 0;
    if (f) fclose(f);
    if (got == 9) trust_dump_maps_of(pid, a1, pc);
  }
  closedir(d);
}

/* Exit status of child pid, reaped within timeout_ms; a child that does not end has its tasks
 * dumped (trust_dump_tasks: what each waits on), is killed and
 * reported (a hang), one killed by a signal too. */
static int trust_reap(pid_t pid, unsigned timeout_ms, const char *what) {
  uint64_t deadline = trust_now_ms() + timeout_ms;
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) trust_fail("%s: waitpid: %s", what, strerror(errno));
    if (trust_now_ms() > deadline) {
      fprintf(stderr, "%s: child %d still running after %u ms; its tasks:\n", what, (int)pid, timeout_ms);
      trust_dump_tasks(pid);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      trust_fail("%s: child %d did not exit within %u ms (hung in exit)", what, (int)pid, timeout_ms);
    }
    trust_sleep_ms(5);
  }
  if (!WIFEXITED(status)) trust_fail("%s: child died of signal %d", what, WTERMSIG(status));
  return WEXITSTATUS(status);
}

#endif
