/* THE option table and its parsers. Shared by libmemshim.so and the memshim CLI.
 * Nothing here allocates: values live in static storage, messages are formatted
 * into stack buffers and written with write(2). */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char **environ;

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

/* One row per option: name, environment variable, type, default, choices, range, help. */
static const ms_option_def ms_option_table[MS_OPT__COUNT] = {
  [MS_OPT_ENABLE] = {"enable", "MEMSHIM_ENABLE", MS_OPT_BOOL, "1", NULL, 0, 0, false,
    "0 = pass-through to the backend: no policy, profiler, reports or fork hook (call counters stay)"},
  [MS_OPT_VERBOSE] = {"verbose", "MEMSHIM_VERBOSE", MS_OPT_INT, "0", NULL, 0, 3, false,
    "log level: 0 errors only, 1 events (purges, reports), 2 debug, 3 trace"},
  [MS_OPT_LOG] = {"log", "MEMSHIM_LOG", MS_OPT_PATH, "", NULL, 0, 0, false,
    "log file (%p = pid, %t = start time); empty = stderr"},
  [MS_OPT_TOKENIZERS_PARALLELISM] = {"tokenizers_parallelism", "MEMSHIM_TOKENIZERS_PARALLELISM",
    MS_OPT_BOOL, "1", NULL, 0, 0, false,
    "set TOKENIZERS_PARALLELISM=false at start-up unless the user set it"},

  [MS_OPT_BACKEND] = {"backend", "MEMSHIM_BACKEND", MS_OPT_ENUM, "jemalloc", "jemalloc|glibc", 0, 0,
    false, "heap allocator: jemalloc (purge via mallctl) or glibc (malloc_trim)"},
  [MS_OPT_RETAINED_MAX] = {"retained_max", "MEMSHIM_RETAINED_MAX", MS_OPT_SIZE, "64M", NULL, 0, 0, true,
    "purge when freed-but-resident heap passes this; off = never on this trigger"},
  [MS_OPT_RSS_SOFT_LIMIT] = {"rss_soft_limit", "MEMSHIM_RSS_SOFT_LIMIT", MS_OPT_SIZE, "off", NULL, 0, 0,
    true, "above this RSS, purge heap and shrink file mappings; logged once per crossing"},
  [MS_OPT_PURGE_INTERVAL] = {"purge_interval", "MEMSHIM_PURGE_INTERVAL", MS_OPT_DURATION, "200ms", NULL,
    1, 0, false, "how often the memory-return policy looks (on allocation; under MEMSHIM_RSS_SOFT_LIMIT, on its thread)"},
  [MS_OPT_IDLE_PURGE] = {"idle_purge", "MEMSHIM_IDLE_PURGE", MS_OPT_DURATION, "1s", NULL, 0, 0, true,
    "at the first activity after this long without large frees, purge everything freeable; off = never"},
  [MS_OPT_MMAP_RESIDENT_MAX] = {"mmap_resident_max", "MEMSHIM_MMAP_RESIDENT_MAX", MS_OPT_SIZE, "off",
    NULL, 0, 0, true, "cap on resident pages of eligible file mappings (read-only or MAP_SHARED)"},
  [MS_OPT_MMAP_MIN] = {"mmap_min", "MEMSHIM_MMAP_MIN", MS_OPT_SIZE, "1M", NULL, 0, 0, false,
    "file mappings smaller than this are not tracked (shared libraries, small files)"},
  [MS_OPT_CONTAINER_SOFT_PCT] = {"container_soft_pct", "MEMSHIM_CONTAINER_SOFT_PCT", MS_OPT_PERCENT, "85", NULL, 0,
    0, false, "with a cgroup memory limit and no MEMSHIM_RSS_SOFT_LIMIT, the soft limit is this share of it; 0 = off"},
  [MS_OPT_PRESSURE_REPORT_PCT] = {"pressure_report_pct", "MEMSHIM_PRESSURE_REPORT_PCT", MS_OPT_PERCENT, "92", NULL,
    0, 0, false, "when the cgroup's usage crosses this share of its limit (or PSI says it stalls), write a pressure "
    "report once per crossing; 0 = off"},

  [MS_OPT_PROFILE] = {"profile", "MEMSHIM_PROFILE", MS_OPT_BOOL, "0", NULL, 0, 0, false,
    "record live bytes per call site (libunwind)"},
  [MS_OPT_SAMPLE_BYTES] = {"sample_bytes", "MEMSHIM_SAMPLE_BYTES", MS_OPT_SIZE, "512K", NULL, 0, 0,
    false, "mean bytes between samples; 1 = record every allocation (exact mode)"},
  [MS_OPT_STACK_DEPTH] = {"stack_depth", "MEMSHIM_STACK_DEPTH", MS_OPT_INT, "32", NULL, 1, 128, false,
    "frames kept per call-site stack"},
  [MS_OPT_PY_STACKS] = {"py_stacks", "MEMSHIM_PY_STACKS", MS_OPT_BOOL, "1", NULL, 0, 0, false,
    "with profiling on, name the Python file, line and function in call sites (CPython 3.8-3.15, release builds with the GIL)"},
  [MS_OPT_PY_DEPTH] = {"py_depth", "MEMSHIM_PY_DEPTH", MS_OPT_INT, "32", NULL, 1, 128, false,
    "Python frames kept per call-site stack (native frames count apart)"},
  [MS_OPT_REPORT] = {"report", "MEMSHIM_REPORT", MS_OPT_LIST, "text", "text|json|collapsed|html|pprof", 0, 0,
    false, "report formats (comma list; off = no file); set without MEMSHIM_PROFILE: timeline-only reports"},
  [MS_OPT_REPORT_PATH] = {"report_path", "MEMSHIM_REPORT_PATH", MS_OPT_PATH, MS_REPORT_PATH_DEFAULT, NULL, 0,
    0, false, "report file prefix (%p = pid, %t = start time, %u = uid, %T = $TMPDIR or /tmp); the format "
    "adds .txt/.json/.collapsed/.html/.pb.gz; the default directory is created private (0700)"},
  [MS_OPT_REPORT_SIGNAL] = {"report_signal", "MEMSHIM_REPORT_SIGNAL", MS_OPT_SIGNAL, "SIGRTMIN+9", NULL,
    0, 0, true, "signal that asks for a report while running ('memshim snapshot PID' sends it); off = none"},
  [MS_OPT_REPORT_INTERVAL] = {"report_interval", "MEMSHIM_REPORT_INTERVAL", MS_OPT_DURATION, "off", NULL,
    0, 0, true, "also write reports this often; off = at exit and on signal only"},
  [MS_OPT_LEAK_CHECK] = {"leak_check", "MEMSHIM_LEAK_CHECK", MS_OPT_SIZE, "off", NULL, 0, 0, true,
    "at exit, fail (exit status 1) when live bytes grew by more than this after warm-up"},
  [MS_OPT_LEAK_CHECK_EXIT] = {"leak_check_exit", "MEMSHIM_LEAK_CHECK_EXIT", MS_OPT_BOOL, "1", NULL, 0, 0, false,
    "with leak_check, a failed check logs its sites and turns exit status 0 into 1; 0 = only the reports say it"},
  [MS_OPT_LEAK_WARMUP] = {"leak_warmup", "MEMSHIM_LEAK_WARMUP", MS_OPT_FRACTION, "0.25", NULL, 0, 0,
    false, "growth is measured after this fraction of the run (0.25) or duration (30s)"},
  [MS_OPT_LEAK_SCAN] = {"leak_scan", "MEMSHIM_LEAK_SCAN", MS_OPT_ENUM, "off", "off|on|native", 0, 0, false,
    "at exit, find heap blocks no pointer reaches (exact mode); native = not in Python interpreters or shells"},
  [MS_OPT_SNAPSHOT_INTERVAL] = {"snapshot_interval", "MEMSHIM_SNAPSHOT_INTERVAL", MS_OPT_DURATION,
    "100ms", NULL, 1, 0, false, "how often the timeline records a snapshot"},

  [MS_OPT_METRICS_FILE] = {"metrics_file", "MEMSHIM_METRICS_FILE", MS_OPT_PATH, "", NULL, 0, 0, false,
    "Prometheus textfile to write (%p = pid); empty = none"},
  [MS_OPT_METRICS_INTERVAL] = {"metrics_interval", "MEMSHIM_METRICS_INTERVAL", MS_OPT_DURATION, "10s",
    NULL, 1, 0, false, "how often the metrics file is rewritten"},

  [MS_OPT_GPU] = {"gpu", "MEMSHIM_GPU", MS_OPT_BOOL, "1", NULL, 0, 0, false,
    "track CUDA device memory per call site (driver and runtime); 0 = CUDA calls pass through untouched"},
  [MS_OPT_GPU_WARN_PCT] = {"gpu_warn_pct", "MEMSHIM_GPU_WARN_PCT", MS_OPT_PERCENT, "90", NULL, 0, 0, false,
    "log the top device-memory call sites once when a GPU's used memory (NVML) crosses this share; 0 = off"},
  [MS_OPT_GPU_ACTION_PCT] = {"gpu_action_pct", "MEMSHIM_GPU_ACTION_PCT", MS_OPT_PERCENT, "95", NULL, 0, 0, false,
    "at this share: write a report and call memshim_on_gpu_pressure callbacks, once per crossing; 0 = off"},
};

