/* memshim snapshot PID: a report from a running process, without the risk of `kill -SIG`.
 *
 * A signal nobody catches ends the process (every real-time signal, USR1, USR2 ...), and hosts
 * reset handlers: gunicorn's workers put USR2 and seven others back to SIG_DFL after fork. So the
 * signal is sent only when the target has libmemshim.so mapped, has reports on, and catches the
 * signal its own environment names (SigCgt in /proc/PID/status); otherwise one line says why and
 * nothing is sent. Then it waits for the report files to be complete: the library closes a first
 * report (IN_CLOSE_WRITE) or renames a later one over the old (IN_MOVED_TO), which inotify
 * reports on the directory; a file whose inode changed is checked on every tick too (inotify
 * unavailable or its queue overflowed). */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <glob.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../config/options.h"
#include "cli.h"
#include "target.h"

static const char ms_snapshot_usage[] =
  "usage: memshim snapshot [-t SECONDS] [--json] PID\n"
  "  Asks a running process for a report now and prints the report files' paths when they are\n"
  "  written (one per format of its MEMSHIM_REPORT). Sends the process's report signal\n"
  "  (MEMSHIM_REPORT_SIGNAL in its environment, default SIGRTMIN+9) only when the process has\n"
  "  libmemshim.so loaded, has reports on, and catches that signal: a signal nobody catches\n"
  "  would end it (e.g. a gunicorn worker, which resets its handlers after fork). Otherwise it\n"
  "  says why and sends nothing ('memshim doctor PID' tells more).\n"
  "  -t, --timeout SECONDS  how long to wait for the files (default 60; 500ms, 2m also work)\n"
  "  --json                 print {\"pid\", \"signal\", \"files\", \"seconds\"} on stdout\n"
  "  Exit status: 0 written, 1 refused or no report in time, 2 bad arguments.\n";

static double ms_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Alive and not a zombie (kill(pid, 0) succeeds on a zombie that is not our child). */
static bool ms_pid_alive(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f) return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

typedef struct {
  const char *ext;
  char pattern[PATH_MAX + 16]; /* glob pattern of this format's file */
  glob_t before;               /* the files there before the signal */
  ino_t *before_ino;
  char done[PATH_MAX + 16];    /* the finished report's path */
  off_t last_size;             /* without inotify: a new file's size at the previous tick */
} ms_snap_file;

