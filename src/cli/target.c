/* A running process read from /proc/PID (target.h). Reading another process's maps, environ,
 * root and cwd takes the same permission as ptrace's read mode: the same user, which kill(2)
 * wants anyway. */
#include "target.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../config/options.h"
#include "../config/path_template.h"

int ms_target_parse_pid(const char *cmd, const char *arg, int *pid) {
  char *end;
  errno = 0;
  long v = strtol(arg, &end, 10);
  if (!isdigit((unsigned char)*arg) || *end || errno || v <= 0 || v > 0x3fffffff) {
    fprintf(stderr, "memshim %s: '%s' is not a process id\n", cmd, arg);
    return -1;
  }
  *pid = (int)v;
  return 0;
}

static char *ms_read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "re");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    char *bigger = realloc(buf, cap * 2 + 1);
    if (!bigger) { free(buf); buf = NULL; break; }
    buf = bigger, cap *= 2;
  }
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if (!buf || err) { free(buf); errno = err ? err : ENOMEM; return NULL; }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* libmemshim.so, or a versioned name of it; " (deleted)" when the file was replaced since. */
static bool ms_is_memshim_lib(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strncmp(base, "libmemshim.so", 13) == 0 && (base[13] == 0 || base[13] == '.' || base[13] == ' ');
}

int ms_target_read(const char *cmd, int pid, ms_target *t) {
  memset(t, 0, sizeof *t);
  t->pid = pid;
  t->euid = -1;
  char path[64];
  size_t len;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  char *status = ms_read_all(path, &len);
  if (!status) {
    fprintf(stderr, "memshim %s: no process %d%s\n", cmd, pid, errno == ENOENT ? "" : " that can be read");
    return -1;
  }
  for (char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (!strncmp(line, "Name:\t", 6)) sscanf(line + 6, "%63[^\n]", t->comm);
    else if (!strncmp(line, "SigCgt:\t", 8)) t->sig_caught = strtoull(line + 8, NULL, 16);
    else if (!strncmp(line, "SigIgn:\t", 8)) t->sig_ignored = strtoull(line + 8, NULL, 16);
    else if (!strncmp(line, "SigBlk:\t", 8)) t->sig_blocked = strtoull(line + 8, NULL, 16);
    else if (!strncmp(line, "Uid:\t", 5)) sscanf(line + 5, "%*d %ld", &t->euid);
  }
  free(status);
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  char *maps = ms_read_all(path, &len);
  if (!maps || !len) {
    /* Empty for a zombie or a kernel thread; unreadable for another user's process. */
    fprintf(stderr, "memshim %s: cannot read %s: %s\n", cmd, path,
            maps ? "empty (a zombie or a kernel thread)"
            : errno == EACCES ? "permission denied (another user's process: run as that user)" : strerror(errno));
    free(maps);
    return -1;
  }
  for (char *line = maps; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    char *file = strchr(line, '/'); /* the path column: maps' only field that starts with '/' */
    if (file && ms_is_memshim_lib(file)) {
      snprintf(t->lib, sizeof t->lib, "%s", file);
      break;
    }
    if (!nl) break;
    line = nl + 1;
  }
  free(maps);
  snprintf(path, sizeof path, "/proc/%d/environ", pid);
  t->envbuf = ms_read_all(path, &t->envlen);
  if (!t->envbuf) {
    fprintf(stderr, "memshim %s: cannot read %s: %s\n", cmd, path, strerror(errno));
    return -1;
  }
  return 0;
}

void ms_target_free(ms_target *t) {
  free(t->envbuf);
  t->envbuf = NULL;
}

const char *ms_target_getenv(const ms_target *t, const char *name) {
  size_t nlen = strlen(name);
  for (size_t i = 0; i < t->envlen; i += strlen(t->envbuf + i) + 1)
    if (!strncmp(t->envbuf + i, name, nlen) && t->envbuf[i + nlen] == '=') return t->envbuf + i + nlen + 1;
  return NULL;
}

void ms_target_each_memshim_env(const ms_target *t, void (*fn)(const char *entry, void *arg), void *arg) {
  for (size_t i = 0; i < t->envlen; i += strlen(t->envbuf + i) + 1)
    if (!strncmp(t->envbuf + i, "MEMSHIM_", 8) && strchr(t->envbuf + i, '=')) fn(t->envbuf + i, arg);
}

void ms_target_load_options(const ms_target *t) {
  ms_options_reset();
  for (size_t i = 0; i < t->envlen; i += strlen(t->envbuf + i) + 1) {
    const char *e = t->envbuf + i, *eq = strchr(e, '=');
    if (strncmp(e, "MEMSHIM_", 8) || !eq) continue;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(eq - e), e);
    int id = ms_option_find(name);
    const char *why;
    if (id >= 0) (void)ms_option_set((ms_option_id)id, eq + 1, &why); /* bad: the default stays */
  }
}

/* Does the target see the same root directory as we do? Then its paths are ours. */
static bool ms_target_same_root(int pid) {
  char root[64];
  struct stat a, b;
  snprintf(root, sizeof root, "/proc/%d/root", pid);
  return stat(root, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int ms_target_report_prefix(const ms_target *t, char *path, size_t plen, char *glob_here, size_t glen) {
  char pat[PATH_MAX]; /* the same, as a glob(3) pattern: the start time (%t) is not known here */
  ms_path_vars v = {t->pid, t->euid, ms_target_getenv(t, "TMPDIR"), -1};
  if (ms_path_template_expand(ms_report_path_template(), &v, path, plen, pat, sizeof pat) != 0) return -1;
  int w;
  if (ms_target_same_root(t->pid)) {
    char cwd[PATH_MAX], link[64];
    snprintf(link, sizeof link, "/proc/%d/cwd", t->pid);
    ssize_t c = path[0] == '/' ? 0 : readlink(link, cwd, sizeof cwd - 1);
    if (c > 0) cwd[c] = 0;
    if (path[0] == '/') w = snprintf(glob_here, glen, "%s", pat);
    else if (c > 0) w = snprintf(glob_here, glen, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", pat);
    else w = snprintf(glob_here, glen, "%s/%s", link, pat);
  } else {
    /* In another mount namespace (a container): reached through its root or working directory. */
    w = snprintf(glob_here, glen, "/proc/%d/%s/%s", t->pid, path[0] == '/' ? "root" : "cwd", pat);
  }
  return w < 0 || (size_t)w >= glen ? -1 : 0;
}

const struct ms_report_ext ms_report_exts[5] = {
  {MS_REPORT_TEXT, "txt", "text"}, {MS_REPORT_JSON, "json", "json"}, {MS_REPORT_COLLAPSED, "collapsed", "collapsed"},
  {MS_REPORT_HTML, "html", "html"}, {MS_REPORT_PPROF, "pb.gz", "pprof"},
};

/* The rules of core/init.c, profile/profile.c and core/reporting.c at start-up. */
void ms_target_state_get(ms_target_state *st) {
  ms_opt_source rs = ms_opt_source_get(MS_OPT_REPORT);
  st->enabled = ms_opt_bool(MS_OPT_ENABLE);
  st->profiling = st->enabled && (ms_opt_bool(MS_OPT_PROFILE) || ms_opt_u64(MS_OPT_LEAK_CHECK) ||
                                  ms_opt_u64(MS_OPT_LEAK_SCAN));
  st->formats = ms_opt_u64(MS_OPT_REPORT);
  st->reports = st->enabled && (st->profiling || ((rs == MS_SRC_ENV || rs == MS_SRC_SET) && st->formats));
  st->sig = (int)ms_opt_u64(MS_OPT_REPORT_SIGNAL);
}
