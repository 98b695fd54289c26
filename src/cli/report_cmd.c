/* memshim report FILE.json|DIR... [--format text|collapsed|svg|json|html|pprof] [--top N]
 * [-o FILE | --serve [--port N] [--once]]: load JSON reports into the report model (load.c) and
 * render them with the library's own writers (src/report/), on stdout, into a file (written
 * atomically), or served to a browser on 127.0.0.1 (serve.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../report/write.h"
#include "cli.h"
#include "load.h"

static const char ms_report_usage[] =
  "usage: memshim report FILE.json|DIR... [--format text|collapsed|svg|json|html|pprof] [--top N]\n"
  "                      [-o FILE | --serve [--port N] [--once]]\n"
  "  Renders JSON reports written by the profiler (MEMSHIM_REPORT=json, or memshim run --report)\n"
  "  on stdout ('-' reads stdin). A directory stands for every memshim JSON report in it\n"
  "  (*.json whatever the prefix; other JSON files are skipped with a note):\n"
  "  text       top call sites by live bytes with their stacks (sites of one Python line\n"
  "             merged), growth, leak verdict (default); several reports one after another\n"
  "  collapsed  one line per call site for flamegraph.pl: frames outermost first, live bytes\n"
  "  svg        the timeline (RSS, heap live, heap retained, file-mapped resident, GPU when\n"
  "             present; purge and limit events marked) and the top call sites\n"
  "  html       one self-contained page for a browser: flame graph of live bytes by call site\n"
  "             (interpreter frames folded; a toggle shows all), timeline, sortable table of\n"
  "             sites merged by Python line; several reports combine into one page\n"
  "  pprof      gzipped profile.proto for go tool pprof, Pyroscope, Parca (binary: redirect it)\n"
  "  json       the report again, as this memshim writes it (--json says the same)\n"
  "  collapsed, svg, pprof and json take one report.\n"
  "  --top N          list N call sites in text, svg and collapsed (default 10 for text and\n"
  "                   svg, all for collapsed; 0 = all)\n"
  "  -o, --output FILE  write to FILE instead of stdout: a new file (mode 0600, an existing\n"
  "                   file's mode kept) renamed over FILE, so readers never see half a report;\n"
  "                   a symlink at FILE is refused\n"
  "  --serve          serve the page (html; the default format then) on http://127.0.0.1:PORT/\n"
  "                   for a browser on this machine or through 'ssh -L PORT:127.0.0.1:PORT host';\n"
  "                   runs until SIGINT or SIGTERM\n"
  "  --port N         the port for --serve (default 0: a free one, printed)\n"
  "  --once           with --serve: exit after the page was sent once\n"
  "  Exit status: 0 ok, 1 unreadable or invalid report, output not written, 2 bad arguments.\n";

typedef enum { MS_FMT_TEXT, MS_FMT_SVG, MS_FMT_COLLAPSED, MS_FMT_JSON, MS_FMT_HTML, MS_FMT_PPROF } ms_report_format;
static const char *const ms_format_names[] = {"text", "svg", "collapsed", "json", "html", "pprof"};

static int ms_parse_uint(const char *s, long max, unsigned *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > max) return -1;
  *out = (unsigned)v;
  return 0;
}

static int ms_is_dir(const char *path) {
  struct stat st;
  return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ms_report_render(ms_report_format fmt, unsigned top, ms_cli_report *r, int n, int fd) {
  static ms_out out;
  ms_out_init(&out, fd);
  ms_write_opts opt = {.top = top};
  int rc = 0;
  switch (fmt) {
    case MS_FMT_TEXT:
      for (int i = 0; i < n; i++) {
        if (i) ms_out_str(&out, "\n\n");
        ms_write_text(&r[i].snap, &opt, &out);
      }
      break;
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

/* -o FILE: a temporary file next to FILE (O_EXCL, so nothing planted there is followed), renamed
 * over FILE once complete. FILE itself must not be a symlink (in a shared directory one could
 * point anywhere; rename would replace the link, not follow it, but say so rather than guess). */
typedef struct {
  char tmp[PATH_MAX];
  const char *path;
  int fd;
} ms_outfile;

