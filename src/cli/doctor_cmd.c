/* memshim doctor [PID]: is memshim really in that process, and how was it set up?
 *
 * The loader skips an LD_PRELOAD entry whose file does not exist without a word, so the library
 * cannot say it was skipped: only /proc/PID/maps knows. Everything here is read from /proc/PID
 * (maps, environ as it was at exec, the signal masks in status); nothing is sent to the process.
 * Without PID: the library `memshim run` would preload. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../config/options.h"
#include "cli.h"
#include "target.h"

static const char ms_doctor_usage[] =
  "usage: memshim doctor [--json] [PID]\n"
  "  Says whether process PID really loaded libmemshim.so (which file, from /proc/PID/maps), the\n"
  "  MEMSHIM_* options it was started with (and which of them the library rejected), whether\n"
  "  profiling is on, where its reports go, and whether it catches its report signal (what\n"
  "  'memshim snapshot PID' needs). An LD_PRELOAD entry that names no file is pointed out: the\n"
  "  loader skips it silently. Without PID: the library 'memshim run' would preload.\n"
  "  --json   print one JSON object on stdout\n"
  "  Exit status: 0 loaded (or, without PID, library found), 1 not loaded (not found), 2 bad\n"
  "  arguments.\n";

typedef struct {
  json_t *options; /* [{name, value, status, why}] */
} ms_doctor_ctx;

static void ms_doctor_option(const char *entry, void *arg) {
  ms_doctor_ctx *ctx = arg;
  const char *eq = strchr(entry, '=');
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)(eq - entry), entry);
  int id = ms_option_find(name);
  const char *status = "ok", *why = NULL;
  if (id < 0) {
    status = ms_env_is_internal(name, strlen(name)) ? "internal" : "unknown";
  } else {
    const char *w = NULL;
    if (ms_option_set((ms_option_id)id, eq + 1, &w) != 0) status = "invalid", why = w;
  }
  json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "value", eq + 1, "status", status);
  if (why) json_object_set_new(o, "why", json_string(why));
  json_array_append_new(ctx->options, o);
}

/* LD_PRELOAD's entries (space or colon separated), each with whether the file exists as the
 * target sees it (through /proc/PID/root). */
static json_t *ms_doctor_preload(const ms_target *t) {
  json_t *arr = json_array();
  const char *v = ms_target_getenv(t, "LD_PRELOAD");
  if (!v) return arr;
  char *copy = strdup(v), *save = NULL;
  for (char *e = strtok_r(copy, ": \t", &save); e; e = strtok_r(NULL, ": \t", &save)) {
    char here[PATH_MAX + 64];
    bool exists;
    if (e[0] == '/') {
      snprintf(here, sizeof here, "/proc/%d/root%s", t->pid, e);
      exists = access(here, F_OK) == 0;
    } else {
      exists = true; /* a bare name is looked up in the library path: not judged here */
    }
    json_array_append_new(arr, json_pack("{s:s, s:b}", "path", e, "exists", exists));
  }
  free(copy);
  return arr;
}

static void ms_print_json(json_t *doc) {
  char *text = json_dumps(doc, JSON_INDENT(2));
  if (text) printf("%s\n", text);
  free(text);
  json_decref(doc);
}

static int ms_doctor_no_pid(int json) {
  char lib[4096];
  bool found = ms_cli_find_library(lib, sizeof lib) == 0;
  if (json) {
    ms_print_json(json_pack("{s:b, s:s?}", "found", found, "library", found ? lib : NULL));
  } else if (found) {
    printf("library: %s ('memshim run' preloads it; give a PID to check a running process)\n", lib);
  } else {
    printf("library: not found next to this program, in ../lib, or in %s (set MEMSHIM_LIBRARY_PATH)\n",
           MEMSHIM_LIBDIR);
  }
  return found ? MS_EXIT_OK : MS_EXIT_FAIL;
}

