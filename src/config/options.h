/* The one option table: every MEMSHIM_* setting is a row in options.c.
 * Everything else reads parsed values through the accessors below. */
#ifndef MEMSHIM_OPTIONS_H
#define MEMSHIM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  MS_OPT_BOOL,     /* 0/1, true/false, yes/no, on/off */
  MS_OPT_INT,      /* decimal integer within [min, max] */
  MS_OPT_SIZE,     /* bytes, K/M/G/T suffix (powers of 1024); "off" or 0 = disabled where allowed */
  MS_OPT_PERCENT,  /* 0..100, optional trailing % */
  MS_OPT_DURATION, /* milliseconds; suffix ms, s, m; "off" or 0 = disabled where allowed */
  MS_OPT_ENUM,     /* one of choices ("a|b|c"); value is the index */
  MS_OPT_LIST,     /* comma list of choices; value is a bit mask */
  MS_OPT_PATH,     /* a file path (may hold %p = pid, %t = start time, %u = uid, %T = tmpdir); "" = the default */
  MS_OPT_SIGNAL,   /* signal name (SIGUSR2, USR2, SIGRTMIN+9, RTMAX-2) or number; "off" or 0 = none */
  MS_OPT_FRACTION, /* 0 < f < 1 (e.g. 0.25) or a duration (e.g. 30s); see ms_opt_fraction */
} ms_opt_type;

typedef enum {
  /* foundation */
  MS_OPT_ENABLE,
  MS_OPT_VERBOSE,
  MS_OPT_LOG,
  MS_OPT_TOKENIZERS_PARALLELISM,
  /* memory return */
  MS_OPT_BACKEND,
  MS_OPT_RETAINED_MAX,
  MS_OPT_RSS_SOFT_LIMIT,
  MS_OPT_PURGE_INTERVAL,
  MS_OPT_IDLE_PURGE,
  MS_OPT_MMAP_RESIDENT_MAX,
  MS_OPT_MMAP_MIN,
  MS_OPT_CONTAINER_SOFT_PCT,
  MS_OPT_PRESSURE_REPORT_PCT,
  /* profiler and reports */
  MS_OPT_PROFILE,
  MS_OPT_SAMPLE_BYTES,
  MS_OPT_STACK_DEPTH,
  MS_OPT_PY_STACKS,
  MS_OPT_PY_DEPTH,
  MS_OPT_REPORT,
  MS_OPT_REPORT_PATH,
  MS_OPT_REPORT_SIGNAL,
  MS_OPT_REPORT_INTERVAL,
  MS_OPT_LEAK_CHECK,
  MS_OPT_LEAK_CHECK_EXIT,
  MS_OPT_LEAK_WARMUP,
  MS_OPT_LEAK_SCAN,
  MS_OPT_SNAPSHOT_INTERVAL,
  /* fleet metrics */
  MS_OPT_METRICS_FILE,
  MS_OPT_METRICS_INTERVAL,
  /* GPU memory */
  MS_OPT_GPU,
  MS_OPT_GPU_WARN_PCT,
  MS_OPT_GPU_ACTION_PCT,
  MS_OPT__COUNT
} ms_option_id;

/* Values of enum and list options, by index in their choices string. */
enum { MS_BACKEND_JEMALLOC = 0, MS_BACKEND_GLIBC = 1 };
enum {
  MS_REPORT_TEXT = 1u << 0,
  MS_REPORT_JSON = 1u << 1,
  MS_REPORT_COLLAPSED = 1u << 2,
  MS_REPORT_HTML = 1u << 3,
  MS_REPORT_PPROF = 1u << 4
};

typedef enum { MS_SRC_DEFAULT, MS_SRC_ENV, MS_SRC_INVALID, MS_SRC_SET } ms_opt_source;

typedef struct {
  const char *name;        /* short name: "retained_max" */
  const char *env;         /* "MEMSHIM_RETAINED_MAX" */
  ms_opt_type type;
  const char *default_text;/* as a user would write it */
  const char *choices;     /* enum/list: "jemalloc|glibc" */
  int64_t min, max;        /* INT range; SIZE/DURATION: max (0 = no limit) */
  bool off_allowed;        /* SIZE/DURATION/SIGNAL: "off" / 0 means disabled */
  const char *help;        /* one line */
} ms_option_def;