typedef struct {
  uint64_t u64;
  double fraction;       /* FRACTION only */
  bool is_fraction;      /* FRACTION only */
  char str[MS_PATH_MAX]; /* PATH only */
  ms_opt_source source;
} ms_option_value;

static ms_option_value ms_option_values[MS_OPT__COUNT];
static bool ms_options_defaults_ready;
static unsigned ms_options_warnings;
#define MS_OPTIONS_WARNING_CAP 16

const ms_option_def *ms_option_def_get(ms_option_id id) {
  return (unsigned)id < MS_OPT__COUNT ? &ms_option_table[id] : NULL;
}

const char *ms_option_env(ms_option_id id) { return ms_option_table[id].env; }

int ms_option_find(const char *name) {
  for (int i = 0; i < MS_OPT__COUNT; i++)
    if (strcasecmp(name, ms_option_table[i].name) == 0 || strcmp(name, ms_option_table[i].env) == 0)
      return i;
  return -1;
}

unsigned ms_options_warning_count(void) { return ms_options_warnings; }

static void ms_options_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ms_options_warn(const char *fmt, ...) {
  if (ms_options_warnings++ >= MS_OPTIONS_WARNING_CAP) {
    if (ms_options_warnings == MS_OPTIONS_WARNING_CAP + 1) {
      static const char more[] = "memshim: further configuration warnings suppressed\n";
      ssize_t w = write(2, more, sizeof more - 1);
      (void)w;
    }
    return;
  }
  char line[640];
  int n = snprintf(line, sizeof line, "memshim: ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w = write(2, line, (size_t)n);
  (void)w;
}

/* ---- parsers ---- */

static const char *ms_skip_space(const char *s) {
  while (*s && isspace((unsigned char)*s)) s++;
  return s;
}

static bool ms_is_off(const char *s) {
  return strcasecmp(s, "off") == 0 || strcasecmp(s, "none") == 0 || strcasecmp(s, "false") == 0 ||
         strcasecmp(s, "no") == 0;
}

int ms_parse_bool(const char *s, uint64_t *out, const char **why) {
  static const char *const yes[] = {"1", "true", "yes", "on"};
  static const char *const no[] = {"0", "false", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) { *out = 1; return 0; }
    if (strcasecmp(s, no[i]) == 0) { *out = 0; return 0; }
  }
  *why = "not a boolean (use 1/0, true/false, yes/no, on/off)";
  return -1;
}

