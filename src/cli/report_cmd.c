/* memshim report FILE.json [--format text|svg|collapsed] [--top N] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "report.h"

static const char ms_report_usage[] =
  "usage: memshim report FILE.json [--format text|svg|collapsed] [--top N]\n"
  "  Renders a JSON report written by the profiler (MEMSHIM_REPORT=json, or memshim run --report)\n"
  "  on stdout ('-' reads stdin):\n"
  "  text       top call sites by live bytes with their stacks, growth, leak verdict (default)\n"
  "  collapsed  one line per call site for flamegraph.pl: frames outermost first, live bytes\n"
  "  svg        the timeline (RSS, heap live, heap retained, file-mapped resident; purge and\n"
  "             limit events marked) and the top call sites, a page for a browser\n"
  "  --top N    list N call sites (default 10 for text and svg, all for collapsed; 0 = all)\n"
  "  Exit status: 0 ok, 1 unreadable or invalid report, 2 bad arguments.\n";

typedef enum { MS_FMT_TEXT, MS_FMT_SVG, MS_FMT_COLLAPSED } ms_report_format;

void ms_report_fmt_bytes(char *buf, size_t len, double b) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double a = b < 0 ? -b : b;
  while (a >= 1024 && u < 4) { a /= 1024; b /= 1024; u++; }
  if (u == 0) snprintf(buf, len, "%.0f B", b);
  else snprintf(buf, len, "%.1f %s", b, unit[u]);
}

void ms_report_frame_name(const ms_json *frame, char *buf, size_t len) {
  const char *fn = ms_json_string(ms_json_get(frame, "function"), "??");
  if (strcmp(fn, "??") != 0 && *fn) { snprintf(buf, len, "%s", fn); return; }
  const char *module = ms_json_string(ms_json_get(frame, "module"), "[unknown]");
  const char *base = strrchr(module, '/');
  snprintf(buf, len, "%s+%s", base ? base + 1 : module, ms_json_string(ms_json_get(frame, "offset"), "?"));
}

const ms_json *ms_report_site_heap(const ms_json *site) { return ms_json_path(site, "memory.heap"); }

static int ms_parse_top(const char *s, unsigned *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > 1000000) return -1;
  *out = (unsigned)v;
  return 0;
}

int ms_cmd_report(int argc, char **argv) {
  const char *path = NULL;
  ms_report_format fmt = MS_FMT_TEXT;
  int top_set = 0;
  unsigned top = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(ms_report_usage, stdout);
      return MS_EXIT_OK;
    }
    if (!strcmp(a, "--format") || !strcmp(a, "--top")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "memshim report: %s needs a value (see 'memshim report --help')\n", a);
        return MS_EXIT_USAGE;
      }
      v = argv[++i];
    } else if (!strncmp(a, "--format=", 9) || !strncmp(a, "--top=", 6)) {
      v = strchr(a, '=') + 1;
    }
    if (v && !strncmp(a, "--format", 8)) {
      if (!strcmp(v, "text")) fmt = MS_FMT_TEXT;
      else if (!strcmp(v, "svg")) fmt = MS_FMT_SVG;
      else if (!strcmp(v, "collapsed")) fmt = MS_FMT_COLLAPSED;
      else {
        fprintf(stderr, "memshim report: unknown format '%s' (text, svg or collapsed)\n", v);
        return MS_EXIT_USAGE;
      }
    } else if (v) {
      if (ms_parse_top(v, &top) != 0) {
        fprintf(stderr, "memshim report: --top wants a count (0 = all), not '%s'\n", v);
        return MS_EXIT_USAGE;
      }
      top_set = 1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "memshim report: unknown option '%s' (see 'memshim report --help')\n", a);
      return MS_EXIT_USAGE;
    } else if (path) {
      fprintf(stderr, "memshim report: one report at a time ('%s' and '%s')\n", path, a);
      return MS_EXIT_USAGE;
    } else {
      path = a;
    }
  }
  if (!path) {
    fprintf(stderr, "memshim report: no report given (usage: memshim report FILE.json [--format ...])\n");
    return MS_EXIT_USAGE;
  }
  if (fmt == MS_FMT_COLLAPSED && !top_set) top = 0;

  char err[256];
  ms_json *doc = ms_json_parse_file(path, err, sizeof err);
  if (!doc) {
    fprintf(stderr, "memshim report: %s\n", err);
    return MS_EXIT_FAIL;
  }
  const char *format = ms_json_string(ms_json_get(doc, "format"), "");
  if (strcmp(format, "memshim-report") != 0) {
    fprintf(stderr, "memshim report: %s: not a memshim JSON report (no \"format\": \"memshim-report\")\n", path);
    ms_json_free(doc);
    return MS_EXIT_FAIL;
  }
  int64_t version = ms_json_i64(ms_json_get(doc, "version"), 0);
  if (version != 1) {
    fprintf(stderr, "memshim report: %s: report schema version %lld; this memshim reads version 1\n", path,
            (long long)version);
    ms_json_free(doc);
    return MS_EXIT_FAIL;
  }
  int rc;
  switch (fmt) {
    case MS_FMT_SVG: rc = ms_report_svg(stdout, doc, top); break;
    case MS_FMT_COLLAPSED: rc = ms_report_collapsed(stdout, doc, top); break;
    default: rc = ms_report_text(stdout, doc, top); break;
  }
  ms_json_free(doc);
  if (rc != 0 || fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "memshim report: write error: %s\n", strerror(errno));
    return MS_EXIT_FAIL;
  }
  return MS_EXIT_OK;
}
