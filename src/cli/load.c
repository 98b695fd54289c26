/* JSON report -> snapshot, with libjansson (exact 64-bit integers). */
#include "load.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tolerant getters: a missing member or one of another type reads as the default ---- */

static const json_t *ms_get(const json_t *o, const char *key) { return json_is_object(o) ? json_object_get(o, key) : NULL; }

static const char *ms_str(const json_t *o, const char *key, const char *dflt) {
  const json_t *v = ms_get(o, key);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

static int64_t ms_i64v(const json_t *v) {
  if (json_is_integer(v)) return (int64_t)json_integer_value(v);
  if (json_is_real(v)) return (int64_t)json_real_value(v);
  return 0;
}
static int64_t ms_i64(const json_t *o, const char *key) { return ms_i64v(ms_get(o, key)); }
static uint64_t ms_u64(const json_t *o, const char *key) {
  int64_t v = ms_i64(o, key);
  return v > 0 ? (uint64_t)v : 0;
}
static bool ms_bool(const json_t *o, const char *key) { return json_is_true(ms_get(o, key)); }

static uint64_t ms_hex(const json_t *o, const char *key) {
  const char *s = ms_str(o, key, NULL);
  if (!s) return ms_u64(o, key);
  return strtoull(s, NULL, 0);
}

static size_t ms_count(const json_t *a) { return json_is_array(a) ? json_array_size(a) : 0; }

/* ---- members ---- */

static void ms_load_mem(const json_t *o, ms_snap_mem *m) {
  memset(m, 0, sizeof *m);
  if (!json_is_object(o)) return;
  m->present = true;
  m->live_bytes = ms_i64(o, "live_bytes");
  m->live_count = ms_i64(o, "live_count");
  m->allocated_bytes = ms_u64(o, "allocated_bytes");
  m->allocated_count = ms_u64(o, "allocated_count");
  m->peak_live_bytes = ms_u64(o, "peak_live_bytes");
  m->growth_bytes = ms_i64(o, "growth_bytes");
}

/* libstdc++'s demangler, linked into the CLI only (the library demangles when the process
 * happens to have it; a C program's report keeps C++ library frames mangled). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* A mangled C++ name ("_Z...") as people read it, copied into the report's arena; else name. */
static const char *ms_demangled(const char *name, ms_arena *a) {
  if (strncmp(name, "_Z", 2) != 0) return name;
  int status = 0;
  char *d = __cxa_demangle(name, NULL, NULL, &status);
  if (!d || status != 0) {
    free(d);
    return name;
  }
  const char *copy = ms_arena_strdup(a, d);
  free(d);
  return copy ? copy : name;
}

static void ms_load_frame(const json_t *o, ms_snap_frame *f, ms_arena *a) {
  const char *kind = ms_str(o, "kind", "native");
  f->function = ms_demangled(ms_str(o, "function", "??"), a);
  if (!strcmp(kind, "python")) {
    f->kind = MS_SNAP_PYTHON;
    f->file = ms_str(o, "file", "?");
    f->line = (uint32_t)ms_u64(o, "line");
  } else if (!strcmp(kind, "native")) {
    f->kind = MS_SNAP_NATIVE;
    f->module = ms_str(o, "module", "[unknown]");
    f->offset = ms_hex(o, "offset");
  } else {
    f->kind = MS_SNAP_OTHER; /* a kind this version does not know: shown by its function */
  }
}

static int ms_load_sites(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  const json_t *sites = ms_get(doc, "sites");
  size_t n = ms_count(sites);
  ms_snap_site *v = ms_arena_array(a, n, sizeof *v);
  if (!v) return -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *site = json_array_get(sites, i);
    const json_t *mem = ms_get(site, "memory"), *frames = ms_get(site, "frames");
    v[i].id = (uint32_t)ms_u64(site, "id");
    ms_load_mem(ms_get(mem, "heap"), &v[i].heap);
    ms_load_mem(ms_get(mem, "device"), &v[i].device);
    size_t nf = ms_count(frames);
    ms_snap_frame *f = ms_arena_array(a, nf, sizeof *f);
    if (!f) return -1;
    for (size_t k = 0; k < nf; k++) ms_load_frame(json_array_get(frames, k), &f[k], a);
    v[i].frames = f;
    v[i].nframes = (uint32_t)nf;
  }
  s->sites = v;
  s->nsites = (uint32_t)n;
  return 0;
}