/* Unsigned decimal with overflow detection; *end points past the digits. */
static int ms_parse_u64_prefix(const char *s, uint64_t *out, const char **end) {
  if (!isdigit((unsigned char)*s)) return -1;
  uint64_t v = 0;
  while (isdigit((unsigned char)*s)) {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -2;
    v = v * 10 + d;
    s++;
  }
  *out = v;
  *end = s;
  return 0;
}

int ms_parse_size(const char *s, bool off_allowed, uint64_t *out, const char **why) {
  s = ms_skip_space(s);
  if (off_allowed && ms_is_off(s)) { *out = 0; return 0; }
  uint64_t v;
  const char *end;
  int rc = ms_parse_u64_prefix(s, &v, &end);
  if (rc == -1) { *why = "not a size (use bytes or a K/M/G/T suffix, e.g. 64M)"; return -1; }
  if (rc == -2) { *why = "size overflows 64 bits"; return -1; }
  uint64_t mult = 1;
  switch (toupper((unsigned char)*end)) {
    case 0: break;
    case 'B': mult = 1; break;
    case 'K': mult = KIB; break;
    case 'M': mult = MIB; break;
    case 'G': mult = MIB * KIB; break;
    case 'T': mult = MIB * MIB; break;
    default: *why = "unknown size suffix (use K, M, G or T)"; return -1;
  }
  if (*end) {
    end++;
    if ((*end == 'i' || *end == 'I') && mult > 1) end++;
    if ((*end == 'b' || *end == 'B') && mult > 1) end++;
    end = ms_skip_space(end);
    if (*end) { *why = "trailing characters after size"; return -1; }
  }
  if (mult > 1 && v > UINT64_MAX / mult) { *why = "size overflows 64 bits"; return -1; }
  v *= mult;
  if (v == 0 && !off_allowed) { *why = "must be greater than 0"; return -1; }
  *out = v;
  return 0;
}

