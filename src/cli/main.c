/* memshim: the command-line companion of libmemshim.so. It shares the option table with the
 * library and never touches the allocation path. */
#include <stdio.h>
#include <string.h>

#include "../../include/memshim.h"
#include "cli.h"

static const char ms_usage[] =
  "usage: memshim <command> [options]\n"
  "\n"
  "commands:\n"
  "  run [--profile] [--report DIR] [--metrics FILE] [-g] [-s] [--] cmd args...\n"
  "                         run a command with libmemshim.so preloaded; as a container's\n"
  "                         entrypoint it passes signals on and reaps orphans, like tini\n"
  "  check [--max-growth SIZE] [--max-gpu-growth SIZE] [--warmup FRACTION|DURATION] [--report DIR]\n"
  "        [--save FILE] [--baseline FILE] [--json] [--] cmd args...\n"
  "                         leak gate: fail (exit 1) when live heap (or tracked GPU memory) keeps\n"
  "                         growing after warm-up, naming the call sites that grow; exit 4 when\n"
  "                         nothing could be judged\n"
  "  config [--markdown|--json]\n"
  "                         list every option: current value, where it came from, help\n"
  "  report FILE.json|DIR... [--format text|collapsed|svg|json|html|pprof] [--top N]\n"
  "         [-o FILE | --serve [--port N]]\n"
  "                         render JSON reports: call sites, flame graph, timeline, a browser\n"
  "                         page (several processes in one), pprof for go tool pprof / Pyroscope\n"
  "  snapshot [-t SECONDS] [--json] PID\n"
  "                         a report from a running process now: sends its report signal\n"
  "                         (default SIGRTMIN+9) only if it catches it, waits, prints the files\n"
  "  doctor [--json] [PID]  did PID really load libmemshim.so, with which options; can it be\n"
  "                         asked for a report\n"
  "  help                   this text\n"
  "\n"
  "options:\n"
  "  -h, --help             this text ('memshim <command> --help' for a command's own)\n"
  "  -V, --version          print the version\n"
  "\n"
  "Every MEMSHIM_* environment variable is one option; 'memshim config' lists them.\n"
  "Exit status: 0 ok, 1 failure (for 'doctor': not loaded), 2 bad arguments, 4 'check' reached no\n"
  "verdict; 'run' and 'check' pass a failing command's own status through.\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(ms_usage, stderr);
    return MS_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(ms_usage, stdout);
    return MS_EXIT_OK;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
    printf("memshim %s\n", MEMSHIM_VERSION_STRING);
    return MS_EXIT_OK;
  }
  if (!strcmp(cmd, "config")) return ms_cmd_config(argc - 1, argv + 1);
  if (!strcmp(cmd, "run")) return ms_cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "check")) return ms_cmd_check(argc - 1, argv + 1);
  if (!strcmp(cmd, "report")) return ms_cmd_report(argc - 1, argv + 1);
  if (!strcmp(cmd, "snapshot")) return ms_cmd_snapshot(argc - 1, argv + 1);
  if (!strcmp(cmd, "doctor")) return ms_cmd_doctor(argc - 1, argv + 1);
  fprintf(stderr, "memshim: unknown command '%s' (see 'memshim --help')\n", cmd);
  return MS_EXIT_USAGE;
}
