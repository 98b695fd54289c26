/* The report writers. Each reads only a snapshot (snapshot.h) and writes through ms_out (out.h):
 * no heap, no stdio, so the same code runs inside the preloaded library and in the CLI. */
#ifndef MEMSHIM_REPORT_WRITE_H
#define MEMSHIM_REPORT_WRITE_H

#include <stddef.h>

#include "../util/arena.h"
#include "out.h"
#include "snapshot.h"

typedef struct {
  unsigned top; /* call sites listed by text and svg (0 = all); collapsed, json, html and pprof list all */
} ms_write_opts;

/* How many of n items a --top of top lists: top, or all n when top is 0 or not smaller. */
static inline unsigned ms_limit(uint32_t n, unsigned top) { return top && top < n ? top : n; }

void ms_write_text(const ms_snapshot *s, const ms_write_opts *opt, ms_out *o);
/* One line per call site with live heap bytes: frames outermost first, ';'-separated, a space,
 * the bytes. top limits the sites (0 = all). */
void ms_write_collapsed(const ms_snapshot *s, const ms_write_opts *opt, ms_out *o);
/* The JSON report, schema version 1 (docs/report-format.md). html_safe escapes '<', '>' and
 * '&' as \u003c..., so the document can sit inside an HTML <script> element. */
void ms_write_json(const ms_snapshot *s, ms_out *o, int html_safe);
/* The SVG timeline page. */
void ms_write_svg(const ms_snapshot *s, const ms_write_opts *opt, ms_out *o);
/* One self-contained HTML page for n per-process snapshots of one run. */
void ms_write_html(const ms_snapshot *const *s, unsigned n, ms_out *o);
/* pprof's profile.proto, gzipped. Returns 0, or -1 when its working memory cannot be had. */
int ms_write_pprof(const ms_snapshot *s, ms_out *o);

/* "52.4 MiB", "812 B": binary units, one decimal (one formatter for every writer and the CLI). */
void ms_fmt_bytes(char *buf, size_t len, double bytes);
/* A frame as people read it (docs/report-format.md): native "function", or "module+0xoff" when the
 * symbol is unknown; Python "file:LINE function". */
void ms_frame_label(const ms_snap_frame *f, char *buf, size_t len);
/* A frame with where it is: native "function" SEP "(module+0xoff)"; Python as ms_frame_label. */
void ms_frame_where(const ms_snap_frame *f, const char *sep, char *buf, size_t len);
/* Allocator plumbing, skipped when a site is named (kept in its stack): operator new/new[],
 * std:: and __gnu_cxx:: functions (allocators, vector growth), c10::alloc_cpu, PyMem_*,
 * PyObject_Malloc/Calloc/Realloc, _PyObject_*alloc*, strdup, strndup, xmalloc; demangled or not. */
bool ms_frame_is_plumbing(const char *function);
/* A Python file that is not the user's own code: under site-packages/, dist-packages/,
 * /lib/python3.* (the standard library) or a bin/ directory (an installed package's entry-point
 * script: /usr/bin/gunicorn), or not a file at all ("<frozen ...>", "<string>"). */
bool ms_py_file_is_library(const char *file);
/* The frame a call site is named by for people: its innermost Python frame in code the user wrote
 * (a "user frame": a Python frame whose file ms_py_file_is_library does not claim), else
 * its innermost Python frame, else its first frame that is not allocator plumbing (the
 * allocating frame when all are); NULL without frames. */
const ms_snap_frame *ms_site_named_frame(const ms_snap_site *site);
/* A call site in one line, named first: "/app/leak.py:29 keep (via .../numeric.py:205 ones, from
 * PyDataMem_UserNEW (module+0x1f))" for a site with Python frames, else as ms_frame_where. */
void ms_site_where(const ms_snap_site *site, char *buf, size_t len);
/* A frame in collapsed stacks: ms_frame_label with ';' replaced by ':' and control characters by
 * spaces (spaces stay: flamegraph.pl splits the count off at the last space). */
void ms_frame_collapsed(const ms_snap_frame *f, char *buf, size_t len);

/* Sites merged by Python line (view.c): sites named by a Python frame whose Python frames from
 * that frame outwards (the line and its Python callers; only the user frames among them when the
 * line is the user's) are equal form one group, whatever native frames lie inside or between
 * them; every other site is a group of its own. Returns, per site,
 * the index of its group's first site (the largest, as sites come by live bytes), in memory of
 * a; NULL when a is out of memory (then show every site alone). */
uint32_t *ms_snap_group_sites(const ms_snapshot *s, ms_arena *a);
/* The frames a flame graph folds by default (view.c): mask[k] = '1' for frame k folded, '0' kept,
 * mask[nframes] = 0 (room for nframes + 1). Folded: native frames of the Python interpreter (the
 * python executable, libpython, the standard library's lib-dynload modules), of memshim, allocator
 * plumbing (ms_frame_is_plumbing), process and thread entry (_start, __libc_start_main,
 * start_thread, clone), libc frames that called other code (outside the innermost non-libc
 * frame); Python frames of the import system (<frozen importlib...>), and library Python frames
 * (ms_py_file_is_library) outside the innermost user frame (the framework that called the
 * user's code: gunicorn, flask, ...). The frame the site is named by is never folded. */
void ms_site_fold(const ms_snap_site *site, char *mask);

#endif