int ms_parse_duration_ms(const char *s, bool off_allowed, uint64_t *out, const char **why) {
  s = ms_skip_space(s);
  if (off_allowed && ms_is_off(s)) { *out = 0; return 0; }
  uint64_t v;
  const char *end;
  int rc = ms_parse_u64_prefix(s, &v, &end);
  if (rc == -1) { *why = "not a duration (use ms, s or m, e.g. 200ms)"; return -1; }
  if (rc == -2) { *why = "duration overflows"; return -1; }
  uint64_t mult;
  if (*end == 0 || strcmp(end, "ms") == 0) mult = 1;
  else if (strcmp(end, "s") == 0) mult = 1000;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) mult = 60000;
  else if (strcmp(end, "h") == 0) mult = 3600000;
  else { *why = "unknown duration unit (use ms, s, m or h)"; return -1; }
  if (v > UINT64_MAX / mult) { *why = "duration overflows"; return -1; }
  v *= mult;
  if (v == 0 && !off_allowed) { *why = "must be greater than 0"; return -1; }
  *out = v;
  return 0;
}

int ms_parse_percent(const char *s, uint64_t *out, const char **why) {
  uint64_t v;
  const char *end;
  s = ms_skip_space(s);
  if (ms_parse_u64_prefix(s, &v, &end) != 0) { *why = "not a percentage (0..100)"; return -1; }
  if (*end == '%') end++;
  if (*end) { *why = "trailing characters after percentage"; return -1; }
  if (v > 100) { *why = "percentage above 100"; return -1; }
  *out = v;
  return 0;
}

int ms_parse_int(const char *s, int64_t min, int64_t max, uint64_t *out, const char **why) {
  s = ms_skip_space(s);
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s || *ms_skip_space(end)) { *why = "not an integer"; return -1; }
  if (errno == ERANGE || v < min || v > max) { *why = "out of range"; return -1; }
  *out = (uint64_t)v;
  return 0;
}

/* Index of token [s, s+len) in "a|b|c", or -1. */
static int ms_choice_index(const char *choices, const char *s, size_t len) {
  int idx = 0;
  for (const char *c = choices; *c; idx++) {
    const char *bar = strchr(c, '|');
    size_t clen = bar ? (size_t)(bar - c) : strlen(c);
    if (clen == len && strncasecmp(c, s, len) == 0) return idx;
    if (!bar) break;
    c = bar + 1;
  }
  return -1;
}

int ms_parse_enum(const char *s, const char *choices, uint64_t *out, const char **why) {
  s = ms_skip_space(s);
  size_t len = strlen(s);
  while (len && isspace((unsigned char)s[len - 1])) len--;
  int idx = ms_choice_index(choices, s, len);
  if (idx < 0) { *why = "not one of the choices"; return -1; }
  *out = (uint64_t)idx;
  return 0;
}

int ms_parse_list(const char *s, const char *choices, uint64_t *out, const char **why) {
  uint64_t mask = 0;
  const char *p = s;
  if (ms_is_off(ms_skip_space(s))) { *out = 0; return 0; }
  while (*p) {
    p = ms_skip_space(p);
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len && isspace((unsigned char)p[len - 1])) len--;
    if (len) {
      int idx = ms_choice_index(choices, p, len);
      if (idx < 0) { *why = "unknown item in list"; return -1; }
      mask |= 1ull << idx;
    }
    if (!comma) break;
    p = comma + 1;
  }
  if (!mask && *ms_skip_space(s)) { *why = "empty list"; return -1; }
  *out = mask;
  return 0;
}

static const struct { const char *name; int sig; } ms_signal_names[] = {
  {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"PROF", SIGPROF}, {"URG", SIGURG},
  {"WINCH", SIGWINCH}, {"PWR", SIGPWR},
};

