/* A running process as memshim snapshot and memshim doctor see it, from /proc/PID alone: whether
 * libmemshim.so is mapped, the MEMSHIM_* options it was started with, its signal masks. */
#ifndef MEMSHIM_CLI_TARGET_H
#define MEMSHIM_CLI_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  int pid;
  char comm[64];
  char lib[PATH_MAX];   /* libmemshim.so as mapped (/proc/PID/maps), "" when not loaded */
  char *envbuf;         /* /proc/PID/environ: the environment it was started with */
  size_t envlen;
  uint64_t sig_caught, sig_ignored, sig_blocked; /* SigCgt, SigIgn, SigBlk (main thread) */
  long euid; /* effective uid (Uid: of /proc/PID/status; %u of a report path), -1 unknown */
} ms_target;

/* Parse a pid argument: 0, or -1 after saying why (cmd names the command). */
int ms_target_parse_pid(const char *cmd, const char *arg, int *pid);
/* Read /proc/PID: 0, or -1 after one "memshim CMD:" line saying why (no such process, another
 * user's). */
int ms_target_read(const char *cmd, int pid, ms_target *t);
void ms_target_free(ms_target *t);
/* The value of NAME in the target's start-up environment, or NULL. */
const char *ms_target_getenv(const ms_target *t, const char *name);
/* Calls fn for every NAME=value entry that starts with MEMSHIM_. */
void ms_target_each_memshim_env(const ms_target *t, void (*fn)(const char *entry, void *arg), void *arg);
/* Load the option table from the target's environment as the library did at start-up, printing
 * nothing (a bad value keeps the default, as in the library). */
void ms_target_load_options(const ms_target *t);
/* Is signal sig caught (SigCgt)? */
static inline bool ms_target_catches(const ms_target *t, int sig) {
  return sig > 0 && sig <= 64 && ((t->sig_caught >> (sig - 1)) & 1);
}
/* The report prefix: MEMSHIM_REPORT_PATH as the target expands it (path, with %t left as "%t":
 * the start time is the library's own), and as a glob(3) pattern this process can reach (%t
 * matches digits; a process in another root, a container, through /proc/PID/root or cwd).
 * 0, or -1 when too long. */
int ms_target_report_prefix(const ms_target *t, char *path, size_t plen, char *glob_here, size_t glen);

/* What the library decided at start-up, from the options ms_target_load_options loaded. */
typedef struct {
  bool enabled;    /* MEMSHIM_ENABLE */
  bool profiling;  /* MEMSHIM_PROFILE, or a leak check or scan that turns it on */
  bool reports;    /* profiling, or MEMSHIM_REPORT set: the report signal's handler is installed */
  uint64_t formats;/* MEMSHIM_REPORT's mask: 0 = no file */
  int sig;         /* MEMSHIM_REPORT_SIGNAL, 0 = off */
} ms_target_state;
void ms_target_state_get(ms_target_state *st);
/* snapshot_cmd.c: NULL when the report signal may be sent to t (started with st), else why not
 * (written into why when it names the target). */
const char *ms_snapshot_refusal(const ms_target *t, const ms_target_state *st, char *why, size_t len);
/* The extension of each report format bit (MS_REPORT_*), in the order the library writes them. */
extern const struct ms_report_ext { uint64_t flag; const char *ext, *name; } ms_report_exts[5];

#endif
