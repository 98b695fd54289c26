/* After the kill (oom.c): was the command killed by the kernel's OOM killer, and what grew. */
#ifndef MEMSHIM_CLI_OOM_H
#define MEMSHIM_CLI_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../util/cgroup.h"

/* Tests only: MS_ENV_TEST_CGROUP_ROOT (config/options.h) is the root of the cgroup mounts in
 * place of /sys/fs/cgroup; its files proc_cgroup and proc_pressure_memory stand for
 * /proc/self/cgroup and /proc/pressure/memory. */
const ms_cgroup *ms_cli_cgroup_find(ms_cgroup *cg);

typedef struct {
  bool have;     /* a memory cgroup with a readable oom_kill count */
  ms_cgroup cg;
  long long kills0;
  time_t started;
} ms_cli_oom;

/* Before the command starts: our cgroup (the command's) and its oom_kill count. */
void ms_cli_oom_begin(ms_cli_oom *w);
/* After it ended with status (as ms_cli_spawn returns it): true, with the line in line, when it
 * died of SIGKILL while the cgroup's oom_kill count rose. */
bool ms_cli_oom_explain(const ms_cli_oom *w, const char *cmd, int status, int pid, char *line, size_t len);

#endif
