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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "oom.h"

#ifndef MEMSHIM_LIBDIR
#define MEMSHIM_LIBDIR "/usr/local/lib"
#endif

static int ms_file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int ms_option_setenv(ms_option_id id, const char *value, int overwrite) {
  return setenv(ms_option_env(id), value, overwrite);
}

int ms_cli_find_library(char *buf, unsigned long len) {
  const char *env = getenv(MS_ENV_LIBRARY_PATH);
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
  ms_spawn_opts o = {0};
  return ms_cli_spawn(argv, &o, tick, arg);
}

/* The signals we pass on: every one a process can catch, except SIGCHLD (ours: it says a child
 * ended) and the synchronous faults (SEGV, BUS, FPE, ILL, TRAP, SYS are about our own code;
 * forwarding a kill -SEGV would hide our crash). TSTP/TTIN/TTOU and CONT too, as dumb-init does,
 * so shell job control works through us. glibc keeps 32 and 33 for itself: SIGRTMIN is above. */
static void ms_forward_set(sigset_t *set) {
  static const int skip[] = {SIGKILL, SIGSTOP, SIGCHLD, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
  sigemptyset(set);
  for (int s = 1; s < SIGRTMIN; s++) {
    if (s == 32 || s == 33) continue;
    int ok = 1;
    for (size_t k = 0; k < sizeof skip / sizeof skip[0]; k++)
      if (skip[k] == s) ok = 0;
    if (ok) sigaddset(set, s);
  }
  for (int s = SIGRTMIN; s <= SIGRTMAX; s++) sigaddset(set, s);
}

/* Exit status the way a shell reports it. */
static int ms_status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return MS_EXIT_FAIL;
}

int ms_cli_last_pid;

int ms_cli_spawn(char **argv, const ms_spawn_opts *opts, void (*tick)(int pid, void *arg), void *arg) {
  /* Block what we forward (and SIGCHLD) before the fork: a signal that arrives at any moment
   * from here on waits in the signalfd for us, none is lost and none kills us (no handler, so
   * no race between a handler and waitpid). */
  sigset_t fwd, mask, old;
  ms_forward_set(&fwd);
  mask = fwd;
  sigaddset(&mask, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &mask, &old) != 0) {
    fprintf(stderr, "memshim: sigprocmask: %s\n", strerror(errno));
    return MS_EXIT_FAIL;
  }
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    fprintf(stderr, "memshim: signalfd: %s\n", strerror(errno));
    sigprocmask(SIG_SETMASK, &old, NULL);
    return MS_EXIT_FAIL;
  }
  /* Orphans are re-parented to us when we are PID 1 (a container's init) or a subreaper. */
  int reap_all = getpid() == 1;
  if (opts->subreaper) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
      fprintf(stderr, "memshim: cannot become a subreaper: %s\n", strerror(errno));
    else reap_all = 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "memshim: fork: %s\n", strerror(errno));
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return MS_EXIT_FAIL;
  }
  if (pid == 0) {
    /* A new group for --pgroup (the parent sets it too: whichever runs first, no window in
     * which a group signal misses the child). setpgid, not setsid: the command keeps our
     * controlling terminal. The command starts with no signal blocked; dispositions are
     * default after exec (we install no handler), except one our own parent set to
     * SIG_IGN, which stays ignored as it would without memshim (nohup, `cmd &` in a script). */
    if (opts->pgroup) setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[0], argv);
    fprintf(stderr, "memshim: cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(MS_EXIT_NOEXEC);
  }
  if (opts->pgroup) setpgid(pid, pid);
  ms_cli_last_pid = (int)pid;
  int status = 0, done = 0;
  while (!done) {
    /* Reap first: the child may have ended before we ever sleep. As init or subreaper, collect
     * every orphan too, so none stays a zombie; we leave once our own child is collected. */
    for (;;) {
      int st;
      pid_t w = waitpid(reap_all ? -1 : pid, &st, WNOHANG);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      if (w == pid) {
        status = st;
        done = 1;
        if (!reap_all) break;
      }
    }
    if (done) break;
    if (tick) tick((int)pid, arg);
    /* With a tick, look again in 250 ms at the latest; else sleep until a signal comes. */
    struct pollfd p = {sfd, POLLIN, 0};
    int n = poll(&p, 1, tick ? 250 : -1);
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "memshim: poll: %s\n", strerror(errno));
      break;
    }
    struct signalfd_siginfo si;
    while (n > 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      int sig = (int)si.ssi_signo;
      if (sig == SIGCHLD) continue; /* the waitpid above collects */
      /* A terminal sends these to a whole process group (si_code SI_KERNEL): when the child
       * shares our group it has its own copy already, and a second one would interrupt its
       * handler of the first (two KeyboardInterrupts for one Ctrl-C). */
      int tty_sig = sig == SIGINT || sig == SIGQUIT || sig == SIGTSTP || sig == SIGWINCH || sig == SIGTTIN ||
                    sig == SIGTTOU;
      int has_copy = !opts->pgroup && tty_sig && si.ssi_code == SI_KERNEL;
      /* One we raised ourselves (SIGPIPE from a write to a closed stderr) is not the child's. */
      int ours = (pid_t)si.ssi_pid == getpid() && si.ssi_code == SI_USER;
      if (!has_copy && !ours) {
        if (kill(opts->pgroup ? -pid : pid, sig) != 0 && errno != ESRCH)
          fprintf(stderr, "memshim: cannot pass signal %d on: %s\n", sig, strerror(errno));
      }
      /* Stop with the child for job control (the shell sees the job stop; SIGCONT, passed on
       * like the others, resumes both). As PID 1 the kernel ignores this, as it should. */
      if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) kill(getpid(), SIGSTOP);
    }
  }
  /* Signals still queued were meant for the command, which has ended: drop them rather than
   * let them act on us once unblocked (a second SIGTERM must not turn its status into ours). */
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
  }
  close(sfd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (!done) return MS_EXIT_FAIL;
  return ms_status_code(status);
}

