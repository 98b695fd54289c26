/* The memshim command: its subcommands share these helpers. */
#ifndef MEMSHIM_CLI_H
#define MEMSHIM_CLI_H

/* Exit codes of the CLI itself (a wrapped command's own status passes through). */
enum { MS_EXIT_OK = 0, MS_EXIT_FAIL = 1, MS_EXIT_USAGE = 2, MS_EXIT_NOEXEC = 127 };

/* Path of libmemshim.so: $MEMSHIM_LIBRARY_PATH, next to the executable, ../lib, or the
 * install libdir. Returns 0 and fills buf, or -1. */
int ms_cli_find_library(char *buf, unsigned long len);
/* Prepend lib to LD_PRELOAD in this process's environment. */
int ms_cli_preload(const char *lib);
/* Find the library and preload it, printing why not; 0 or -1. */
int ms_cli_use_library(void);
/* Run argv with the library preloaded; returns its exit status (128+signal if killed),
 * or 127 when it cannot be started. */
int ms_cli_spawn_wait(char **argv);
/* The same, calling tick(pid, arg) about every 100 ms while the command runs (progress). */
int ms_cli_spawn_wait_tick(char **argv, void (*tick)(int pid, void *arg), void *arg);
/* A flag of a command that runs another command (run, check). With `value` set it takes a
 * value ("--name VALUE" or "--name=VALUE"); otherwise it is a switch that sets *on = 1. */
typedef struct {
  const char *name;
  const char **value;
  int *on;
} ms_cli_flag;
/* Parse the flags in front of the wrapped command: -h/--help prints usage; "--" ends the flags.
 * Returns -1 with *cmd_index at the command, or the exit status to return (0 after help, 2 on a
 * bad or missing flag value, an unknown option, or no command), having said why on stderr. */
int ms_cli_parse_flags(const char *cmd, int argc, char **argv, const char *usage,
                       const ms_cli_flag *flags, int *cmd_index);
/* mkdir -p. */
int ms_cli_mkdirs(const char *dir);

int ms_cmd_config(int argc, char **argv);
int ms_cmd_run(int argc, char **argv);
int ms_cmd_report(int argc, char **argv);
int ms_cmd_check(int argc, char **argv);

#endif