static ino_t ms_ino(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* A file of the pattern that is not the one that was there before: renamed over it (complete).
 * new_files (no inotify): a file that was not there, once its size stopped changing for a tick. */
static void ms_snap_check_renamed(ms_snap_file *f, bool new_files) {
  glob_t now;
  if (glob(f->pattern, 0, NULL, &now) != 0) return;
  for (size_t i = 0; i < now.gl_pathc && !*f->done; i++) {
    bool seen = false;
    for (size_t j = 0; j < f->before.gl_pathc; j++)
      if (!strcmp(now.gl_pathv[i], f->before.gl_pathv[j])) {
        seen = true;
        ino_t ino = ms_ino(now.gl_pathv[i]);
        if (ino && ino != f->before_ino[j]) snprintf(f->done, sizeof f->done, "%s", now.gl_pathv[i]);
      }
    struct stat sb;
    if (!seen && new_files && stat(now.gl_pathv[i], &sb) == 0 && sb.st_size > 0) {
      if (sb.st_size == f->last_size) snprintf(f->done, sizeof f->done, "%s", now.gl_pathv[i]);
      f->last_size = sb.st_size;
    }
  }
  globfree(&now);
}

static int ms_parse_timeout(const char *arg, double *seconds) {
  const char *why;
  uint64_t ms;
  char *end;
  errno = 0;
  double v = strtod(arg, &end);
  if (end != arg && !*end) { /* bare: seconds, never read again as milliseconds */
    if (!errno && v > 0 && v <= 86400) { *seconds = v; return 0; }
  } else if (ms_parse_duration_ms(arg, false, &ms, &why) == 0 && ms > 0) {
    *seconds = (double)ms / 1000;
    return 0;
  }
  fprintf(stderr, "memshim snapshot: --timeout '%s': not a number of seconds or a duration (500ms, 30s, 2m)\n", arg);
  return -1;
}

/* Whether the report signal may be sent: NULL, or why not (why: room for the reason). The signal
 * goes only to a process that would take a report on it and survive it; this decision is apart
 * from sending it so that tests/unit/test_cli.c can check every refusal. */
const char *ms_snapshot_refusal(const ms_target *t, const ms_target_state *st, char *why, size_t len) {
  char signame[32];
  ms_signal_format(st->sig, signame, sizeof signame);
  const char *refuse = NULL;
  if (!*t->lib) {
    refuse = why;
    snprintf(why, len, "has no libmemshim.so loaded (not in /proc/%d/maps; 'memshim doctor %d' says more)",
             t->pid, t->pid);
  } else if (!st->enabled) {
    refuse = "was started with MEMSHIM_ENABLE=0: memshim is off in it";
  } else if (!st->sig) {
    refuse = "was started with MEMSHIM_REPORT_SIGNAL=off: it takes no report on a signal";
  } else if (!st->reports) {
    refuse = "has reports off (start it with MEMSHIM_PROFILE=1, or MEMSHIM_REPORT=FORMATS for timeline-only "
             "reports)";
  } else if (!st->formats) {
    refuse = "was started with MEMSHIM_REPORT=off: a report writes no file";
  } else if ((t->sig_ignored >> (st->sig - 1)) & 1) {
    refuse = why;
    snprintf(why, len, "ignores %s (SigIgn in /proc/%d/status; inherited from its parent?): memshim "
             "installs its handler only over the default action; pick another MEMSHIM_REPORT_SIGNAL",
             signame, t->pid);
  } else if (!ms_target_catches(t, st->sig)) {
    refuse = why;
    snprintf(why, len, "does not catch %s (SigCgt in /proc/%d/status): the program reset it to the "
             "default action, which would end the process", signame, t->pid);
  }
  return refuse;
}

int ms_cmd_snapshot(int argc, char **argv) {
  static const struct option longopts[] = {
    {"timeout", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
    {0, 0, 0, 0}};
  double timeout = 60;
  int json = 0, c, pid;
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("snapshot", argc, argv, ":t:h", longopts)) != -1) {
    switch (c) {
      case 't': if (ms_parse_timeout(optarg, &timeout) != 0) return MS_EXIT_USAGE; break;
      case 'j': json = 1; break;
      case 'h': fputs(ms_snapshot_usage, stdout); return MS_EXIT_OK;
      default: return MS_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "memshim snapshot: %s (usage: memshim snapshot [-t SECONDS] [--json] PID)\n",
            optind < argc ? "one process id only" : "no process id given");
    return MS_EXIT_USAGE;
  }
  if (ms_target_parse_pid("snapshot", argv[optind], &pid) != 0) return MS_EXIT_USAGE;

  ms_target t;
  if (ms_target_read("snapshot", pid, &t) != 0) { ms_target_free(&t); return MS_EXIT_FAIL; }
  ms_target_load_options(&t);
  ms_target_state st;
  ms_target_state_get(&st);
  char signame[32], why[512];
  ms_signal_format(st.sig, signame, sizeof signame);
  const char *refuse = ms_snapshot_refusal(&t, &st, why, sizeof why);
  if (refuse) {
    fprintf(stderr, "memshim snapshot: process %d (%s) %s; no signal sent\n", pid, t.comm, refuse);
    ms_target_free(&t);
    return MS_EXIT_FAIL;
  }

  char prefix[PATH_MAX], pattern[PATH_MAX];
  if (ms_target_report_prefix(&t, prefix, sizeof prefix, pattern, sizeof pattern) != 0) {
    fprintf(stderr, "memshim snapshot: its MEMSHIM_REPORT_PATH is too long\n");
    ms_target_free(&t);
    return MS_EXIT_FAIL;
  }
  ms_target_free(&t);

  ms_snap_file files[5];
  unsigned nfiles = 0;
  for (unsigned k = 0; k < 5; k++) {
    if (!(st.formats & ms_report_exts[k].flag)) continue;
    ms_snap_file *f = &files[nfiles++];
    memset(f, 0, sizeof *f);
    f->ext = ms_report_exts[k].ext;
    snprintf(f->pattern, sizeof f->pattern, "%s.%s", pattern, f->ext);
    if (glob(f->pattern, 0, NULL, &f->before) != 0) memset(&f->before, 0, sizeof f->before);
    f->before_ino = calloc(f->before.gl_pathc + 1, sizeof *f->before_ino);
    if (!f->before_ino) { fprintf(stderr, "memshim snapshot: out of memory\n"); return MS_EXIT_FAIL; }
    for (size_t j = 0; j < f->before.gl_pathc; j++) f->before_ino[j] = ms_ino(f->before.gl_pathv[j]);
  }

  /* The directory to watch: the pattern's, when only its last part has wildcards (%t). */
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", pattern);
  char *slash = strrchr(dir, '/');
  const char *base_pat = slash ? slash + 1 : pattern;
  int ifd = -1;
  if (slash && !strpbrk(dir, "*?[")) {
    *slash = 0;
    char plain[PATH_MAX], *o = plain; /* without glob's escapes */
    for (const char *p = dir; *p; p++) *o++ = (*p == '\\' && p[1]) ? *++p : *p;
    *o = 0;
    snprintf(dir, sizeof dir, "%s", plain);
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0 && inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
      fprintf(stderr, "memshim snapshot: cannot watch %s (%s); the report directory must exist\n", dir,
              strerror(errno));
      close(ifd);
      return MS_EXIT_FAIL;
    }
  }

  double t0 = ms_now_s();
  if (kill(pid, st.sig) != 0) {
    fprintf(stderr, "memshim snapshot: cannot signal process %d: %s\n", pid,
            errno == EPERM ? "not allowed (another user's process: run as that user)" : strerror(errno));
    return MS_EXIT_FAIL;
  }

  unsigned left = nfiles;
  char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
  while (left) {
    struct pollfd pfd = {.fd = ifd, .events = POLLIN};
    int r = ifd >= 0 ? poll(&pfd, 1, 100) : poll(NULL, 0, 100);
    if (r > 0) {
      ssize_t n;
      while ((n = read(ifd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
          const struct inotify_event *ev = (const struct inotify_event *)p;
          p += sizeof *ev + ev->len;
          if (!ev->len) continue;
          for (unsigned k = 0; k < nfiles; k++) {
            char want[PATH_MAX + 16];
            snprintf(want, sizeof want, "%s.%s", base_pat, files[k].ext);
            if (!*files[k].done && fnmatch(want, ev->name, FNM_PATHNAME) == 0)
              snprintf(files[k].done, sizeof files[k].done, "%s/%s", dir, ev->name);
          }
        }
      }
    }
    left = 0;
    for (unsigned k = 0; k < nfiles; k++) {
      if (!*files[k].done) ms_snap_check_renamed(&files[k], ifd < 0);
      if (!*files[k].done) left++;
    }
    if (!left) break;
    if (!ms_pid_alive(pid)) {
      fprintf(stderr, "memshim snapshot: process %d ended before its report was written\n", pid);
      return MS_EXIT_FAIL;
    }
    if (ms_now_s() - t0 > timeout) {
      fprintf(stderr, "memshim snapshot: no report from process %d within %gs after %s (expected %s.*; its "
              "stderr or MEMSHIM_LOG says why: an unwritable directory, a report path without %%p that "
              "another process already wrote, or another handler on %s)\n", pid, timeout, signame, prefix, signame);
      return MS_EXIT_FAIL;
    }
  }
  double took = ms_now_s() - t0;
  if (ifd >= 0) close(ifd);
  if (json) {
    json_t *arr = json_array();
    for (unsigned k = 0; k < nfiles; k++) json_array_append_new(arr, json_string(files[k].done));
    json_t *doc = json_pack("{s:i, s:s, s:i, s:o, s:f}", "pid", pid, "signal", signame, "signal_number", st.sig,
                            "files", arr, "seconds", took);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (!text) { fprintf(stderr, "memshim snapshot: out of memory\n"); return MS_EXIT_FAIL; }
    printf("%s\n", text);
    free(text);
    json_decref(doc);
  } else {
    for (unsigned k = 0; k < nfiles; k++) printf("%s\n", files[k].done);
  }
  for (unsigned k = 0; k < nfiles; k++) {
    globfree(&files[k].before);
    free(files[k].before_ino);
  }
  return MS_EXIT_OK;
}
