/* One argument parser for every subcommand: getopt_long with memshim's own messages. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int ms_cli_getopt(const char *cmd, int argc, char **argv, const char *optstring, const struct option *longopts) {
  opterr = 0; /* our messages, not getopt's */
  int c = getopt_long(argc, argv, optstring, longopts, NULL);
  if (c != '?' && c != ':') return c;
  const char *arg = argv[optind - 1];
  if (c == ':') {
    fprintf(stderr, "memshim %s: %s needs a value (see 'memshim %s --help')\n", cmd, arg, cmd);
  } else if (optopt && !(arg[0] == '-' && arg[1] == '-')) {
    fprintf(stderr, "memshim %s: unknown option '-%c' (see 'memshim %s --help')\n", cmd, optopt, cmd);
  } else {
    char name[128];
    snprintf(name, sizeof name, "%s", arg);
    char *eq = strchr(name, '=');
    if (eq && optopt) *eq = 0; /* "--switch=value": a switch given a value */
    fprintf(stderr, "memshim %s: %s option '%s' (see 'memshim %s --help')\n", cmd,
            optopt ? "no value allowed for" : "unknown", optopt ? name : arg, cmd);
  }
  return 0;
}

void ms_cli_begin_args(void) { optind = 0; /* glibc: start afresh (a new optstring, a new argv) */ }

int ms_cli_command_at(const char *cmd, int argc) {
  if (optind < argc) return optind;
  fprintf(stderr, "memshim %s: no command given (usage: memshim %s [options] [--] cmd args...)\n", cmd, cmd);
  return -1;
}