static int ms_load_timeline(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  const json_t *tl = ms_get(doc, "timeline");
  const json_t *points = ms_get(tl, "points"), *events = ms_get(tl, "events");
  s->interval_ms = ms_u64(tl, "interval_ms");
  size_t np = ms_count(points), ne = ms_count(events);
  ms_snap_point *p = ms_arena_array(a, np, sizeof *p);
  ms_snap_event *e = ms_arena_array(a, ne, sizeof *e);
  if (!p || !e) return -1;
  for (size_t i = 0; i < np; i++) {
    const json_t *o = json_array_get(points, i);
    p[i] = (ms_snap_point){.t_ms = ms_u64(o, "t_ms"), .rss = ms_u64(o, "rss"), .heap_live = ms_u64(o, "heap_live"),
                           .heap_retained = ms_u64(o, "heap_retained"), .mmap_resident = ms_u64(o, "mmap_resident")};
    if (ms_get(o, "gpu_tracked") || ms_get(o, "gpu_used")) {
      p[i].has_gpu = true;
      p[i].gpu_tracked = ms_u64(o, "gpu_tracked");
      p[i].gpu_used = ms_u64(o, "gpu_used");
    }
  }
  for (size_t i = 0; i < ne; i++) {
    const json_t *o = json_array_get(events, i);
    e[i] = (ms_snap_event){.t_ms = ms_u64(o, "t_ms"), .bytes = ms_u64(o, "bytes"), .kind = ms_str(o, "kind", "?"),
                           .trigger = ms_str(o, "trigger", "?")};
  }
  s->points = p;
  s->npoints = (unsigned)np;
  s->events = e;
  s->nevents = (unsigned)ne;
  return 0;
}

static int ms_load_leak(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  const json_t *leak = ms_get(doc, "leak"), *sites = ms_get(leak, "sites"), *win = ms_get(leak, "window_ms");
  ms_snap_leak *l = &s->leak;
  l->checked = ms_bool(leak, "checked");
  l->warmup_ms = ms_u64(leak, "warmup_ms");
  l->from_ms = (uint64_t)ms_i64v(json_array_get(win, 0));
  l->to_ms = (uint64_t)ms_i64v(json_array_get(win, 1));
  l->snapshots = (unsigned)ms_u64(leak, "snapshots");
  const json_t *limit = ms_get(leak, "limit_bytes");
  l->has_limit = json_is_number(limit);
  l->limit_bytes = l->has_limit ? (uint64_t)ms_i64v(limit) : 0;
  l->growth_bytes = ms_i64(leak, "growth_bytes");
  l->verdict = ms_str(leak, "verdict", "none");
  size_t n = ms_count(sites);
  ms_snap_leak_site *v = ms_arena_array(a, n, sizeof *v);
  if (!v) return -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(sites, i);
    v[i] = (ms_snap_leak_site){.id = (uint32_t)ms_u64(o, "id"), .growth_bytes = ms_i64(o, "growth_bytes"),
                               .late_growth_bytes = ms_i64(o, "late_growth_bytes"), .steady = ms_bool(o, "steady")};
  }
  l->sites = v;
  l->nsites = (unsigned)n;
  return 0;
}

static ms_snap_lost ms_load_lost(const json_t *o) {
  return (ms_snap_lost){ms_u64(o, "direct_bytes"), ms_u64(o, "direct_count"), ms_u64(o, "indirect_bytes"),
                        ms_u64(o, "indirect_count")};
}

static int ms_load_unreach(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  const json_t *u = ms_get(doc, "unreachable"), *sites = ms_get(u, "sites");
  if (!json_is_object(u)) return 0;
  ms_snap_unreach *r = &s->unreachable;
  r->present = true;
  r->scanned = ms_bool(u, "scanned");
  r->why_not = ms_str(u, "why_not", "");
  r->blocks = ms_u64(u, "blocks");
  r->threads = (unsigned)ms_u64(u, "threads");
  r->lost = ms_load_lost(u);
  size_t n = ms_count(sites);
  ms_snap_unreach_site *v = ms_arena_array(a, n, sizeof *v);
  if (!v) return -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(sites, i);
    v[i] = (ms_snap_unreach_site){(uint32_t)ms_u64(o, "id"), ms_load_lost(o)};
  }
  r->sites = v;
  r->nsites = (unsigned)n;
  return 0;
}