/* "RTMIN+N" / "RTMAX-N" (SIG prefix already skipped): the number, or -1. SIGRTMIN is the C
 * library's (glibc keeps the first two real-time signals for itself). */
static int ms_parse_rt_signal(const char *s) {
  int base, dir;
  if (strncasecmp(s, "RTMIN", 5) == 0) base = SIGRTMIN, dir = 1;
  else if (strncasecmp(s, "RTMAX", 5) == 0) base = SIGRTMAX, dir = -1;
  else return -1;
  s += 5;
  if (!*s) return base;
  if (*s != (dir > 0 ? '+' : '-') || !isdigit((unsigned char)s[1])) return -1;
  int n = 0;
  for (s++; isdigit((unsigned char)*s) && n <= 64; s++) n = n * 10 + (*s - '0');
  if (*s || n > SIGRTMAX - SIGRTMIN) return -1;
  return base + dir * n;
}

int ms_parse_signal(const char *s, bool off_allowed, uint64_t *out, const char **why) {
  s = ms_skip_space(s);
  if (off_allowed && (ms_is_off(s) || strcmp(s, "0") == 0)) { *out = 0; return 0; }
  if (isdigit((unsigned char)*s)) {
    uint64_t v;
    if (ms_parse_int(s, 1, 64, &v, why) != 0) { *why = "not a signal number (1..64)"; return -1; }
    if (v == SIGKILL || v == SIGSTOP || v == SIGSEGV || v == SIGBUS) { *why = "signal cannot be used"; return -1; }
    if (v > SIGSYS && v < (uint64_t)SIGRTMIN) { *why = "signal reserved by the C library"; return -1; }
    *out = v;
    return 0;
  }
  if (strncasecmp(s, "SIG", 3) == 0) s += 3;
  int rt = ms_parse_rt_signal(s);
  if (rt > 0) { *out = (uint64_t)rt; return 0; }
  for (size_t i = 0; i < sizeof ms_signal_names / sizeof ms_signal_names[0]; i++)
    if (strcasecmp(s, ms_signal_names[i].name) == 0) { *out = (uint64_t)ms_signal_names[i].sig; return 0; }
  *why = "not a usable signal (USR1, USR2, HUP, PROF, URG, WINCH, PWR, RTMIN+N, RTMAX-N or a number)";
  return -1;
}

void ms_signal_format(int sig, char *buf, size_t len) {
  for (size_t i = 0; i < sizeof ms_signal_names / sizeof ms_signal_names[0]; i++)
    if (sig == ms_signal_names[i].sig) { snprintf(buf, len, "SIG%s", ms_signal_names[i].name); return; }
  if (sig == SIGRTMIN) snprintf(buf, len, "SIGRTMIN");
  else if (sig > SIGRTMIN && sig <= SIGRTMAX) snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
  else snprintf(buf, len, "%d", sig);
}

int ms_parse_fraction(const char *s, double *fraction, uint64_t *ms, const char **why) {
  s = ms_skip_space(s);
  if (strchr(s, '.') || strcmp(s, "0") == 0) {
    char *end;
    errno = 0;
    double f = strtod(s, &end);
    if (end == s || *ms_skip_space(end) || errno == ERANGE || !(f >= 0.0 && f < 1.0)) {
      *why = "not a fraction in [0, 1) or a duration";
      return -1;
    }
    *fraction = f;
    return 1;
  }
  if (ms_parse_duration_ms(s, true, ms, why) != 0) {
    *why = "not a fraction in [0, 1) or a duration";
    return -1;
  }
  return 0;
}

/* ---- table state ---- */

