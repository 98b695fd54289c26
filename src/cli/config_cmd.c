/* memshim config: the option table with current values and where each came from. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../config/options.h"
#include "cli.h"
#include "oom.h"

/* The memory cgroup this command runs in (a program started from here inherits it), as the
 * library finds it: limit, usage, headroom, PSI, OOM kills, and the soft limit and pressure mark
 * the options make of the limit. */
typedef struct {
  bool found;
  ms_cgroup cg;
  ms_cgroup_state st;
  uint64_t soft, mark; /* 0: none */
  bool soft_explicit;
} ms_config_container;

static void ms_config_container_read(ms_config_container *c) {
  memset(c, 0, sizeof *c);
  c->found = ms_cli_cgroup_find(&c->cg) != NULL;
  if (!c->found) return;
  ms_cgroup_read(&c->cg, &c->st);
  ms_cgroup_read_stat(&c->cg, &c->st);
  c->soft_explicit = ms_opt_source_get(MS_OPT_RSS_SOFT_LIMIT) == MS_SRC_ENV;
  if (c->cg.limit) {
    c->soft = c->soft_explicit ? ms_opt_u64(MS_OPT_RSS_SOFT_LIMIT)
                               : c->cg.limit / 100 * ms_opt_u64(MS_OPT_CONTAINER_SOFT_PCT);
    c->mark = c->cg.limit / 100 * ms_opt_u64(MS_OPT_PRESSURE_REPORT_PCT);
  }
}

static double ms_mib(uint64_t b) { return (double)b / 1048576.0; }

static void ms_config_container_text(const ms_config_container *c) {
  if (!c->found) {
    printf("\ncontainer: no memory cgroup found (no limit: MEMSHIM_RSS_SOFT_LIMIT alone applies)\n");
    return;
  }
  printf("\ncontainer: cgroup v%d %s\n", c->cg.version, c->cg.dir);
  if (c->cg.limit) {
    printf("  limit     %.1f MiB (%s in %s)\n", ms_mib(c->cg.limit), c->cg.limit_file, c->cg.limit_dir);
    if (c->st.has_usage)
      printf("  usage     %.1f MiB, headroom %.1f MiB\n", ms_mib(c->st.usage),
             c->st.usage < c->cg.limit ? ms_mib(c->cg.limit - c->st.usage) : 0.0);
    if (c->soft) printf("  soft limit %.1f MiB (%s)\n", ms_mib(c->soft), c->soft_explicit ? "MEMSHIM_RSS_SOFT_LIMIT" : "MEMSHIM_CONTAINER_SOFT_PCT");
    else printf("  soft limit off\n");
    if (c->mark) printf("  pressure report at %.1f MiB (MEMSHIM_PRESSURE_REPORT_PCT)\n", ms_mib(c->mark));
  } else {
    printf("  limit     none (memory.max/memory.high \"max\", or unlimited, up to the root)\n");
    if (c->st.has_usage) printf("  usage     %.1f MiB\n", ms_mib(c->st.usage));
  }
  if (c->st.has_file) printf("  page cache %.1f MiB of the usage (memory.stat)\n", ms_mib(c->st.file_bytes));
  if (c->st.has_events) printf("  oom_kill  %llu\n", (unsigned long long)c->st.oom_kill);
  if (c->st.has_psi)
    printf("  pressure  some %u.%02u%% full %u.%02u%% (avg10, %s)\n", c->st.psi_some_avg10 / 100,
           c->st.psi_some_avg10 % 100, c->st.psi_full_avg10 / 100, c->st.psi_full_avg10 % 100, c->cg.psi_path);
}

static json_t *ms_config_container_json(const ms_config_container *c) {
  if (!c->found) return json_null();
  json_t *o = json_pack("{s:i, s:s, s:I, s:I, s:I}", "version", c->cg.version, "cgroup", c->cg.dir, "limit_bytes",
                        (json_int_t)c->cg.limit, "soft_limit_bytes", (json_int_t)c->soft, "pressure_report_bytes",
                        (json_int_t)c->mark);
  if (!o) return NULL;
  if (c->cg.limit) json_object_set_new(o, "limit_file", json_string(c->cg.limit_file));
  if (c->st.has_usage) json_object_set_new(o, "usage_bytes", json_integer((json_int_t)c->st.usage));
  if (c->st.has_events) json_object_set_new(o, "oom_kill", json_integer((json_int_t)c->st.oom_kill));
  if (c->st.has_file) json_object_set_new(o, "file_bytes", json_integer((json_int_t)c->st.file_bytes));
  if (c->st.has_psi) {
    json_object_set_new(o, "psi_some_avg10", json_real(c->st.psi_some_avg10 / 100.0));
    json_object_set_new(o, "psi_full_avg10", json_real(c->st.psi_full_avg10 / 100.0));
  }
  return o;
}

static const char *ms_type_name(ms_opt_type t) {
  switch (t) {
    case MS_OPT_BOOL: return "bool";
    case MS_OPT_INT: return "int";
    case MS_OPT_SIZE: return "size";
    case MS_OPT_PERCENT: return "percent";
    case MS_OPT_DURATION: return "duration";
    case MS_OPT_ENUM: return "enum";
    case MS_OPT_LIST: return "list";
    case MS_OPT_PATH: return "path";
    case MS_OPT_SIGNAL: return "signal";
    case MS_OPT_FRACTION: return "fraction|duration";
  }
  return "?";
}