static int ms_load_gpu(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  const json_t *gpu = ms_get(doc, "gpu");
  if (!json_is_object(gpu)) return 0;
  ms_snap_gpu *g = &s->gpu;
  g->present = true;
  g->runtime = ms_str(gpu, "runtime", "?");
  g->nvml = ms_bool(gpu, "nvml");
  g->tracked_growth_bytes = ms_i64(gpu, "tracked_growth_bytes");
  const json_t *devices = ms_get(gpu, "devices"), *events = ms_get(gpu, "events");
  size_t nd = ms_count(devices), ne = ms_count(events);
  ms_snap_gpu_device *d = ms_arena_array(a, nd, sizeof *d);
  ms_snap_gpu_event *e = ms_arena_array(a, ne, sizeof *e);
  if (!d || !e) return -1;
  for (size_t i = 0; i < nd; i++) {
    const json_t *o = json_array_get(devices, i);
    d[i] = (ms_snap_gpu_device){.index = (uint32_t)ms_u64(o, "index"), .name = ms_str(o, "name", "?"),
                                .total_bytes = ms_u64(o, "total_bytes"), .nvml_used_bytes = ms_u64(o, "nvml_used_bytes"),
                                .tracked_bytes = ms_u64(o, "tracked_bytes"),
                                .pool_reserved_bytes = ms_u64(o, "pool_reserved_bytes"),
                                .residual_bytes = ms_i64(o, "residual_bytes"),
                                .host_pinned_bytes = ms_u64(o, "host_pinned_bytes")};
  }
  for (size_t i = 0; i < ne; i++) {
    const json_t *o = json_array_get(events, i);
    e[i] = (ms_snap_gpu_event){.t_ms = ms_u64(o, "t_ms"), .bytes = ms_u64(o, "bytes"), .kind = ms_str(o, "kind", "?"),
                               .device = (uint32_t)ms_u64(o, "device")};
  }
  g->devices = d;
  g->ndevices = (unsigned)nd;
  g->events = e;
  g->nevents = (unsigned)ne;
  return 0;
}

static int ms_load_modules(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  const json_t *mods = ms_get(doc, "modules");
  size_t n = ms_count(mods);
  ms_snap_module *m = ms_arena_array(a, n, sizeof *m);
  if (!m) return -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(mods, i);
    m[i] = (ms_snap_module){.path = ms_str(o, "path", ""), .build_id = ms_str(o, "build_id", "")};
  }
  s->modules = m;
  s->nmodules = (unsigned)n;
  return 0;
}

/* mapped_files: the tracked file mappings (droppable_resident_bytes is derived, not read). */
static int ms_load_mapped(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  const json_t *list = ms_get(ms_get(doc, "mapped_files"), "mappings");
  size_t n = ms_count(list);
  if (!n) return 0;
  ms_snap_mapping *out = ms_arena_array(a, n, sizeof *out);
  if (!out) return -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *m = json_array_get(list, i);
    out[i] = (ms_snap_mapping){.site = (uint32_t)ms_u64(m, "site"), .path = ms_str(m, "path", NULL),
                               .start = ms_hex(m, "start"), .end = ms_hex(m, "end"),
                               .resident_bytes = ms_u64(m, "resident_bytes"), .droppable = ms_bool(m, "droppable")};
    if (out[i].end < out[i].start) out[i].end = out[i].start;
  }
  s->mapped = out;
  s->nmapped = (unsigned)n;
  return 0;
}

