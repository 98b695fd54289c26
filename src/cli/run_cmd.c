/* memshim run: find libmemshim.so, put it first in LD_PRELOAD, run the command. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#ifndef MEMSHIM_LIBDIR
#define MEMSHIM_LIBDIR "/usr/local/lib"
#endif

static int ms_file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int ms_cli_find_library(char *buf, unsigned long len) {
  const char *env = getenv("MEMSHIM_LIBRARY_PATH");
  if (env && *env) {
    if (!ms_file_exists(env)) return -1;
    snprintf(buf, len, "%s", env);
    return 0;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    char *dir = dirname(exe);
    const char *rel[] = {"libmemshim.so", "../lib/libmemshim.so", "../lib/x86_64-linux-gnu/libmemshim.so",
                         "../lib64/libmemshim.so"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
      char cand[PATH_MAX];
      snprintf(cand, sizeof cand, "%s/%s", dir, rel[i]);
      char real[PATH_MAX];
      if (ms_file_exists(cand) && realpath(cand, real)) {
        snprintf(buf, len, "%s", real);
        return 0;
      }
    }
  }
  char cand[PATH_MAX];
  snprintf(cand, sizeof cand, "%s/libmemshim.so", MEMSHIM_LIBDIR);
  if (ms_file_exists(cand)) {
    snprintf(buf, len, "%s", cand);
    return 0;
  }
  return -1;
}

int ms_cli_preload(const char *lib) {
  const char *old = getenv("LD_PRELOAD");
  if (old && strstr(old, lib)) return 0;
  size_t need = strlen(lib) + (old ? strlen(old) : 0) + 2;
  char *v = malloc(need);
  if (!v) return -1;
  if (old && *old) snprintf(v, need, "%s:%s", lib, old);
  else snprintf(v, need, "%s", lib);
  int rc = setenv("LD_PRELOAD", v, 1);
  free(v);
  return rc;
}

int ms_cli_use_library(void) {
  char lib[PATH_MAX];
  if (ms_cli_find_library(lib, sizeof lib) != 0) {
    fprintf(stderr, "memshim: libmemshim.so not found next to this program, in ../lib, or in %s "
                    "(set MEMSHIM_LIBRARY_PATH)\n", MEMSHIM_LIBDIR);
    return -1;
  }
  if (ms_cli_preload(lib) != 0) {
    fprintf(stderr, "memshim: cannot set LD_PRELOAD\n");
    return -1;
  }
  return 0;
}

int ms_cli_spawn_wait(char **argv) { return ms_cli_spawn_wait_tick(argv, NULL, NULL); }

int ms_cli_spawn_wait_tick(char **argv, void (*tick)(int pid, void *arg), void *arg) {
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "memshim: fork: %s\n", strerror(errno));
    return MS_EXIT_FAIL;
  }
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "memshim: cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(MS_EXIT_NOEXEC);
  }
  /* The child gets terminal signals itself; we only wait for it. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int status;
  /* With a tick: the child's pidfd wakes us the moment it ends (a gate over many short runs
   * must not pay a polling interval each); without one (kernels before 5.3), look every 100 ms. */
  int pidfd = tick ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
  for (;;) {
    pid_t w = waitpid(pid, &status, tick ? WNOHANG : 0);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      if (pidfd >= 0) close(pidfd);
      return MS_EXIT_FAIL;
    }
    if (w == 0) { /* still running: report progress, look again when it ends or in 250 ms */
      tick((int)pid, arg);
      struct pollfd p = {pidfd, POLLIN, 0};
      struct timespec d = {0, 100000000};
      if (pidfd < 0 || poll(&p, 1, 250) < 0) nanosleep(&d, NULL);
    }
  }
  if (pidfd >= 0) close(pidfd);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return MS_EXIT_FAIL;
}

static const char ms_run_usage[] =
  "usage: memshim run [--profile] [--report DIR] [--metrics FILE] [--] cmd args...\n"
  "  Runs cmd with libmemshim.so first in LD_PRELOAD. MEMSHIM_* variables configure it\n"
  "  (see 'memshim config'); these flags set the common ones:\n"
  "  --profile        record live bytes per call site (MEMSHIM_PROFILE=1)\n"
  "  --report DIR     profile, and write DIR/memshim.<pid>.json and .txt at exit\n"
  "                   (MEMSHIM_PROFILE=1, MEMSHIM_REPORT=json,text, MEMSHIM_REPORT_PATH=DIR/memshim.%p);\n"
  "                   DIR is created if missing\n"
  "  --metrics FILE   write Prometheus metrics to FILE (MEMSHIM_METRICS_FILE; %p = pid)\n"
  "  Exits with the command's status (128+N if killed by signal N), 127 if it cannot be run,\n"
  "  2 for bad arguments.\n";

/* mkdir -p for the report directory. */
int ms_cli_mkdirs(const char *dir) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return -1; }
  return 0;
}

int ms_cmd_run(int argc, char **argv) {
  const char *report_dir = NULL, *metrics = NULL;
  int profile = 0, c;
  static const struct option longopts[] = {{"profile", no_argument, NULL, 'p'},
                                           {"report", required_argument, NULL, 'r'},
                                           {"metrics", required_argument, NULL, 'm'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0, 0, 0, 0}};
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("run", argc, argv, "+:h", longopts)) != -1) {
    switch (c) {
      case 'p': profile = 1; break;
      case 'r': report_dir = optarg; break;
      case 'm': metrics = optarg; break;
      case 'h': fputs(ms_run_usage, stdout); return MS_EXIT_OK;
      default: return MS_EXIT_USAGE;
    }
  }
  int i = ms_cli_command_at("run", argc);
  if (i < 0) return MS_EXIT_USAGE;
  if ((report_dir && !*report_dir) || (metrics && !*metrics)) {
    fprintf(stderr, "memshim run: empty value for --%s\n", report_dir && !*report_dir ? "report" : "metrics");
    return MS_EXIT_USAGE;
  }
  if (report_dir) {
    char prefix[PATH_MAX];
    if (ms_cli_mkdirs(report_dir) != 0) {
      fprintf(stderr, "memshim run: cannot create report directory '%s': %s\n", report_dir, strerror(errno));
      return MS_EXIT_FAIL;
    }
    if (snprintf(prefix, sizeof prefix, "%s/memshim.%%p", report_dir) >= (int)sizeof prefix) {
      fprintf(stderr, "memshim run: report directory path too long\n");
      return MS_EXIT_USAGE;
    }
    profile = 1; /* the reports are the profiler's */
    setenv("MEMSHIM_REPORT_PATH", prefix, 1);
    setenv("MEMSHIM_REPORT", "json,text", 1);
  }
  if (profile) setenv("MEMSHIM_PROFILE", "1", 1);
  if (metrics) setenv("MEMSHIM_METRICS_FILE", metrics, 1);
  if (ms_cli_use_library() != 0) return MS_EXIT_FAIL;
  return ms_cli_spawn_wait(argv + i);
}
