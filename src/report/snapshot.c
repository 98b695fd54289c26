/* Queries on a snapshot and the one way each format names a frame and a byte count. */
#include "snapshot.h"

#include <stdio.h>
#include <string.h>

#include "write.h"

const ms_snap_site *ms_snap_find_site(const ms_snapshot *s, uint32_t id) {
  for (uint32_t i = 0; i < s->nsites; i++)
    if (s->sites[i].id == id) return &s->sites[i];
  return NULL;
}

const char *ms_snap_build_id(const ms_snapshot *s, const char *module) {
  for (unsigned i = 0; i < s->nmodules; i++)
    if (module && !strcmp(s->modules[i].path, module)) return s->modules[i].build_id ? s->modules[i].build_id : "";
  return "";
}

bool ms_snap_has_device(const ms_snapshot *s) {
  if (s->total_device.present) return true;
  for (uint32_t i = 0; i < s->nsites; i++)
    if (s->sites[i].device.present) return true;
  return false;
}

bool ms_snap_has_gpu_series(const ms_snapshot *s) {
  for (unsigned i = 0; i < s->npoints; i++)
    if (s->points[i].has_gpu) return true;
  return false;
}

const char *ms_snap_verdict(bool checked, bool has_limit, uint64_t limit, int64_t growth) {
  if (!has_limit || !checked) return "none";
  return ms_over_limit(growth, limit) ? "fail" : "pass";
}

void ms_fmt_bytes(char *buf, size_t len, double b) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double a = b < 0 ? -b : b;
  while (a >= 1024 && u < 4) {
    a /= 1024;
    b /= 1024;
    u++;
  }
  if (u == 0) snprintf(buf, len, "%.0f B", b);
  else snprintf(buf, len, "%.1f %s", b, unit[u]);
}

static const char *ms_basename(const char *path) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? slash + 1 : path ? path : "";
}

void ms_frame_label(const ms_snap_frame *f, char *buf, size_t len) {
  const char *fn = f->function && *f->function ? f->function : "??";
  if (f->kind == MS_SNAP_PYTHON) {
    snprintf(buf, len, "%s:%u %s", f->file ? f->file : "?", (unsigned)f->line, fn);
  } else if (f->kind == MS_SNAP_NATIVE && !strcmp(fn, "??")) {
    snprintf(buf, len, "%s+0x%llx", ms_basename(f->module ? f->module : "[unknown]"), (unsigned long long)f->offset);
  } else {
    snprintf(buf, len, "%s", fn);
  }
}

void ms_frame_where(const ms_snap_frame *f, const char *sep, char *buf, size_t len) {
  if (f->kind == MS_SNAP_NATIVE)
    snprintf(buf, len, "%s%s(%s+0x%llx)", f->function && *f->function ? f->function : "??", sep,
             f->module ? f->module : "[unknown]", (unsigned long long)f->offset);
  else ms_frame_label(f, buf, len);
}

bool ms_py_file_is_library(const char *file) {
  return !file || file[0] == '<' || strstr(file, "/site-packages/") || strstr(file, "/dist-packages/") ||
         strstr(file, "/lib/python3.") || strstr(file, "/lib/python2.") || strstr(file, "/bin/");
}

/* The qualified name of a demangled function: "void std::vector<int>::_M_realloc_insert<int>(...)"
 * -> "std::vector<int>::_M_realloc_insert<int>(...)" (a template's return type dropped). */
static const char *ms_qualified(const char *fn) {
  const char *start = fn;
  int depth = 0;
  for (const char *c = fn; *c && !(*c == '(' && depth == 0); c++) {
    if (*c == '<') depth++;
    else if (*c == '>' && depth > 0) depth--;
    else if (*c == ' ' && depth == 0 && !(c - fn >= 8 && !strncmp(c - 8, "operator", 8))) start = c + 1;
  }
  return start;
}

bool ms_frame_is_plumbing(const char *fn) {
  static const char *const prefix[] = {"operator new", "_Znw", "_Zna", "std::", "__gnu_cxx::", "_ZNSt", "_ZNKSt",
                                       "_ZSt", "_ZN9__gnu_cxx", "c10::alloc_cpu", "PyMem_", "PyObject_Malloc",
                                       "PyObject_Calloc", "PyObject_Realloc"};
  static const char *const exact[] = {"strdup", "strndup", "__strdup", "__strndup", "xmalloc"};
  if (!fn) return false;
  const char *q = ms_qualified(fn);
  for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++)
    if (!strncmp(q, prefix[i], strlen(prefix[i]))) return true;
  for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
    if (!strcmp(q, exact[i])) return true;
  return !strncmp(q, "_PyObject_", 10) && strstr(q, "alloc");
}

const ms_snap_frame *ms_site_named_frame(const ms_snap_site *site) {
  const ms_snap_frame *innermost_py = NULL;
  for (uint32_t k = 0; k < site->nframes; k++) {
    const ms_snap_frame *f = &site->frames[k];
    if (f->kind != MS_SNAP_PYTHON) continue;
    if (!ms_py_file_is_library(f->file)) return f;
    if (!innermost_py) innermost_py = f;
  }
  if (innermost_py) return innermost_py;
  for (uint32_t k = 0; k < site->nframes; k++) /* the first frame that is not allocator plumbing */
    if (site->frames[k].kind != MS_SNAP_NATIVE || !ms_frame_is_plumbing(site->frames[k].function)) return &site->frames[k];
  return site->nframes ? &site->frames[0] : NULL;
}

void ms_site_where(const ms_snap_site *site, char *buf, size_t len) {
  const ms_snap_frame *named = ms_site_named_frame(site);
  if (!named) {
    snprintf(buf, len, "[no stack]");
    return;
  }
  if (named->kind != MS_SNAP_PYTHON) {
    ms_frame_where(named, " ", buf, len);
    return;
  }
  char head[512], via[512] = "", from[512] = "";
  ms_frame_label(named, head, sizeof head);
  const ms_snap_frame *inner = site->frames;
  while (inner->kind != MS_SNAP_PYTHON) inner++;
  if (inner != named) ms_frame_label(inner, via, sizeof via);
  if (inner != site->frames) ms_frame_where(&site->frames[0], " ", from, sizeof from);
  if (!*via && !*from) snprintf(buf, len, "%s", head);
  else
    snprintf(buf, len, "%s (%s%s%s%s%s)", head, *via ? "via " : "", via, *via && *from ? ", " : "", *from ? "from " : "",
             from);
}

void ms_frame_collapsed(const ms_snap_frame *f, char *buf, size_t len) {
  ms_frame_label(f, buf, len);
  for (char *c = buf; *c; c++) {
    if (*c == ';') *c = ':';
    else if ((unsigned char)*c < 0x20) *c = ' ';
  }
}

uint64_t ms_snap_mapped_droppable(const ms_snapshot *s) {
  uint64_t sum = 0;
  for (unsigned i = 0; i < s->nmapped; i++)
    if (s->mapped[i].droppable) sum += s->mapped[i].resident_bytes;
  return sum;
}