static int ms_option_parse_into(ms_option_id id, const char *text, ms_option_value *v, const char **why) {
  const ms_option_def *d = &ms_option_table[id];
  switch (d->type) {
    case MS_OPT_BOOL: return ms_parse_bool(ms_skip_space(text), &v->u64, why);
    case MS_OPT_INT: return ms_parse_int(text, d->min, d->max, &v->u64, why);
    case MS_OPT_SIZE:
      if (ms_parse_size(text, d->off_allowed, &v->u64, why) != 0) return -1;
      if (d->max && v->u64 > (uint64_t)d->max) { *why = "too large"; return -1; }
      return 0;
    case MS_OPT_DURATION:
      if (ms_parse_duration_ms(text, d->off_allowed, &v->u64, why) != 0) return -1;
      if (d->min && v->u64 && v->u64 < (uint64_t)d->min) { *why = "too short"; return -1; }
      return 0;
    case MS_OPT_PERCENT: return ms_parse_percent(text, &v->u64, why);
    case MS_OPT_ENUM: return ms_parse_enum(text, d->choices, &v->u64, why);
    case MS_OPT_LIST: return ms_parse_list(text, d->choices, &v->u64, why);
    case MS_OPT_SIGNAL: return ms_parse_signal(text, d->off_allowed, &v->u64, why);
    case MS_OPT_FRACTION: {
      int rc = ms_parse_fraction(text, &v->fraction, &v->u64, why);
      if (rc < 0) return -1;
      v->is_fraction = rc == 1;
      return 0;
    }
    case MS_OPT_PATH: {
      size_t len = strlen(text);
      if (len >= MS_PATH_MAX) { *why = "path too long"; return -1; }
      memcpy(v->str, text, len + 1);
      return 0;
    }
  }
  *why = "unknown option type";
  return -1;
}

static void ms_options_set_defaults(void) {
  for (int i = 0; i < MS_OPT__COUNT; i++) {
    const char *why = NULL;
    memset(&ms_option_values[i], 0, sizeof ms_option_values[i]);
    /* Defaults are part of the table and covered by a unit test; a failure here is a bug. */
    if (ms_option_parse_into((ms_option_id)i, ms_option_table[i].default_text, &ms_option_values[i],
                             &why) != 0)
      ms_options_warn("internal: default of %s does not parse: %s", ms_option_table[i].env, why);
    ms_option_values[i].source = MS_SRC_DEFAULT;
  }
  ms_options_defaults_ready = true;
}

static void ms_options_ensure(void) {
  if (!ms_options_defaults_ready) ms_options_set_defaults();
}

void ms_options_reset(void) {
  ms_options_defaults_ready = false;
  ms_options_warnings = 0;
  ms_options_set_defaults();
}

int ms_option_set(ms_option_id id, const char *text, const char **why) {
  ms_options_ensure();
  if ((unsigned)id >= MS_OPT__COUNT) { *why = "unknown option"; return -1; }
  ms_option_value v;
  memset(&v, 0, sizeof v);
  if (ms_option_parse_into(id, text, &v, why) != 0) return -1;
  v.source = MS_SRC_SET;
  ms_option_values[id] = v;
  return 0;
}

/* Variables that start with MEMSHIM_ but are not options: set by the CLI for the library, or by
 * the library for its children (core/reporting.c). */
bool ms_env_is_internal(const char *name, size_t len) {
  static const char *const internal[] = {MS_ENV_LIBRARY_PATH, MS_ENV_REPORT_DIR_UNWRITABLE, MS_ENV_TEST_CGROUP_ROOT};
  for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
    if (strlen(internal[i]) == len && strncmp(internal[i], name, len) == 0) return true;
  return false;
}

void ms_options_load(char *const *envp) {
  ms_options_reset();
  if (!envp) envp = environ;
  if (!envp) return;
  for (char *const *e = envp; *e; e++) {
    const char *entry = *e;
    if (strncmp(entry, "MEMSHIM_", 8) != 0) continue;
    const char *eq = strchr(entry, '=');
    if (!eq) continue;
    size_t nlen = (size_t)(eq - entry);
    int found = -1;
    for (int i = 0; i < MS_OPT__COUNT; i++) {
      if (strlen(ms_option_table[i].env) == nlen && strncmp(ms_option_table[i].env, entry, nlen) == 0) {
        found = i;
        break;
      }
    }
    if (found < 0) {
      if (!ms_env_is_internal(entry, nlen))
        ms_options_warn("%.*s: unknown option, ignored (see 'memshim config')", (int)nlen, entry);
      continue;
    }
    const char *why = NULL;
    ms_option_value v;
    memset(&v, 0, sizeof v);
    if (ms_option_parse_into((ms_option_id)found, eq + 1, &v, &why) != 0) {
      ms_options_warn("%.*s: %s; using %s", (int)(strlen(entry) > 200 ? nlen + 1 + 120 : strlen(entry)),
                      entry, why, *ms_option_table[found].default_text ? ms_option_table[found].default_text
                                                                       : "the default");
      ms_option_values[found].source = MS_SRC_INVALID;
      continue;
    }
    v.source = MS_SRC_ENV;
    ms_option_values[found] = v;
  }
}

