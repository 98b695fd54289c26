/* The memshim command: its subcommands share these helpers. */
#ifndef MEMSHIM_CLI_H
#define MEMSHIM_CLI_H

#include "../config/options.h"

/* Exit codes of the CLI itself (a wrapped command's own status passes through). */
enum { MS_EXIT_OK = 0, MS_EXIT_FAIL = 1, MS_EXIT_USAGE = 2, MS_EXIT_NOEXEC = 127 };

/* Path of libmemshim.so: $MEMSHIM_LIBRARY_PATH, next to the executable, ../lib, or the
 * install libdir. Returns 0 and fills buf, or -1. */
int ms_cli_find_library(char *buf, unsigned long len);
/* setenv for an option, by id: the command's environment names options as the table does
 * (overwrite as setenv's). In the CLI only: the library never sets options. */
int ms_option_setenv(ms_option_id id, const char *value, int overwrite);
/* Prepend lib to LD_PRELOAD in this process's environment. */
int ms_cli_preload(const char *lib);
/* Find the library and preload it, printing why not; 0 or -1. */
int ms_cli_use_library(void);
/* Run argv with the library preloaded; returns its exit status (128+signal if killed),
 * or 127 when it cannot be started. */
int ms_cli_spawn_wait(char **argv);
/* The same, calling tick(pid, arg) at least every 250 ms while the command runs (progress). */
int ms_cli_spawn_wait_tick(char **argv, void (*tick)(int pid, void *arg), void *arg);
/* How run and check start the command, as a container's init would (tini/dumb-init):
 * every catchable signal we get is passed on to the command (to its process group with
 * pgroup, the command then leading a new one); as PID 1, or a subreaper with subreaper,
 * orphans are reaped too. Returns the command's status as ms_cli_spawn_wait does. */
typedef struct {
  int pgroup;
  int subreaper;
} ms_spawn_opts;
int ms_cli_spawn(char **argv, const ms_spawn_opts *opts, void (*tick)(int pid, void *arg), void *arg);
/* The pid of the last command ms_cli_spawn started (0 before). */
extern int ms_cli_last_pid;
/* getopt_long with memshim's messages: returns the next option's value, -1 after the last one,
 * or 0 after printing why the arguments are bad (the caller exits MS_EXIT_USAGE). optstring
 * starts with ':' ("+:" for commands that run another command: the first non-option ends the
 * options, so the wrapped command's flags stay its own). Call ms_cli_begin_args first. */
struct option;
int ms_cli_getopt(const char *cmd, int argc, char **argv, const char *optstring, const struct option *longopts);
void ms_cli_begin_args(void);
/* After the options of run/check: the index of the wrapped command, or -1 after saying that
 * none was given. */
int ms_cli_command_at(const char *cmd, int argc);
/* mkdir -p. */
int ms_cli_mkdirs(const char *dir);

/* memshim report --serve: serve the page in fd on 127.0.0.1:port (0: a free port) until SIGINT
 * or SIGTERM, or after the page was sent once; an exit status. */
int ms_cli_serve_page(int fd, unsigned port, int once);

int ms_cmd_config(int argc, char **argv);
int ms_cmd_run(int argc, char **argv);
int ms_cmd_report(int argc, char **argv);
int ms_cmd_check(int argc, char **argv);
int ms_cmd_snapshot(int argc, char **argv);
int ms_cmd_doctor(int argc, char **argv);

#endif