static const char ms_run_usage[] =
  "usage: memshim run [--profile] [--report DIR] [--metrics FILE] [-g] [-s] [--] cmd args...\n"
  "  Runs cmd with libmemshim.so first in LD_PRELOAD. MEMSHIM_* variables configure it\n"
  "  (see 'memshim config'); these flags set the common ones:\n"
  "  --profile        record live bytes per call site (MEMSHIM_PROFILE=1); reports go to\n"
  "                   ${TMPDIR:-/tmp}/memshim-<uid>/ unless MEMSHIM_REPORT_PATH or --report sets one\n"
  "  --report DIR     profile, and write DIR/memshim.<pid>.json and .txt at exit\n"
  "                   (MEMSHIM_PROFILE=1, MEMSHIM_REPORT=json,text, MEMSHIM_REPORT_PATH=DIR/memshim.%p);\n"
  "                   DIR is created if missing\n"
  "  --metrics FILE   write Prometheus metrics to FILE (MEMSHIM_METRICS_FILE; %p = pid)\n"
  "  As a container entrypoint (ENTRYPOINT [\"memshim\", \"run\", \"--\"]) it acts as init, like tini:\n"
  "  every signal it can catch (TERM, INT, QUIT, HUP, USR1, USR2, WINCH, CONT, TSTP, real-time...)\n"
  "  is passed on to cmd, and as PID 1 it reaps orphaned processes.\n"
  "  -g, --pgroup     cmd leads a new process group and signals go to the whole group (its\n"
  "                   children too: a shell script's, pre-fork workers)\n"
  "  -s, --subreaper  reap orphans also when not PID 1 (PR_SET_CHILD_SUBREAPER)\n"
  "  Exits with the command's status (128+N if killed by signal N), 127 if it cannot be run,\n"
  "  2 for bad arguments. A command killed by SIGKILL while its memory cgroup's oom_kill count\n"
  "  rose is named in one line with its last pressure report and top growing call site.\n";

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
  ms_spawn_opts spawn = {0};
  static const struct option longopts[] = {{"profile", no_argument, NULL, 'p'},
                                           {"pgroup", no_argument, NULL, 'g'},
                                           {"subreaper", no_argument, NULL, 's'},
                                           {"report", required_argument, NULL, 'r'},
                                           {"metrics", required_argument, NULL, 'm'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0, 0, 0, 0}};
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("run", argc, argv, "+:hgs", longopts)) != -1) {
    switch (c) {
      case 'p': profile = 1; break;
      case 'g': spawn.pgroup = 1; break;
      case 's': spawn.subreaper = 1; break;
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
    ms_option_setenv(MS_OPT_REPORT_PATH, prefix, 1);
    ms_option_setenv(MS_OPT_REPORT, "json,text", 1);
  }
  if (profile) ms_option_setenv(MS_OPT_PROFILE, "1", 1);
  if (metrics) ms_option_setenv(MS_OPT_METRICS_FILE, metrics, 1);
  if (ms_cli_use_library() != 0) return MS_EXIT_FAIL;
  ms_cli_oom oom;
  ms_cli_oom_begin(&oom);
  int status = ms_cli_spawn(argv + i, &spawn, NULL, NULL);
  char line[4096];
  if (ms_cli_oom_explain(&oom, argv[i], status, ms_cli_last_pid, line, sizeof line))
    fprintf(stderr, "memshim run: %s\n", line);
  return status;
}