static int ms_load_snapshot(const json_t *doc, ms_snapshot *s, ms_arena *a) {
  memset(s, 0, sizeof *s);
  const json_t *proc = ms_get(doc, "process"), *profile = ms_get(doc, "profile");
  s->reason = ms_str(doc, "reason", "?");
  s->time_ms = ms_u64(doc, "time_ms");
  s->process.pid = ms_i64(proc, "pid");
  s->process.ppid = ms_i64(proc, "ppid");
  s->process.start_time = ms_i64(proc, "start_time");
  s->process.command = ms_str(proc, "command", "?");
  s->process.backend = ms_str(proc, "backend", "?");
  s->process.memshim_version = ms_str(proc, "memshim_version", "?");
  s->process.report_write_errors = ms_u64(proc, "report_write_errors");
  s->sample_bytes = ms_u64(profile, "sample_bytes");
  s->has_profile = s->sample_bytes != 0;
  s->exact = ms_bool(profile, "exact");
  s->stack_depth = (unsigned)ms_u64(profile, "stack_depth");
  s->sites_count = ms_u64(profile, "sites_count");
  s->sampled_live = ms_u64(profile, "sampled_live");
  s->memory_bytes = ms_u64(profile, "memory_bytes");
  s->live_before_teardown_ms = ms_u64(profile, "live_before_teardown_ms");
  const json_t *totals = ms_get(profile, "totals");
  ms_load_mem(ms_get(totals, "heap"), &s->total_heap);
  ms_load_mem(ms_get(totals, "device"), &s->total_device);
  const json_t *cg = ms_get(doc, "container");
  if (json_is_object(cg)) {
    s->container.present = true;
    s->container.version = (int)ms_u64(cg, "version");
    s->container.cgroup = ms_str(cg, "cgroup", "");
    s->container.limit_bytes = ms_u64(cg, "limit_bytes");
    s->container.limit_file = json_is_string(ms_get(cg, "limit_file")) ? ms_str(cg, "limit_file", "") : NULL;
    s->container.has_usage = ms_get(cg, "usage_bytes") != NULL;
    s->container.usage_bytes = ms_u64(cg, "usage_bytes");
    s->container.oom_kill = ms_u64(cg, "oom_kill");
    s->container.has_file = ms_get(cg, "file_bytes") != NULL;
    s->container.file_bytes = ms_u64(cg, "file_bytes");
    s->container.has_psi = ms_get(cg, "psi_some_avg10_bp") != NULL;
    s->container.psi_some_avg10_bp = (uint32_t)ms_u64(cg, "psi_some_avg10_bp");
    s->container.psi_full_avg10_bp = (uint32_t)ms_u64(cg, "psi_full_avg10_bp");
    s->container.pressure_reports = ms_u64(cg, "pressure_reports");
  }
  if (ms_load_sites(doc, s, a) || ms_load_mapped(doc, s, a) || ms_load_timeline(doc, s, a) || ms_load_leak(doc, s, a) || ms_load_unreach(doc, s, a) || ms_load_gpu(doc, s, a) ||
      ms_load_modules(doc, s, a))
    return -1;
  return 0;
}

int ms_cli_report_load(const char *path, ms_cli_report *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  ms_arena_init(&r->arena);
  json_error_t je;
  json_t *doc = !strcmp(path, "-") ? json_loadf(stdin, 0, &je) : json_load_file(path, 0, &je);
  if (!doc) {
    if (je.line > 0) snprintf(err, errlen, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
    else snprintf(err, errlen, "%s: %s", path, je.text);
    return -1;
  }
  r->doc = doc;
  if (strcmp(ms_str(doc, "format", ""), "memshim-report") != 0) {
    snprintf(err, errlen, "%s: not a memshim JSON report (no \"format\": \"memshim-report\")", path);
    ms_cli_report_free(r);
    return -1;
  }
  int64_t version = ms_i64(doc, "version");
  if (version != 1) {
    snprintf(err, errlen, "%s: report schema version %lld; this memshim reads version 1", path, (long long)version);
    ms_cli_report_free(r);
    return -1;
  }
  if (ms_load_snapshot(doc, &r->snap, &r->arena) != 0) {
    snprintf(err, errlen, "%s: out of memory", path);
    ms_cli_report_free(r);
    return -1;
  }
  return 0;
}

void ms_cli_report_free(ms_cli_report *r) {
  json_decref(r->doc);
  r->doc = NULL;
  ms_arena_release(&r->arena);
}

static int ms_path_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int ms_cli_paths_add(ms_cli_paths *l, const char *path) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    char **v = realloc(l->paths, (size_t)cap * sizeof *v);
    if (!v) return -1;
    l->paths = v;
    l->cap = cap;
  }
  return (l->paths[l->n] = strdup(path)) ? (l->n++, 0) : -1;
}

void ms_cli_paths_free(ms_cli_paths *l) {
  for (int i = 0; i < l->n; i++) free(l->paths[i]);
  free(l->paths);
  *l = (ms_cli_paths){0};
}

int ms_cli_list_reports(const char *dir, const char *prefix, ms_cli_paths *l) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int first = l->n, rc = 0;
  char path[PATH_MAX + 256]; /* dir opened, so shorter than PATH_MAX; a name is at most 255 */
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name), plen = strlen(prefix);
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, plen) != 0 || len < plen + 6 ||
        strcmp(e->d_name + len - 5, ".json") != 0)
      continue; /* hidden files too: a writer's temporary file is never half a report here */
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (ms_cli_paths_add(l, path) != 0) {
      rc = -1;
      break;
    }
  }
  closedir(d);
  int n = l->n - first;
  if (n) qsort(l->paths + first, (size_t)n, sizeof *l->paths, ms_path_cmp);
  if (rc) errno = ENOMEM;
  return rc ? rc : n;
}
