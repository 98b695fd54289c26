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
  return growth > (int64_t)limit ? "fail" : "pass";
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

void ms_frame_collapsed(const ms_snap_frame *f, char *buf, size_t len) {
  ms_frame_label(f, buf, len);
  for (char *c = buf; *c; c++) {
    if (*c == ';') *c = ':';
    else if ((unsigned char)*c < 0x20) *c = ' ';
  }
}