static int ms_outfile_open(ms_outfile *f, const char *path) {
  struct stat st;
  mode_t mode = 0600;
  f->path = path;
  f->fd = -1;
  if (lstat(path, &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      fprintf(stderr, "memshim report: %s is a symlink; not followed (remove it, or name another file)\n", path);
      return -1;
    }
    if (!S_ISREG(st.st_mode)) {
      fprintf(stderr, "memshim report: %s exists and is not a regular file\n", path);
      return -1;
    }
    mode = st.st_mode & 07777;
  }
  if (snprintf(f->tmp, sizeof f->tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof f->tmp) {
    fprintf(stderr, "memshim report: %s: file name too long\n", path);
    return -1;
  }
  f->fd = mkostemp(f->tmp, O_CLOEXEC); /* mode 0600, O_EXCL */
  if (f->fd < 0) {
    fprintf(stderr, "memshim report: cannot create %s: %s\n", f->tmp, strerror(errno));
    return -1;
  }
  if (mode != 0600 && fchmod(f->fd, mode) != 0) {
    fprintf(stderr, "memshim report: %s: %s\n", f->tmp, strerror(errno));
    close(f->fd);
    unlink(f->tmp);
    return -1;
  }
  return 0;
}

/* ok: the rendering succeeded; then the file replaces path. Returns 0 or -1 (said why). */
static int ms_outfile_close(ms_outfile *f, int ok) {
  int rc = 0;
  if (ok && fsync(f->fd) != 0) {
    fprintf(stderr, "memshim report: %s: %s\n", f->tmp, strerror(errno));
    rc = -1;
  }
  if (close(f->fd) != 0 && ok && !rc) {
    fprintf(stderr, "memshim report: %s: %s\n", f->tmp, strerror(errno));
    rc = -1;
  }
  if (ok && !rc && rename(f->tmp, f->path) != 0) {
    fprintf(stderr, "memshim report: cannot rename %s to %s: %s\n", f->tmp, f->path, strerror(errno));
    rc = -1;
  }
  if (!ok || rc) unlink(f->tmp);
  return ok ? rc : -1;
}

/* The files named on the command line, directories expanded to every *.json in them, loaded.
 * In a directory, a file that is not a memshim report (another tool's JSON, one being written) is
 * skipped with a note; a file named on its own must load. Returns how many were loaded, or -1. */
static int ms_report_load_all(char **args, int nargs, ms_cli_report **out) {
  ms_cli_paths files = {0};
  int rc = 0, *from_dir = NULL;
  for (int i = 0; i < nargs && !rc; i++) {
    int before = files.n;
    if (ms_is_dir(args[i])) {
      if (ms_cli_list_reports(args[i], "", &files) < 0) {
        fprintf(stderr, "memshim report: %s: %s\n", args[i], strerror(errno));
        rc = -1;
      }
    } else if (ms_cli_paths_add(&files, args[i]) != 0) {
      fprintf(stderr, "memshim report: out of memory\n");
      rc = -1;
    }
    int *v = realloc(from_dir, (size_t)(files.n ? files.n : 1) * sizeof *v);
    if (!v) {
      rc = -1;
      break;
    }
    from_dir = v;
    for (int k = before; k < files.n; k++) from_dir[k] = ms_is_dir(args[i]) ? i + 1 : 0;
  }
  ms_cli_report *reports = rc ? NULL : calloc((size_t)(files.n ? files.n : 1), sizeof *reports);
  int loaded = 0;
  if (!reports) rc = -1;
  for (int i = 0; !rc && i < files.n; i++) {
    char err[PATH_MAX + 512];
    if (ms_cli_report_load(files.paths[i], &reports[loaded], err, sizeof err) == 0) {
      loaded++;
    } else if (from_dir[i]) {
      fprintf(stderr, "memshim report: skipping %s\n", err);
    } else {
      fprintf(stderr, "memshim report: %s\n", err);
      rc = -1;
    }
  }
  if (!rc && !loaded) {
    fprintf(stderr, "memshim report: %s: no memshim JSON report in it\n", nargs == 1 ? args[0] : "the arguments");
    rc = -1;
  }
  free(from_dir);
  ms_cli_paths_free(&files);
  if (rc) {
    for (int i = 0; i < loaded; i++) ms_cli_report_free(&reports[i]);
    free(reports);
    return -1;
  }
  *out = reports;
  return loaded;
}

int ms_cmd_report(int argc, char **argv) {
  ms_report_format fmt = MS_FMT_TEXT;
  int top_set = 0, fmt_set = 0, serve = 0, once = 0, c;
  unsigned top = 10, port = 0;
  const char *output = NULL;
  static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                           {"top", required_argument, NULL, 't'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"output", required_argument, NULL, 'o'},
                                           {"serve", no_argument, NULL, 'S'},
                                           {"port", required_argument, NULL, 'P'},
                                           {"once", no_argument, NULL, '1'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0, 0, 0, 0}};
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("report", argc, argv, ":ho:", longopts)) != -1) {
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
        fmt_set = 1;
        break;
      }
      case 't':
        if (ms_parse_uint(optarg, 1000000, &top) != 0) {
          fprintf(stderr, "memshim report: --top wants a count (0 = all), not '%s'\n", optarg);
          return MS_EXIT_USAGE;
        }
        top_set = 1;
        break;
      case 'o':
        if (!*optarg) {
          fprintf(stderr, "memshim report: --output wants a file name\n");
          return MS_EXIT_USAGE;
        }
        output = optarg;
        break;
      case 'j': /* as every command that prints figures has it */
        fmt = MS_FMT_JSON;
        fmt_set = 1;
        break;
      case 'S': serve = 1; break;
      case 'P':
        if (ms_parse_uint(optarg, 65535, &port) != 0) {
          fprintf(stderr, "memshim report: --port wants a port number (0-65535), not '%s'\n", optarg);
          return MS_EXIT_USAGE;
        }
        break;
      case '1': once = 1; break;
      default: return MS_EXIT_USAGE;
    }
  }
  int nargs = argc - optind;
  if (nargs < 1) {
    fprintf(stderr, "memshim report: no report given (usage: memshim report FILE.json [--format ...])\n");
    return MS_EXIT_USAGE;
  }
  if (serve) {
    if (fmt_set && fmt != MS_FMT_HTML) {
      fprintf(stderr, "memshim report: --serve serves the HTML page, not --format %s\n", ms_format_names[fmt]);
      return MS_EXIT_USAGE;
    }
    if (output) {
      fprintf(stderr, "memshim report: --serve and --output: choose one\n");
      return MS_EXIT_USAGE;
    }
    fmt = MS_FMT_HTML;
  } else if (once || port) {
    fprintf(stderr, "memshim report: %s only goes with --serve\n", once ? "--once" : "--port");
    return MS_EXIT_USAGE;
  }
  if (output && !strcmp(output, "-")) output = NULL;
  if (fmt == MS_FMT_COLLAPSED && !top_set) top = 0;
  if (fmt == MS_FMT_PPROF && !output && isatty(STDOUT_FILENO)) {
    fprintf(stderr, "memshim report: pprof output is binary; redirect it to a file (> profile.pb.gz) or use -o\n");
    return MS_EXIT_USAGE;
  }

  ms_cli_report *reports = NULL;
  int n = ms_report_load_all(argv + optind, nargs, &reports);
  if (n < 0) return MS_EXIT_FAIL;
  int rc = MS_EXIT_OK;
  if (n > 1 && fmt != MS_FMT_HTML && fmt != MS_FMT_TEXT) {
    fprintf(stderr, "memshim report: --format %s renders one report; %d were given (%s%s): name one, or use --format html or text\n",
            ms_format_names[fmt], n, nargs == 1 && ms_is_dir(argv[optind]) ? "in " : "", nargs == 1 ? argv[optind] : "files and directories");
    rc = MS_EXIT_USAGE;
  } else if (serve) {
    int fd = memfd_create("memshim-report.html", MFD_CLOEXEC);
    if (fd < 0 || ms_report_render(fmt, top, reports, n, fd) != 0) {
      fprintf(stderr, "memshim report: cannot render the page: %s\n", strerror(errno));
      rc = MS_EXIT_FAIL;
    } else {
      rc = ms_cli_serve_page(fd, port, once);
    }
    if (fd >= 0) close(fd);
  } else if (output) {
    ms_outfile f;
    if (ms_outfile_open(&f, output) != 0) rc = MS_EXIT_FAIL;
    else {
      int ok = ms_report_render(fmt, top, reports, n, f.fd) == 0;
      if (!ok) fprintf(stderr, "memshim report: write error: %s: %s\n", f.tmp, strerror(errno));
      if (ms_outfile_close(&f, ok) != 0) rc = MS_EXIT_FAIL;
    }
  } else if (ms_report_render(fmt, top, reports, n, STDOUT_FILENO) != 0) {
    fprintf(stderr, "memshim report: write error: %s\n", strerror(errno));
    rc = MS_EXIT_FAIL;
  }
  for (int i = 0; i < n; i++) ms_cli_report_free(&reports[i]);
  free(reports);
  return rc;
}
