/* The memory limit of this process's cgroup, and how close it is (cgroup.c): raw system calls,
 * no stdio, no allocation, usable inside the preload and by the CLI.
 *
 * v2: memory.max and memory.high of the process's cgroup and of every ancestor up to the root of
 * the mount (the smallest wins; "max" = none), usage memory.current, memory.events (oom,
 * oom_kill), PSI memory.pressure. v1 (the memory controller mounted apart, Docker on older
 * hosts): memory.limit_in_bytes of the cgroup and its ancestors (a value of 2^62 or more = none),
 * usage memory.usage_in_bytes, memory.oom_control (oom_kill), PSI /proc/pressure/memory.
 * Where the path in /proc/self/cgroup is not under the mount (a container that mounts its own
 * cgroup without a cgroup namespace), the mount's root is the process's cgroup.
 *
 * Tests lay a tree out in a temporary directory and pass its root (for /sys/fs/cgroup) and their
 * own /proc/self/cgroup and PSI files: the only use of the path parameters. */
#ifndef MEMSHIM_UTIL_CGROUP_H
#define MEMSHIM_UTIL_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

#define MS_CGROUP_PATH_MAX 512

typedef struct {
  int version;        /* 2, 1, or 0: no memory cgroup found */
  uint64_t limit;     /* the smallest limit on the way to the root, bytes; 0 = none */
  const char *limit_file; /* "memory.max", "memory.high" or "memory.limit_in_bytes"; NULL with no limit */
  char dir[MS_CGROUP_PATH_MAX];       /* the process's cgroup directory (memory controller) */
  char limit_dir[MS_CGROUP_PATH_MAX]; /* the directory whose limit is the smallest (= dir with none) */
  char psi_path[MS_CGROUP_PATH_MAX];  /* memory.pressure of limit_dir (v2), else /proc/pressure/memory */
} ms_cgroup;

typedef struct {
  uint64_t usage;          /* bytes charged to limit_dir (memory.current / memory.usage_in_bytes); 0 unknown */
  uint64_t oom, oom_kill;  /* events at limit_dir (hierarchical); v1 has no oom count (0) */
  bool has_usage, has_events, has_psi;
  uint32_t psi_some_avg10; /* hundredths of a percent of the last 10 s some task stalled on memory */
  uint32_t psi_full_avg10; /* ... all tasks stalled */
  bool has_file;           /* file_bytes read (ms_cgroup_read_stat only) */
  uint64_t file_bytes;     /* page cache charged to limit_dir: memory.stat "file" (v2) / "total_cache" (v1) */
} ms_cgroup_state;

/* Find the process's memory cgroup and its effective limit. root: NULL = /sys/fs/cgroup;
 * proc_cgroup: NULL = /proc/self/cgroup; proc_pressure: NULL = /proc/pressure/memory (tests
 * only pass others). Returns the version found (out->version), 0 when none; out is always set. */
int ms_cgroup_find(ms_cgroup *out, const char *root, const char *proc_cgroup, const char *proc_pressure);
/* Usage, events and PSI now (a few small reads). Fields that could not be read stay 0 / false. */
void ms_cgroup_read(const ms_cgroup *cg, ms_cgroup_state *st);
/* Also the page cache part of usage from memory.stat (a larger file: for reports, not looks). */
void ms_cgroup_read_stat(const ms_cgroup *cg, ms_cgroup_state *st);
/* Only the oom_kill count of a cgroup directory (version as found): -1 when unreadable. */
int64_t ms_cgroup_oom_kills(const ms_cgroup *cg);

/* Parsers, exposed for the unit tests. */
/* A limit file's content: bytes, or 0 for "max", a v1 "unlimited" (>= 2^62) or garbage. */
uint64_t ms_cgroup_parse_limit(const char *text);
/* "key value" lines (memory.events, memory.oom_control): the value of key, -1 when absent. */
int64_t ms_cgroup_parse_key(const char *text, const char *key);
/* PSI "some avg10=1.23 ..." / "full avg10=..." lines: hundredths of a percent; false if absent. */
bool ms_cgroup_parse_psi(const char *text, uint32_t *some_avg10, uint32_t *full_avg10);

#endif
