/* memshim run: find libmemshim.so, put it first in LD_PRELOAD, run the command. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

int ms_cli_spawn_wait(char **argv) {
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
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return MS_EXIT_FAIL;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return MS_EXIT_FAIL;
}

int ms_cmd_run(int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) { i++; break; }
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: memshim run [--] cmd args...\n"
             "  Runs cmd with libmemshim.so first in LD_PRELOAD. MEMSHIM_* variables configure it\n"
             "  (see 'memshim config'). Exits with the command's status (128+N if killed by signal N).\n");
      return MS_EXIT_OK;
    }
    if (argv[i][0] == '-') {
      fprintf(stderr, "memshim run: unknown option '%s' (see 'memshim run --help')\n", argv[i]);
      return MS_EXIT_USAGE;
    }
    break;
  }
  if (i >= argc) {
    fprintf(stderr, "memshim run: no command given (usage: memshim run [--] cmd args...)\n");
    return MS_EXIT_USAGE;
  }
  char lib[PATH_MAX];
  if (ms_cli_find_library(lib, sizeof lib) != 0) {
    fprintf(stderr, "memshim: libmemshim.so not found next to this program, in ../lib, or in %s "
                    "(set MEMSHIM_LIBRARY_PATH)\n", MEMSHIM_LIBDIR);
    return MS_EXIT_FAIL;
  }
  if (ms_cli_preload(lib) != 0) {
    fprintf(stderr, "memshim: cannot set LD_PRELOAD\n");
    return MS_EXIT_FAIL;
  }
  return ms_cli_spawn_wait(argv + i);
}