int ms_cmd_doctor(int argc, char **argv) {
  static const struct option longopts[] = {
    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  int json = 0, c, pid;
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("doctor", argc, argv, ":h", longopts)) != -1) {
    switch (c) {
      case 'j': json = 1; break;
      case 'h': fputs(ms_doctor_usage, stdout); return MS_EXIT_OK;
      default: return MS_EXIT_USAGE;
    }
  }
  if (optind == argc) return ms_doctor_no_pid(json);
  if (optind != argc - 1) {
    fprintf(stderr, "memshim doctor: one process id only (usage: memshim doctor [--json] [PID])\n");
    return MS_EXIT_USAGE;
  }
  if (ms_target_parse_pid("doctor", argv[optind], &pid) != 0) return MS_EXIT_USAGE;
  ms_target t;
  if (ms_target_read("doctor", pid, &t) != 0) { ms_target_free(&t); return MS_EXIT_FAIL; }

  ms_doctor_ctx ctx = {json_array()};
  ms_options_reset();
  ms_target_each_memshim_env(&t, ms_doctor_option, &ctx); /* also loads the valid ones */
  ms_target_state st;
  ms_target_state_get(&st);
  bool loaded = *t.lib != 0;
  char signame[32] = "off", prefix[PATH_MAX] = "", pattern[PATH_MAX];
  if (st.sig) ms_signal_format(st.sig, signame, sizeof signame);
  if (ms_target_report_prefix(&t, prefix, sizeof prefix, pattern, sizeof pattern) != 0) prefix[0] = 0;
  bool caught = ms_target_catches(&t, st.sig), ignored = st.sig && ((t.sig_ignored >> (st.sig - 1)) & 1);
  char why[512];
  bool snapshot_ok = !ms_snapshot_refusal(&t, &st, why, sizeof why); /* the rule memshim snapshot applies */
  bool shared_path = !strstr(ms_opt_str(MS_OPT_REPORT_PATH), "%p") && *ms_opt_str(MS_OPT_REPORT_PATH);
  json_t *preload = ms_doctor_preload(&t);
  json_t *formats = json_array();
  for (unsigned k = 0; k < 5; k++)
    if (st.formats & ms_report_exts[k].flag) json_array_append_new(formats, json_string(ms_report_exts[k].name));
  char interval[32];
  ms_option_format(MS_OPT_REPORT_INTERVAL, interval, sizeof interval);

  if (json) {
    json_t *doc = json_pack("{s:i, s:s, s:b, s:s?, s:o, s:o, s:b, s:b, s:b}", "pid", pid, "comm", t.comm, "loaded",
                            loaded, "library", loaded ? t.lib : NULL, "ld_preload", preload, "options", ctx.options,
                            "enabled", loaded && st.enabled, "profiling", loaded && st.profiling, "reports",
                            loaded && st.reports);
    json_object_set_new(doc, "report", json_pack("{s:s, s:o, s:s, s:s, s:i, s:b, s:b, s:b}", "path", prefix,
                                                 "formats", formats, "interval", interval, "signal", signame,
                                                 "signal_number", st.sig, "signal_caught", caught, "signal_ignored",
                                                 ignored, "snapshot", snapshot_ok));
    ms_print_json(doc);
  } else {
    printf("process %d (%s)\n", pid, t.comm);
    if (loaded) printf("  libmemshim.so: loaded, %s\n", t.lib);
    else printf("  libmemshim.so: NOT loaded (not in /proc/%d/maps)\n", pid);
    size_t i;
    json_t *e;
    if (json_array_size(preload)) {
      json_array_foreach(preload, i, e) {
        const char *path = json_string_value(json_object_get(e, "path"));
        bool exists = json_is_true(json_object_get(e, "exists"));
        printf("  LD_PRELOAD entry: %s%s\n", path, exists ? "" : "  <- no such file: the loader skipped it");
      }
    } else if (!loaded) {
      printf("  LD_PRELOAD: not set in its environment (start it with 'memshim run' or LD_PRELOAD=.../libmemshim.so)\n");
    }
    if (json_array_size(ctx.options)) printf("  started with:\n");
    else printf("  started with no MEMSHIM_* option (all defaults)\n");
    json_array_foreach(ctx.options, i, e) {
      const char *status = json_string_value(json_object_get(e, "status"));
      printf("    %s=%s", json_string_value(json_object_get(e, "name")), json_string_value(json_object_get(e, "value")));
      if (!strcmp(status, "invalid"))
        printf("  <- rejected: %s; the default is used", json_string_value(json_object_get(e, "why")));
      else if (!strcmp(status, "unknown"))
        printf("  <- not an option: ignored (see 'memshim config')");
      printf("\n");
    }
    if (loaded) {
      if (!st.enabled) printf("  memshim: off (MEMSHIM_ENABLE=0): allocations pass through, nothing else\n");
      printf("  profiling: %s\n", st.profiling ? "on" : "off (MEMSHIM_PROFILE=1 turns it on)");
      if (!st.reports) {
        printf("  reports: none\n");
      } else if (!st.formats) {
        printf("  reports: no file (MEMSHIM_REPORT=off)\n");
      } else {
        bool several = json_array_size(formats) > 1;
        printf("  reports: %s.%s", prefix, several ? "{" : "");
        for (unsigned k = 0, n = 0; k < 5; k++)
          if (st.formats & ms_report_exts[k].flag) printf("%s%s", n++ ? "," : "", ms_report_exts[k].ext);
        printf("%s", several ? "}" : "");
        char link[64], cwd[PATH_MAX];
        snprintf(link, sizeof link, "/proc/%d/cwd", pid);
        ssize_t n = prefix[0] == '/' ? -1 : readlink(link, cwd, sizeof cwd - 1);
        if (n > 0) printf(" in %.*s (its working directory)", (int)n, cwd);
        printf(" at exit");
        printf("%s%s%s%s\n", st.sig ? ", on " : "", st.sig ? signame : "",
               strcmp(interval, "off") ? ", every " : "", strcmp(interval, "off") ? interval : "");
        if (shared_path)
          printf("  warning: MEMSHIM_REPORT_PATH has no %%p: only the first process of a tree creates the file\n");
      }
      if (st.sig)
        printf("  report signal: %s (%d), %s\n", signame, st.sig,
               ignored ? "ignored: no report on it (inherited SIG_IGN)"
               : caught ? (snapshot_ok ? "caught: 'memshim snapshot PID' takes a report" : "caught")
                        : "NOT caught: sending it would end the process ('memshim snapshot' refuses)");
    }
  }
  if (!json) json_decref(preload), json_decref(formats), json_decref(ctx.options);
  ms_target_free(&t);
  return loaded ? MS_EXIT_OK : MS_EXIT_FAIL;
}