#define MS_PATH_MAX 512

/* Parse every option from envp (NULL = environ). Bad values print one line on stderr
 * and keep the default; unknown MEMSHIM_* names print one warning each. Safe to call
 * again (tests). Never allocates through the process heap. */
void ms_options_load(char *const *envp);
void ms_options_reset(void);

const ms_option_def *ms_option_def_get(ms_option_id id);
int ms_option_find(const char *name_or_env); /* -1 if unknown */
/* The option's variable, "MEMSHIM_RETAINED_MAX": code names an option by its id, never by hand. */
const char *ms_option_env(ms_option_id id);

/* The MEMSHIM_* variables that are not options, all of them: no warning for these, and
 * `memshim doctor` calls them internal. */
#define MS_ENV_LIBRARY_PATH "MEMSHIM_LIBRARY_PATH"                   /* the CLI: libmemshim.so to preload */
#define MS_ENV_REPORT_DIR_UNWRITABLE "MEMSHIM_REPORT_DIR_UNWRITABLE" /* the library, to its children */
#define MS_ENV_TEST_CGROUP_ROOT "MEMSHIM_TEST_CGROUP_ROOT" /* tests only: the CLI's cgroup mounts (not /sys/fs/cgroup) */
bool ms_env_is_internal(const char *name, size_t len);

uint64_t ms_opt_u64(ms_option_id id); /* bool, int, size, percent, duration(ms), enum idx, list mask, signal */
static inline bool ms_opt_bool(ms_option_id id) { return ms_opt_u64(id) != 0; }
const char *ms_opt_str(ms_option_id id); /* PATH: "" when unset */

/* Reports, by default: one private directory per user and container, whatever each process's
 * working directory (a read-only root, a test suite that checks its cwd stays clean). The
 * library (core/reporting.c) creates it 0700 and writes there only when it is a real directory
 * of ours with no access for others; the CLI (cli/target.c) finds reports by the same template,
 * expanded with the target's TMPDIR and uid. */
#define MS_REPORT_PATH_DEFAULT "%T/memshim-%u/memshim.%p"
/* The MEMSHIM_REPORT_PATH template in force ("" = the default). */
const char *ms_report_path_template(void);
/* The template is the default one (its directory is ours to create and check). */
bool ms_report_path_is_default(void);
/* %T: tmpdir (a TMPDIR value) when it is an absolute path, else "/tmp". */
const char *ms_tmpdir_of(const char *tmpdir);
/* FRACTION: returns true and *fraction when the value is a fraction, else *ms for a duration. */
bool ms_opt_fraction(ms_option_id id, double *fraction, uint64_t *ms);
ms_opt_source ms_opt_source_get(ms_option_id id);

/* Set from text: 0 on success, -1 with *why set (the value is unchanged). */
int ms_option_set(ms_option_id id, const char *text, const char **why);
/* Current value, formatted as a user would write it. */
void ms_option_format(ms_option_id id, char *buf, size_t len);

/* The parsers, exposed for unit tests and the CLI. Each returns 0 or -1 with *why. */
int ms_parse_bool(const char *s, uint64_t *out, const char **why);
int ms_parse_size(const char *s, bool off_allowed, uint64_t *out, const char **why);
int ms_parse_duration_ms(const char *s, bool off_allowed, uint64_t *out, const char **why);
int ms_parse_percent(const char *s, uint64_t *out, const char **why);
int ms_parse_int(const char *s, int64_t min, int64_t max, uint64_t *out, const char **why);
int ms_parse_enum(const char *s, const char *choices, uint64_t *out, const char **why);
int ms_parse_list(const char *s, const char *choices, uint64_t *out, const char **why);
int ms_parse_signal(const char *s, bool off_allowed, uint64_t *out, const char **why);
/* A signal as the option table writes it: SIGUSR2, SIGRTMIN+9, else its number. */
void ms_signal_format(int sig, char *buf, size_t len);
int ms_parse_fraction(const char *s, double *fraction, uint64_t *ms, const char **why);

/* Number of config warnings printed so far (capped to keep a broken environment quiet). */
unsigned ms_options_warning_count(void);

#endif
