/* After the kill: run and check tell an OOM kill from any other SIGKILL. The command's memory
 * cgroup is ours (it inherits it; util/cgroup.c finds it); its oom_kill count (memory.events or
 * memory.oom_control, hierarchical) is read before the command starts and after it ends. A
 * command killed by SIGKILL while the count rose was killed by the kernel's OOM killer: one line
 * names it, its last pressure report (base.pressure.json, written by the library before the
 * kill, docs/memory-return.md) or, without one, its last interval report, and the top growing
 * call site that report names. */
#include "oom.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../report/write.h"
#include "cli.h"
#include "load.h"

const ms_cgroup *ms_cli_cgroup_find(ms_cgroup *cg) {
  const char *root = getenv(MS_ENV_TEST_CGROUP_ROOT);
  char pc[PATH_MAX], psi[PATH_MAX];
  if (root && *root) {
    snprintf(pc, sizeof pc, "%s/proc_cgroup", root);
    snprintf(psi, sizeof psi, "%s/proc_pressure_memory", root);
  }
  bool test = root && *root;
  return ms_cgroup_find(cg, test ? root : NULL, test ? pc : NULL, test ? psi : NULL) ? cg : NULL;
}

void ms_cli_oom_begin(ms_cli_oom *w) {
  memset(w, 0, sizeof *w);
  w->started = time(NULL);
  if (!ms_cli_cgroup_find(&w->cg)) return;
  w->kills0 = ms_cgroup_oom_kills(&w->cg);
  w->have = w->kills0 >= 0;
}

/* The directory reports go to: MEMSHIM_REPORT_PATH (or its default) with %T and %u expanded,
 * up to its last slash. */
static void ms_cli_report_dir(char *out, size_t len) {
  const char *t = getenv(ms_option_env(MS_OPT_REPORT_PATH));
  if (!t || !*t) t = MS_REPORT_PATH_DEFAULT;
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  size_t n = 0;
  for (const char *p = t; *p && n + 1 < len; p++) {
    if (*p == '%' && (p[1] == 'T' || p[1] == 'u')) {
      char v[64];
      if (p[1] == 'T') snprintf(out + n, len - n, "%s", tmp);
      else { snprintf(v, sizeof v, "%u", (unsigned)geteuid()); snprintf(out + n, len - n, "%s", v); }
      n += strlen(out + n);
      p++;
      continue;
    }
    out[n++] = *p;
  }
  out[n] = 0;
  char *slash = strrchr(out, '/');
  if (slash) *slash = 0;
  else snprintf(out, len, ".");
}

/* The newest report of this run in dir ending in suffix: one naming the pid first, else the
 * newest written since the run started (a child of the command was killed). */
static int ms_cli_find_report(const char *dir, int pid, time_t since, const char *suffix, char *out, size_t len) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  char want[64];
  snprintf(want, sizeof want, ".%d%s", pid, suffix);
  time_t best = 0;
  int found = -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t nl = strlen(e->d_name), sl = strlen(suffix);
    if (nl < sl || strcmp(e->d_name + nl - sl, suffix) != 0) continue;
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
    struct stat st;
    if (stat(p, &st) != 0 || st.st_mtime < since) continue;
    bool mine = strstr(e->d_name, want) != NULL;
    if (mine || (found != 1 && st.st_mtime >= best)) {
      best = st.st_mtime;
      found = mine ? 1 : 0;
      snprintf(out, len, "%s", p);
    }
    if (mine) break;
  }
  closedir(d);
  return found;
}

/* The site that grew most (by live bytes when none grew). */
static void ms_cli_top_site(const char *path, char *out, size_t len) {
  snprintf(out, len, "unknown (no profile in the report)");
  ms_cli_report r;
  char err[256];
  if (ms_cli_report_load(path, &r, err, sizeof err) != 0) {
    snprintf(out, len, "unknown (%s)", err);
    return;
  }
  const ms_snap_site *best = NULL;
  for (uint32_t i = 0; i < r.snap.nsites; i++) {
    const ms_snap_site *s = &r.snap.sites[i];
    if (!s->nframes) continue;
    if (!best || s->heap.growth_bytes > best->heap.growth_bytes ||
        (s->heap.growth_bytes == best->heap.growth_bytes && s->heap.live_bytes > best->heap.live_bytes))
      best = s;
  }
  if (best) {
    char where[1024];
    ms_site_where(best, where, sizeof where);
    if (best->heap.growth_bytes > 0)
      snprintf(out, len, "%s (+%.1f MiB, %.1f MiB live)", where, (double)best->heap.growth_bytes / 1048576.0,
               (double)best->heap.live_bytes / 1048576.0);
    else
      snprintf(out, len, "%s (%.1f MiB live)", where, (double)best->heap.live_bytes / 1048576.0);
  }
  ms_cli_report_free(&r);
}

bool ms_cli_oom_explain(const ms_cli_oom *w, const char *cmd, int status, int pid, char *line, size_t len) {
  if (!w->have || status != 128 + SIGKILL) return false;
  int64_t kills = ms_cgroup_oom_kills(&w->cg);
  if (kills <= w->kills0) return false;
  char dir[PATH_MAX], report[PATH_MAX] = "", site[1200] = "";
  ms_cli_report_dir(dir, sizeof dir);
  if (ms_cli_find_report(dir, pid, w->started, ".pressure.json", report, sizeof report) < 0)
    ms_cli_find_report(dir, pid, w->started, ".json", report, sizeof report);
  if (*report) ms_cli_top_site(report, site, sizeof site);
  snprintf(line, len,
           "%s (pid %d) was killed by the kernel's OOM killer (cgroup %s: oom_kill %lld -> %lld, limit %.1f MiB); "
           "last report: %s; top growing site: %s",
           cmd, pid, w->cg.limit_dir, (long long)w->kills0, (long long)kills, (double)w->cg.limit / 1048576.0,
           *report ? report : "none (reports need MEMSHIM_PROFILE or MEMSHIM_REPORT)", *site ? site : "unknown");
  return true;
}
