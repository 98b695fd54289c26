/* The process's memory cgroup (cgroup.h). Small reads with raw system calls into stack
 * buffers: this runs inside the preload, on a cold path (once when the heap first grows large,
 * then on the monitor thread while memory grows). */
#include "cgroup.h"

#include <fcntl.h>
#include <string.h>

#include "proc.h"
#include "sys.h"

/* 2^62: v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on 4K pages). */
#define MS_CG_UNLIMITED (1ull << 62)

static bool ms_cg_is_dir(const char *path) {
  int fd = ms_sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return false;
  ms_sys_close(fd);
  return true;
}

/* dst = a + b (+ c); false when it does not fit. */
static bool ms_cg_join(char *dst, const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
  if (la + lb + lc + 1 > MS_CGROUP_PATH_MAX) return false;
  memcpy(dst, a, la);
  memcpy(dst + la, b, lb);
  if (c) memcpy(dst + la + lb, c, lc);
  dst[la + lb + lc] = 0;
  return true;
}

static bool ms_cg_file_exists(const char *dir, const char *file) {
  char p[MS_CGROUP_PATH_MAX];
  if (!ms_cg_join(p, dir, "/", file)) return false;
  int fd = ms_sys_open(p, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return false;
  ms_sys_close(fd);
  return true;
}

uint64_t ms_cgroup_parse_limit(const char *t) {
  while (*t == ' ' || *t == '\t') t++;
  if (*t < '0' || *t > '9') return 0; /* "max", empty, garbage */
  uint64_t v = 0;
  while (*t >= '0' && *t <= '9') {
    unsigned d = (unsigned)(*t++ - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  return v >= MS_CG_UNLIMITED ? 0 : v;
}

int64_t ms_cgroup_parse_key(const char *t, const char *key) {
  size_t kl = strlen(key);
  for (const char *line = t; line && *line;) {
    if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
      const char *p = line + kl + 1;
      if (*p < '0' || *p > '9') return -1;
      int64_t v = 0;
      while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
      return v;
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  return -1;
}

/* "avg10=12.34" after prefix on its line -> 1234. */
static bool ms_cg_psi_line(const char *t, const char *prefix, uint32_t *out) {
  const char *line = strstr(t, prefix);
  if (!line || (line != t && line[-1] != '\n')) return false;
  const char *p = strstr(line, "avg10=");
  const char *eol = strchr(line, '\n');
  if (!p || (eol && p > eol)) return false;
  p += 6;
  uint32_t whole = 0, frac = 0, digits = 0;
  if (*p < '0' || *p > '9') return false;
  while (*p >= '0' && *p <= '9') whole = whole * 10 + (uint32_t)(*p++ - '0');
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      if (digits < 2) { frac = frac * 10 + (uint32_t)(*p - '0'); digits++; }
  while (digits++ < 2) frac *= 10;
  *out = whole * 100 + frac;
  return true;
}

bool ms_cgroup_parse_psi(const char *t, uint32_t *some, uint32_t *full) {
  *some = *full = 0;
  bool ok = ms_cg_psi_line(t, "some ", some);
  (void)ms_cg_psi_line(t, "full ", full); /* /proc/pressure/memory has it; old kernels' cpu files not */
  return ok;
}

/* The path of our cgroup in the hierarchy that holds `controller` ("" for the v2 line), from
 * /proc/self/cgroup. False when there is no such line. */
static bool ms_cg_own_path(const char *text, const char *controller, char *out, size_t outlen) {
  size_t cl = strlen(controller);
  for (const char *line = text; line && *line;) {
    const char *c1 = strchr(line, ':');
    const char *eol = strchr(line, '\n');
    if (!eol) eol = line + strlen(line);
    const char *c2 = c1 && c1 < eol ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
    if (c2) {
      const char *ctl = c1 + 1;
      bool match = false;
      if (!cl) {
        match = c2 == ctl && line[0] == '0' && c1 == line + 1; /* "0::/path" */
      } else {
        for (const char *s = ctl; s < c2;) { /* "cpu,cpuacct" */
          const char *e = memchr(s, ',', (size_t)(c2 - s));
          if (!e) e = c2;
          if ((size_t)(e - s) == cl && strncmp(s, controller, cl) == 0) match = true;
          s = e + 1;
        }
      }
      if (match) {
        size_t n = (size_t)(eol - c2 - 1);
        if (n + 1 > outlen) return false;
        memcpy(out, c2 + 1, n);
        out[n] = 0;
        if (n > 1 && out[n - 1] == '/') out[n - 1] = 0;
        return true;
      }
    }
    line = *eol ? eol + 1 : NULL;
  }
  return false;
}

/* Walk from dir up to mount (inclusive), reading each limit file; keep the smallest. */
static void ms_cg_walk(ms_cgroup *cg, const char *mount, const char *const *files, unsigned nfiles) {
  char d[MS_CGROUP_PATH_MAX], p[MS_CGROUP_PATH_MAX], buf[64];
  size_t mlen = strlen(mount);
  memcpy(d, cg->dir, strlen(cg->dir) + 1);
  for (;;) {
    for (unsigned i = 0; i < nfiles; i++) {
      if (!ms_cg_join(p, d, "/", files[i]) || ms_read_small(p, buf, sizeof buf) <= 0) continue;
      uint64_t v = ms_cgroup_parse_limit(buf);
      if (v && (!cg->limit || v < cg->limit)) {
        cg->limit = v;
        cg->limit_file = files[i];
        memcpy(cg->limit_dir, d, strlen(d) + 1);
      }
    }
    size_t len = strlen(d);
    if (len <= mlen) break;
    char *slash = strrchr(d, '/');
    if (!slash || (size_t)(slash - d) < mlen) break;
    *slash = 0;
  }
}

/* dir = mount + own path when it exists there, else the mount itself (namespaced mount). */
static bool ms_cg_place(ms_cgroup *cg, const char *mount, const char *own, const char *probe) {
  if ((strcmp(own, "/") != 0 && ms_cg_join(cg->dir, mount, own, NULL) && ms_cg_is_dir(cg->dir) &&
       ms_cg_file_exists(cg->dir, probe)) ||
      (ms_cg_join(cg->dir, mount, "", NULL) && ms_cg_file_exists(cg->dir, probe)))
    return true;
  cg->dir[0] = 0;
  return false;
}

int ms_cgroup_find(ms_cgroup *cg, const char *root, const char *proc_cgroup, const char *proc_pressure) {
  memset(cg, 0, sizeof *cg);
  if (!root) root = "/sys/fs/cgroup";
  if (!proc_cgroup) proc_cgroup = "/proc/self/cgroup";
  if (!proc_pressure) proc_pressure = "/proc/pressure/memory";
  char text[4096], own[MS_CGROUP_PATH_MAX], mount[MS_CGROUP_PATH_MAX];
  if (ms_read_small(proc_cgroup, text, sizeof text) <= 0) return 0;

  /* v2 first: the unified mount at the root, or at root/unified on a hybrid host (where it
   * holds no memory controller, so the probe below fails and v1 is looked at). */
  if (ms_cg_own_path(text, "", own, sizeof own)) {
    bool have_mount = (ms_cg_file_exists(root, "cgroup.controllers") && ms_cg_join(mount, root, "", NULL)) ||
                      (ms_cg_join(mount, root, "/unified", NULL) && ms_cg_file_exists(mount, "cgroup.controllers"));
    if (have_mount && ms_cg_place(cg, mount, own, "memory.current")) {
      static const char *const files[] = {"memory.max", "memory.high"};
      cg->version = 2;
      ms_cg_walk(cg, mount, files, 2);
    }
  }
  if (!cg->version && ms_cg_own_path(text, "memory", own, sizeof own) && ms_cg_join(mount, root, "/memory", NULL) &&
      ms_cg_place(cg, mount, own, "memory.usage_in_bytes")) {
    static const char *const files[] = {"memory.limit_in_bytes"};
    cg->version = 1;
    ms_cg_walk(cg, mount, files, 1);
  }
  if (!cg->version) return 0;
  if (!cg->limit) memcpy(cg->limit_dir, cg->dir, strlen(cg->dir) + 1);
  if (!(cg->version == 2 && ms_cg_file_exists(cg->limit_dir, "memory.pressure") &&
        ms_cg_join(cg->psi_path, cg->limit_dir, "/memory.pressure", NULL)))
    (void)ms_cg_join(cg->psi_path, proc_pressure, "", NULL);
  return cg->version;
}

void ms_cgroup_read(const ms_cgroup *cg, ms_cgroup_state *st) {
  memset(st, 0, sizeof *st);
  if (!cg->version) return;
  char p[MS_CGROUP_PATH_MAX], buf[1024];
  if (ms_cg_join(p, cg->limit_dir, cg->version == 2 ? "/memory.current" : "/memory.usage_in_bytes", NULL) &&
      ms_read_small(p, buf, sizeof buf) > 0 && buf[0] >= '0' && buf[0] <= '9') {
    uint64_t v = 0;
    for (const char *q = buf; *q >= '0' && *q <= '9'; q++) v = v * 10 + (uint64_t)(*q - '0');
    st->usage = v;
    st->has_usage = true;
  }
  if (ms_cg_join(p, cg->limit_dir, cg->version == 2 ? "/memory.events" : "/memory.oom_control", NULL) &&
      ms_read_small(p, buf, sizeof buf) > 0) {
    int64_t oom = ms_cgroup_parse_key(buf, "oom"), kill = ms_cgroup_parse_key(buf, "oom_kill");
    st->oom = oom > 0 ? (uint64_t)oom : 0;
    st->oom_kill = kill > 0 ? (uint64_t)kill : 0;
    st->has_events = kill >= 0;
  }
  if (cg->psi_path[0] && ms_read_small(cg->psi_path, buf, sizeof buf) > 0)
    st->has_psi = ms_cgroup_parse_psi(buf, &st->psi_some_avg10, &st->psi_full_avg10);
}

void ms_cgroup_read_stat(const ms_cgroup *cg, ms_cgroup_state *st) {
  char p[MS_CGROUP_PATH_MAX], buf[4096];
  if (!cg->version || !ms_cg_join(p, cg->limit_dir, "/memory.stat", NULL) || ms_read_small(p, buf, sizeof buf) <= 0) return;
  int64_t v = ms_cgroup_parse_key(buf, cg->version == 2 ? "file" : "total_cache");
  if (v < 0 && cg->version == 1) v = ms_cgroup_parse_key(buf, "cache");
  if (v >= 0) {
    st->file_bytes = (uint64_t)v;
    st->has_file = true;
  }
}

int64_t ms_cgroup_oom_kills(const ms_cgroup *cg) {
  ms_cgroup_state st;
  ms_cgroup_read(cg, &st);
  return st.has_events ? (int64_t)st.oom_kill : -1;
}
