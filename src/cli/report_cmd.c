/* memshim report FILE.json|DIR... [--format text|collapsed|svg|json|html|pprof] [--top N]:
 * load JSON reports into the report model (load.c) and render them with the library's own
 * writers (src/report/), on stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../report/write.h"
#include "cli.h"
#include "load.h"

static const char ms_report_usage[] =
  "usage: memshim report FILE.json... [--format text|collapsed|svg|json|html|pprof] [--top N]\n"
  "  Renders JSON reports written by the profiler (MEMSHIM_REPORT=json, or memshim run --report)\n"
  "  on stdout ('-' reads stdin):\n"
  "  text       top call sites by live bytes with their stacks, growth, leak verdict (default)\n"
  "  collapsed  one line per call site for flamegraph.pl: frames outermost first, live bytes\n"
  "  svg        the timeline (RSS, heap live, heap retained, file-mapped resident, GPU when\n"
  "             present; purge and limit events marked) and the top call sites\n"
  "  html       one self-contained page for a browser: flame graph of live bytes by call site,\n"
  "             timeline, sortable table of sites; several reports (files, or a directory of\n"
  "             memshim.*.json such as 'memshim run --report DIR') combine into one page\n"
  "  pprof      gzipped profile.proto for go tool pprof, Pyroscope, Parca (binary: redirect it)\n"
  "  json       the report again, as this memshim writes it\n"
  "  --top N    list N call sites in text, svg and collapsed (default 10 for text and svg,\n"
  "             all for collapsed; 0 = all)\n"
  "  Exit status: 0 ok, 1 unreadable or invalid report, 2 bad arguments.\n";

typedef enum { MS_FMT_TEXT, MS_FMT_SVG, MS_FMT_COLLAPSED, MS_FMT_JSON, MS_FMT_HTML, MS_FMT_PPROF } ms_report_format;
static const char *const ms_format_names[] = {"text", "svg", "collapsed", "json", "html", "pprof"};

static int ms_parse_top(const char *s, unsigned *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > 1000000) return -1;
  *out = (unsigned)v;
  return 0;
}

static int ms_is_dir(const char *path) {
  struct stat st;
  return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ms_report_render(ms_report_format fmt, unsigned top, ms_cli_report *r, int n) {
  static ms_out out;
  ms_out_init(&out, STDOUT_FILENO);
  ms_write_opts opt = {.top = top};
  int rc = 0;
  switch (fmt) {
    case MS_FMT_TEXT: ms_write_text(&r[0].snap, &opt, &out); break;
    case MS_FMT_SVG: ms_write_svg(&r[0].snap, &opt, &out); break;
    case MS_FMT_COLLAPSED: ms_write_collapsed(&r[0].snap, &opt, &out); break;
    case MS_FMT_JSON: ms_write_json(&r[0].snap, &out, 0); break;
    case MS_FMT_PPROF: rc = ms_write_pprof(&r[0].snap, &out); break;
    case MS_FMT_HTML: {
      const ms_snapshot **v = malloc((size_t)n * sizeof *v);
      if (!v) return -1;
      for (int i = 0; i < n; i++) v[i] = &r[i].snap;
      ms_write_html(v, (unsigned)n, &out);
      free(v);
      break;
    }
  }
  int err = ms_out_flush(&out);
  if (err) errno = err;
  return rc || err ? -1 : 0;
}

int ms_cmd_report(int argc, char **argv) {
  ms_report_format fmt = MS_FMT_TEXT;
  int top_set = 0, c;
  unsigned top = 10;
  static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                           {"top", required_argument, NULL, 't'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0, 0, 0, 0}};
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("report", argc, argv, ":h", longopts)) != -1) {
    switch (c) {
      case 'h': fputs(ms_report_usage, stdout); return MS_EXIT_OK;
      case 'f': {
        size_t k = 0, nf = sizeof ms_format_names / sizeof ms_format_names[0];
        while (k < nf && strcmp(optarg, ms_format_names[k]) != 0) k++;
        if (k == nf) {
          fprintf(stderr, "memshim report: unknown format '%s' (text, collapsed, svg, json, html or pprof)\n", optarg);
          return MS_EXIT_USAGE;
        }
        fmt = (ms_report_format)k;
        break;
      }
      case 't':
        if (ms_parse_top(optarg, &top) != 0) {
          fprintf(stderr, "memshim report: --top wants a count (0 = all), not '%s'\n", optarg);
          return MS_EXIT_USAGE;
        }
        top_set = 1;
        break;
      default: return MS_EXIT_USAGE;
    }
  }
  int nargs = argc - optind;
  if (nargs < 1) {
    fprintf(stderr, "memshim report: no report given (usage: memshim report FILE.json [--format ...])\n");
    return MS_EXIT_USAGE;
  }
  if (nargs > 1 && fmt != MS_FMT_HTML) {
    fprintf(stderr, "memshim report: one report at a time ('%s' and '%s'); only --format html combines several\n",
            argv[optind], argv[optind + 1]);
    return MS_EXIT_USAGE;
  }
  if (fmt == MS_FMT_COLLAPSED && !top_set) top = 0;
  if (fmt == MS_FMT_PPROF && isatty(STDOUT_FILENO)) {
    fprintf(stderr, "memshim report: pprof output is binary; redirect it to a file (> profile.pb.gz)\n");
    return MS_EXIT_USAGE;
  }

  ms_cli_paths files = {0}; /* the report files named on the command line, directories expanded (html only) */
  int rc = MS_EXIT_OK;
  for (int i = optind; i < argc && rc == MS_EXIT_OK; i++) {
    if (fmt == MS_FMT_HTML && ms_is_dir(argv[i])) {
      int n = ms_cli_list_reports(argv[i], &files);
      if (n <= 0) {
        fprintf(stderr, "memshim report: %s: %s\n", argv[i], n < 0 ? strerror(errno) : "no memshim.*.json report in it");
        rc = MS_EXIT_FAIL;
      }
    } else if (ms_cli_paths_add(&files, argv[i]) != 0) {
      rc = MS_EXIT_FAIL;
    }
  }
  ms_cli_report *reports = rc == MS_EXIT_OK ? calloc((size_t)(files.n ? files.n : 1), sizeof *reports) : NULL;
  int loaded = 0;
  if (!reports) rc = MS_EXIT_FAIL;
  for (; rc == MS_EXIT_OK && loaded < files.n; loaded++) {
    char err[4608];
    if (ms_cli_report_load(files.paths[loaded], &reports[loaded], err, sizeof err) != 0) {
      fprintf(stderr, "memshim report: %s\n", err);
      rc = MS_EXIT_FAIL;
      break;
    }
  }
  if (rc == MS_EXIT_OK && ms_report_render(fmt, top, reports, loaded) != 0) {
    fprintf(stderr, "memshim report: write error: %s\n", strerror(errno));
    rc = MS_EXIT_FAIL;
  }
  for (int i = 0; i < loaded; i++) ms_cli_report_free(&reports[i]);
  free(reports);
  ms_cli_paths_free(&files);
  return rc;
}