uint64_t ms_opt_u64(ms_option_id id) {
  ms_options_ensure();
  return (unsigned)id < MS_OPT__COUNT ? ms_option_values[id].u64 : 0;
}

const char *ms_tmpdir_of(const char *tmpdir) { return tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp"; }

const char *ms_report_path_template(void) {
  const char *t = ms_opt_str(MS_OPT_REPORT_PATH);
  return *t ? t : MS_REPORT_PATH_DEFAULT;
}

bool ms_report_path_is_default(void) { return strcmp(ms_report_path_template(), MS_REPORT_PATH_DEFAULT) == 0; }

const char *ms_opt_str(ms_option_id id) {
  ms_options_ensure();
  return (unsigned)id < MS_OPT__COUNT ? ms_option_values[id].str : "";
}

bool ms_opt_fraction(ms_option_id id, double *fraction, uint64_t *ms) {
  ms_options_ensure();
  const ms_option_value *v = &ms_option_values[id];
  if (v->is_fraction) { *fraction = v->fraction; return true; }
  *ms = v->u64;
  return false;
}

ms_opt_source ms_opt_source_get(ms_option_id id) {
  ms_options_ensure();
  return ms_option_values[id].source;
}

static void ms_format_size(uint64_t v, char *buf, size_t len) {
  static const char sfx[] = {'T', 'G', 'M', 'K'};
  static const uint64_t mul[] = {MIB * MIB, MIB * KIB, MIB, KIB};
  for (int i = 0; i < 4; i++)
    if (v >= mul[i] && v % mul[i] == 0) { snprintf(buf, len, "%llu%c", (unsigned long long)(v / mul[i]), sfx[i]); return; }
  snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void ms_format_choices(const char *choices, uint64_t mask, bool list, char *buf, size_t len) {
  size_t n = 0;
  int idx = 0;
  buf[0] = 0;
  for (const char *c = choices; *c; idx++) {
    const char *bar = strchr(c, '|');
    size_t clen = bar ? (size_t)(bar - c) : strlen(c);
    bool on = list ? ((mask >> idx) & 1) : (uint64_t)idx == mask;
    if (on && n + clen + 2 < len) {
      if (n) buf[n++] = ',';
      memcpy(buf + n, c, clen);
      n += clen;
      buf[n] = 0;
    }
    if (!bar) break;
    c = bar + 1;
  }
  if (list && !n) snprintf(buf, len, "none");
}

void ms_option_format(ms_option_id id, char *buf, size_t len) {
  ms_options_ensure();
  const ms_option_def *d = &ms_option_table[id];
  const ms_option_value *v = &ms_option_values[id];
  switch (d->type) {
    case MS_OPT_BOOL: snprintf(buf, len, "%s", v->u64 ? "1" : "0"); break;
    case MS_OPT_INT:
    case MS_OPT_PERCENT: snprintf(buf, len, "%lld", (long long)v->u64); break;
    case MS_OPT_SIZE:
      if (!v->u64 && d->off_allowed) snprintf(buf, len, "off");
      else ms_format_size(v->u64, buf, len);
      break;
    case MS_OPT_FRACTION:
      if (v->is_fraction) { snprintf(buf, len, "%g", v->fraction); break; }
      __attribute__((fallthrough)); /* a duration */
    case MS_OPT_DURATION:
      if (!v->u64 && (d->off_allowed || d->type == MS_OPT_FRACTION)) snprintf(buf, len, "off");
      else if (v->u64 % 1000 == 0) snprintf(buf, len, "%llus", (unsigned long long)(v->u64 / 1000));
      else snprintf(buf, len, "%llums", (unsigned long long)v->u64);
      break;
    case MS_OPT_ENUM: ms_format_choices(d->choices, v->u64, false, buf, len); break;
    case MS_OPT_LIST:
      if (!v->u64) snprintf(buf, len, "off");
      else ms_format_choices(d->choices, v->u64, true, buf, len);
      break;
    case MS_OPT_SIGNAL:
      if (!v->u64) snprintf(buf, len, "off");
      else ms_signal_format((int)v->u64, buf, len);
      break;
    case MS_OPT_PATH: snprintf(buf, len, "%s", v->str); break;
  }
}
