/* memshim config: the option table with current values and where each came from. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../config/options.h"
#include "cli.h"

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
  "  from (default or environment), default and help. --markdown prints the reference\n"
  "  table of docs/options.md; --json prints one JSON object: {\"format\": \"memshim-config\",\n"
  "  \"version\": 1, \"options\": [{\"variable\", \"type\", \"value\", \"source\", \"default\",\n"
  "  \"help\", \"choices\" (enums only)}]}.\n";

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
  json_t *doc = opts ? json_pack("{s:s, s:i, s:o}", "format", "memshim-config", "version", 1, "options", opts) : NULL;
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
  return MS_EXIT_OK;
}