static const char *ms_source_name(ms_opt_source s) {
  switch (s) {
    case MS_SRC_DEFAULT: return "default";
    case MS_SRC_ENV: return "environment";
    case MS_SRC_INVALID: return "default (bad value in environment)";
    case MS_SRC_SET: return "set";
  }
  return "?";
}

static const char ms_config_usage[] =
  "usage: memshim config [--markdown | --json]\n"
  "  Lists every option: environment variable, type, current value, where the value came\n"
  "  from (default or environment), default and help; then the memory cgroup this runs in (a\n"
  "  command started from here inherits it): its limit (the smallest memory.max/memory.high or\n"
  "  memory.limit_in_bytes up to the root), usage, headroom, OOM kills, PSI, and the soft limit\n"
  "  and pressure-report mark the options make of it. --markdown prints the reference\n"
  "  table of docs/options.md; --json prints one JSON object: {\"format\": \"memshim-config\",\n"
  "  \"version\": 1, \"options\": [{\"variable\", \"type\", \"value\", \"source\", \"default\",\n"
  "  \"help\", \"choices\" (enums only)}], \"container\": null or {\"version\", \"cgroup\",\n"
  "  \"limit_bytes\" (0 = none), \"soft_limit_bytes\", \"pressure_report_bytes\", \"limit_file\",\n"
  "  \"usage_bytes\", \"file_bytes\" (page cache), \"oom_kill\", \"psi_some_avg10\", \"psi_full_avg10\"\n"
  "  (when readable)}}.\n";

/* --json: the table as one object, values as the library formats them. */
static int ms_config_json(void) {
  json_t *opts = json_array();
  for (int i = 0; opts && i < MS_OPT__COUNT; i++) {
    const ms_option_def *d = ms_option_def_get((ms_option_id)i);
    char value[MS_PATH_MAX + 8];
    ms_option_format((ms_option_id)i, value, sizeof value);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "variable", d->env, "type", ms_type_name(d->type), "value",
                          value, "source", ms_source_name(ms_opt_source_get((ms_option_id)i)), "default",
                          d->default_text, "help", d->help);
    if (o && d->choices) json_object_set_new(o, "choices", json_string(d->choices));
    if (!o || json_array_append_new(opts, o) != 0) {
      json_decref(opts);
      opts = NULL;
    }
  }
  ms_config_container c;
  ms_config_container_read(&c);
  json_t *doc = opts ? json_pack("{s:s, s:i, s:o, s:o*}", "format", "memshim-config", "version", 1, "options", opts,
                                 "container", ms_config_container_json(&c)) : NULL;
  int rc = doc && json_dumpf(doc, stdout, JSON_INDENT(1)) == 0 ? 0 : -1;
  json_decref(doc);
  fputc('\n', stdout);
  if (rc) fprintf(stderr, "memshim config: cannot write JSON (out of memory or a value that is not UTF-8)\n");
  return rc ? MS_EXIT_FAIL : MS_EXIT_OK;
}

int ms_cmd_config(int argc, char **argv) {
  int markdown = 0, json = 0, c;
  static const struct option longopts[] = {{"markdown", no_argument, NULL, 'm'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0, 0, 0, 0}};
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("config", argc, argv, ":h", longopts)) != -1) {
    switch (c) {
      case 'm': markdown = 1; break;
      case 'j': json = 1; break;
      case 'h': fputs(ms_config_usage, stdout); return MS_EXIT_OK;
      default: return MS_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "memshim config: unknown argument '%s'\n", argv[optind]);
    return MS_EXIT_USAGE;
  }
  if (markdown && json) {
    fprintf(stderr, "memshim config: --markdown and --json: choose one\n");
    return MS_EXIT_USAGE;
  }
  if (markdown) {
    printf("| variable | type | default | meaning |\n|---|---|---|---|\n");
    for (int i = 0; i < MS_OPT__COUNT; i++) {
      const ms_option_def *d = ms_option_def_get((ms_option_id)i);
      char type[96];
      if (d->choices) snprintf(type, sizeof type, "%s (%s)", ms_type_name(d->type), d->choices);
      else snprintf(type, sizeof type, "%s", ms_type_name(d->type));
      for (char *p = type; *p; p++)
        if (*p == '|') *p = '/';
      printf("| `%s` | %s | `%s` | %s |\n", d->env, type, *d->default_text ? d->default_text : "\"\"", d->help);
    }
    return MS_EXIT_OK;
  }
  ms_options_load(NULL); /* bad values are reported here exactly as the library reports them */
  if (json) return ms_config_json();
  printf("%-32s %-10s %-14s %-12s %s\n", "VARIABLE", "TYPE", "VALUE", "SOURCE", "HELP");
  for (int i = 0; i < MS_OPT__COUNT; i++) {
    const ms_option_def *d = ms_option_def_get((ms_option_id)i);
    char value[MS_PATH_MAX + 8];
    ms_option_format((ms_option_id)i, value, sizeof value);
    if (!*value) snprintf(value, sizeof value, "\"\"");
    printf("%-32s %-10s %-14s %-12s %s", d->env, ms_type_name(d->type), value,
           ms_source_name(ms_opt_source_get((ms_option_id)i)), d->help);
    if (d->choices) printf(" [%s]", d->choices);
    printf("\n");
  }
  ms_config_container cg;
  ms_config_container_read(&cg);
  ms_config_container_text(&cg);
  return MS_EXIT_OK;
}
