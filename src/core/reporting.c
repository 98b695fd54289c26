/* Report triggers and files (moved here from profile/profile.c and report/report.c: profile/
 * collects, report/ writes, the core decides when).
 *
 * Triggers: exit (steps of core/init.c's exit sequence: from its exit handler, or from the
 * destructor for the leak scan and a process that never reaches the handler), the
 * report signal (MEMSHIM_REPORT_SIGNAL, installed only over the default action; the handler
 * only sets a flag and wakes the monitor), MEMSHIM_REPORT_INTERVAL (a monitor job). Each acts
 * only in the process that owns the state: a vfork or raw clone child runs no atfork handler.
 *
 * Files: the first report of a process creates each file with O_CREAT|O_EXCL|O_NOFOLLOW, mode
 * 0600, so an existing file or a symlink at the path is never followed nor overwritten (the
 * failure is logged). Later reports of the same process replace the file they created: they
 * write a temporary file beside it, created the same way, and rename it over the report, so a
 * reader never sees a half-written report and a symlink planted in between is replaced, not
 * followed. */
#include "reporting.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../config/options.h"
#include "../gpu/gpu.h"
#include "monitor.h"
#include "../policy/mmap_registry.h"
#include "../policy/policy.h"
#include "../policy/timeline.h"
#include "../profile/collect.h"
#include "../profile/profile.h"
#include "../profile/profile_internal.h"
#include "../profile/reach.h"
#include "../profile/stack_table.h"
#include "../profile/symbolize.h"
#include "../report/write.h"
#include "../util/exit_arm.h"
#include "../util/log.h"
#include "../util/owner.h"
#include "../util/proc.h"
#include "../util/sort.h"
#include "../util/sys.h"
#include "../../include/memshim.h"

typedef enum { MS_FILE_TEXT, MS_FILE_JSON, MS_FILE_COLLAPSED, MS_FILE_HTML, MS_FILE_PPROF, MS_FILE__COUNT } ms_file_kind;

static const struct {
  unsigned flag;
  const char *ext;
} ms_report_files[MS_FILE__COUNT] = {
  [MS_FILE_TEXT] = {MS_REPORT_TEXT, "txt"},       [MS_FILE_JSON] = {MS_REPORT_JSON, "json"},
  [MS_FILE_COLLAPSED] = {MS_REPORT_COLLAPSED, "collapsed"}, [MS_FILE_HTML] = {MS_REPORT_HTML, "html"},
  [MS_FILE_PPROF] = {MS_REPORT_PPROF, "pb.gz"},
};

static pthread_mutex_t ms_report_mu = PTHREAD_MUTEX_INITIALIZER;
static bool ms_report_created[MS_FILE__COUNT]; /* this process created the file */
static bool ms_pressure_created[MS_FILE__COUNT]; /* ... the pressure report's (base.pressure.ext) */
static volatile sig_atomic_t ms_report_requested;
static bool ms_exit_done, ms_exit_failed;
static bool ms_reports_on;  /* profiling, or MEMSHIM_REPORT set: reports are written */
static bool ms_report_dir_said; /* this process tree was told its report directory is unwritable */

/* With profiling on in a directory nobody can write to, every process of a container would
 * print "cannot create report" at exit. Said once per process tree instead: the first process
 * that finds the directory unwritable says so and leaves its path in MEMSHIM_REPORT_DIR_UNWRITABLE
 * (internal, not an option) for the children it starts; they stay quiet about the same
 * directory (MEMSHIM_VERBOSE=1 still shows each failure). Checked in the constructor, before the
 * program starts any child. */
static int ms_report_private_dir(const char *base);
#define MS_REPORT_DIR_MARK MS_ENV_REPORT_DIR_UNWRITABLE
static void ms_report_check_dir(void) {
  char dir[MS_PATH_MAX + 64];
  if (ms_path_expand(ms_report_path_template(), dir, sizeof dir) != 0) return;
  if (ms_report_path_is_default()) {
    /* Created now, so that memshim snapshot can watch it; a refusal is counted at each report. */
    if (ms_opt_u64(MS_OPT_REPORT)) (void)ms_report_private_dir(dir);
    return;
  }
  char *slash = strrchr(dir, '/');
  if (!slash) strcpy(dir, ".");
  else if (slash == dir) dir[1] = 0;
  else *slash = 0;
  if (access(dir, W_OK | X_OK) == 0) return;
  int err = errno;
  const char *said = getenv(MS_REPORT_DIR_MARK);
  ms_report_dir_said = true;
  if (said && strcmp(said, dir) == 0) return;
  ms_log_error("reports: cannot write in %s (%s): no report files from this process or its children "
               "(said once; MEMSHIM_REPORT_PATH picks another directory)", dir, strerror(err));
  setenv(MS_REPORT_DIR_MARK, dir, 1);
}

/* ---- files ---- */

/* Reports that could not be written (memshim_report_write_errors_total in the metrics file). */
static unsigned long ms_report_errors;
unsigned long ms_report_write_errors(void) { return __atomic_load_n(&ms_report_errors, __ATOMIC_RELAXED); }

/* Failures in the default directory are counted and said at MEMSHIM_VERBOSE=1 only: every process
 * of a container would print them, and nobody asked for that directory. */
static int ms_report_fail_level(void) { return ms_report_path_is_default() ? MS_LOG_INFO : MS_LOG_ERROR; }

/* The default directory (MS_REPORT_PATH_DEFAULT, in a shared /tmp): created 0700, and used only
 * when it is a directory, not a symlink, owned by our effective uid with no access for group or
 * others; a directory or link planted there beforehand is never written through. (In a sticky
 * /tmp nobody else can rename ours afterwards.) Returns 0, or the errno of the refusal. */
static int ms_report_private_dir(const char *base) {
  char dir[MS_PATH_MAX + 64];
  snprintf(dir, sizeof dir, "%s", base);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = 0;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return errno;
  int fd = ms_sys_open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) return errno == ENOTDIR ? ELOOP : errno;
  struct stat st;
  int err = 0;
  if (ms_sys_fstat(fd, &st) != 0) err = errno;
  else if (st.st_uid != geteuid() || (st.st_mode & 077)) err = EPERM;
  ms_sys_close(fd);
  return err;
}

static int ms_report_open_excl(const char *path) {
  return ms_sys_open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

static int ms_report_write(ms_file_kind kind, const ms_snapshot *s, ms_out *out) {
  static const ms_write_opts opt = {.top = 10};
  const ms_snapshot *one[1] = {s};
  switch (kind) {
    case MS_FILE_TEXT: ms_write_text(s, &opt, out); return 0;
    case MS_FILE_JSON: ms_write_json(s, out, 0); return 0;
    case MS_FILE_COLLAPSED: ms_write_collapsed(s, NULL, out); return 0;
    case MS_FILE_HTML: ms_write_html(one, 1, out); return 0;
    default: return ms_write_pprof(s, out);
  }
}

/* Writes one format to fd and closes it. Returns 0, or the errno of the failure. */
static int ms_report_write_fd(ms_file_kind kind, const ms_snapshot *s, int fd) {
  static ms_out out; /* serialised by ms_report_mu; 16 KiB is too big for some thread stacks */
  ms_out_init(&out, fd);
  int err = ms_report_write(kind, s, &out) != 0 ? ENOMEM : 0;
  int ferr = ms_out_flush(&out);
  if (!err) err = ferr;
  if (close(fd) != 0 && !err) err = errno;
  return err;
}

/* base: MEMSHIM_REPORT_PATH expanded (ms_report_now), plus ".pressure" for a pressure report
 * (created: that file's flags); the format adds its extension. */
static void ms_report_file(ms_file_kind kind, const ms_snapshot *s, const char *base, bool *created) {
  char path[MS_PATH_MAX + 96], tmp[MS_PATH_MAX + 128];
  snprintf(path, sizeof path, "%s.%s", base, ms_report_files[kind].ext);
  bool replace = created[kind];
  const char *target = path;
  int fd = -1;
  if (replace) {
    for (int attempt = 0; attempt < 4 && fd < 0; attempt++) {
      snprintf(tmp, sizeof tmp, "%s.tmp.%d.%d", path, (int)getpid(), attempt);
      fd = ms_report_open_excl(tmp);
      if (fd < 0 && errno != EEXIST) break;
    }
    target = tmp;
  } else {
    fd = ms_report_open_excl(path);
  }
  if (fd < 0) {
    __atomic_add_fetch(&ms_report_errors, 1, __ATOMIC_RELAXED);
    /* An unwritable directory was said once for the whole process tree (ms_report_check_dir). */
    ms_log(ms_report_dir_said && errno != EEXIST ? MS_LOG_INFO : ms_report_fail_level(), "report: cannot create %s: %s%s",
           target, strerror(errno), errno == EEXIST ? " (an existing file or symlink is never overwritten)" : "");
    return;
  }
  int err = ms_report_write_fd(kind, s, fd);
  if (err) {
    __atomic_add_fetch(&ms_report_errors, 1, __ATOMIC_RELAXED);
    ms_log(ms_report_fail_level(), "report: writing %s failed: %s", target, strerror(err));
    unlink(target);
    return;
  }
  if (replace && rename(tmp, path) != 0) {
    ms_log_error("report: cannot replace %s: %s", path, strerror(errno));
    unlink(tmp);
    return;
  }
  created[kind] = true;
  ms_log_info("report (%s) written to %s", s->reason, path);
}

/* ---- taking a report ---- */

static void ms_report_log_failure(const ms_snapshot *s) {
  char a[32], b[32], where[1024];
  snprintf(a, sizeof a, "%lld", (long long)s->leak.growth_bytes);
  snprintf(b, sizeof b, "%llu", (unsigned long long)s->leak.limit_bytes);
  ms_log_error("leak check failed: live bytes grew by %s after warm-up (limit %s)", a, b);
  for (unsigned i = 0, shown = 0; i < s->leak.nsites && shown < 5; i++) {
    const ms_snap_leak_site *l = &s->leak.sites[i];
    const ms_snap_site *site = ms_snap_find_site(s, l->id);
    if (!l->steady || !site || !site->nframes) continue;
    ms_site_where(site, where, sizeof where); /* a Python site by its line, else its allocating frame */
    ms_log_error("  +%lld bytes at %s", (long long)l->growth_bytes, where);
    shown++;
  }
}

bool ms_report_container(struct ms_snap_container *out) {
  ms_policy_container c;
  memset(out, 0, sizeof *out);
  if (!ms_policy_container_read(&c)) return false;
  *out = (struct ms_snap_container){.present = true, .version = c.version, .cgroup = c.dir,
                                    .limit_file = c.limit_file, .limit_bytes = c.limit, .has_usage = c.has_usage,
                                    .usage_bytes = c.usage, .oom_kill = c.oom_kill, .has_psi = c.has_psi,
                                    .psi_some_avg10_bp = c.psi_some_avg10, .psi_full_avg10_bp = c.psi_full_avg10,
                                    .pressure_reports = c.pressure_reports, .has_file = c.has_file,
                                    .file_bytes = c.file_bytes};
  return true;
}

static int ms_by_resident(const void *a, const void *b) {
  uint64_t x = ((const ms_snap_mapping *)a)->resident_bytes, y = ((const ms_snap_mapping *)b)->resident_bytes;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* The tracked file mappings with their resident bytes now and their call sites (appended to
 * s->sites when the heap part does not list them). 0, or -1 out of memory. */
static int ms_report_mapped(ms_snapshot *s, ms_arena *a) {
  ms_mmap_counters c;
  ms_mmap_counters_read(&c);
  if (!c.tracked_count) return 0;
  unsigned max = (unsigned)c.tracked_count + 16; /* a few more may be mapped meanwhile */
  ms_mmap_item *items = ms_arena_array(a, max, sizeof *items);
  ms_snap_mapping *out = ms_arena_array(a, max, sizeof *out);
  uint32_t *ids = ms_arena_array(a, max, sizeof *ids), *index = ms_arena_array(a, max, sizeof *index);
  if (!items || !out || !ids || !index) return -1;
  unsigned n = ms_mmap_registry_list(items, max), nids = 0;
  for (unsigned i = 0; i < n; i++) {
    const ms_mmap_item *it = &items[i];
    char link[64], path[4096];
    /* The kernel names the file by its exact range; a range the registry split or the kernel
     * merged has no such name, and the report shows the range alone. */
    snprintf(link, sizeof link, "/proc/self/map_files/%lx-%lx", (unsigned long)it->start, (unsigned long)it->end);
    long len = syscall(SYS_readlink, link, path, sizeof path - 1);
    const char *p = NULL;
    if (len > 0) {
      path[len] = 0;
      if (!(p = ms_arena_strdup(a, path))) return -1;
    }
    out[i] = (ms_snap_mapping){.site = it->site, .path = p, .start = it->start, .end = it->end,
                               .resident_bytes = it->resident_bytes, .droppable = it->droppable};
    bool seen = it->site == 0;
    for (unsigned k = 0; k < nids && !seen; k++) seen = ids[k] == it->site;
    if (!seen) ids[nids++] = it->site;
  }
  if (nids && !ms_profile_sites_for(s, a, ids, nids, index)) return -1;
  for (unsigned i = 0; i < n; i++) /* a stack id the table does not have: no site rather than a dangling id */
    for (unsigned k = 0; k < nids && out[i].site; k++)
      if (ids[k] == out[i].site && index[k] == UINT32_MAX) out[i].site = 0;
  ms_sort(out, n, sizeof *out, ms_by_resident);
  s->mapped = out;
  s->nmapped = n;
  return 0;
}

/* Fills s with this process now (memory from the arena; comm holds the command). Caller holds
 * ms_report_mu and the recursion guard. Returns 0, or -1 out of memory (logged). */
static int ms_report_collect(ms_snapshot *s, ms_arena *arena, const char *reason, char (*comm)[64]) {
  memset(s, 0, sizeof *s);
  ms_proc_comm(*comm, sizeof *comm);
  s->reason = reason;
  s->process.pid = getpid();
  s->process.ppid = getppid();
  s->process.command = *comm;
  s->process.start_time = ms_start_time();
  s->process.backend = ms_be.name;
  s->process.memshim_version = MEMSHIM_VERSION_STRING;
  s->process.report_write_errors = ms_report_write_errors();
  s->leak.verdict = "none";
  ms_report_container(&s->container);
  if ((ms_profile_active && ms_profile_collect(s, arena) != 0) ||
      ms_gpu_collect(s, arena, strcmp(reason, "exit") == 0, true) != 0 || ms_timeline_collect(s, arena) != 0 ||
      ms_report_mapped(s, arena) != 0) {
    ms_log_error("report: out of memory");
    return -1;
  }
  return 0;
}

/* A pressure report goes beside the others, as base.pressure.<ext>: the exit or interval reports
 * that may follow never replace it, and after an OOM kill it is the last word. */
static bool ms_report_write_all(const char *reason, bool pressure);
bool ms_report_now(const char *reason) { return ms_report_write_all(reason, false); }
static bool ms_report_pressure(const char *reason) { return ms_report_write_all(reason, true); }

static bool ms_report_write_all(const char *reason, bool pressure) {
  /* MEMSHIM_REPORT=off and no leak gate: no file and no verdict to compute, so no report. */
  uint64_t limit, formats = ms_opt_u64(MS_OPT_REPORT);
  if (!formats && !ms_profile_leak_limit(&limit)) return false;
  pthread_mutex_lock(&ms_report_mu);
  ms_arena arena;
  ms_arena_init(&arena);
  ms_snapshot s;
  char comm[64];
  bool failed = false;
  if (ms_report_collect(&s, &arena, reason, &comm) == 0) {
    char base[MS_PATH_MAX + 64];
    if (formats && ms_path_expand(ms_report_path_template(), base, sizeof base) != 0) {
      ms_log_error("report: MEMSHIM_REPORT_PATH is too long; no report written");
      formats = 0;
    }
    char dir_probe[MS_PATH_MAX + 64];
    memcpy(dir_probe, base, sizeof base); /* the directory check reads the plain base */
    if (pressure && formats && strlen(base) + sizeof ".pressure" <= sizeof base) strcat(base, ".pressure");
    int derr = formats && ms_report_path_is_default() ? ms_report_private_dir(dir_probe) : 0;
    if (derr) {
      __atomic_add_fetch(&ms_report_errors, 1, __ATOMIC_RELAXED);
      ms_log_info("report: not writing in the directory of %s: %s%s", base, strerror(derr),
                  derr == EPERM || derr == ELOOP ? " (not a private directory of ours: refused)" : "");
      formats = 0;
    }
    for (int k = 0; k < MS_FILE__COUNT; k++)
      if (formats & ms_report_files[k].flag)
        ms_report_file((ms_file_kind)k, &s, base, pressure ? ms_pressure_created : ms_report_created);
    /* MEMSHIM_LEAK_CHECK_EXIT=0 (memshim check): the verdict is in the reports; the CLI judges */
    failed = strcmp(s.leak.verdict, "fail") == 0 && ms_opt_bool(MS_OPT_LEAK_CHECK_EXIT) && !pressure; /* judged at exit */
    if (failed) ms_report_log_failure(&s);
  }
  ms_arena_release(&arena);
  pthread_mutex_unlock(&ms_report_mu);
  return failed;
}

int ms_report_json_to(const char *path, const char *reason) {
  int fd = ms_report_open_excl(path);
  if (fd < 0) return errno;
  pthread_mutex_lock(&ms_report_mu);
  ms_arena arena;
  ms_arena_init(&arena);
  ms_snapshot s;
  char comm[64];
  int err = ENOMEM;
  if (ms_report_collect(&s, &arena, reason, &comm) == 0) err = ms_report_write_fd(MS_FILE_JSON, &s, fd);
  else close(fd);
  ms_arena_release(&arena);
  pthread_mutex_unlock(&ms_report_mu);
  if (err) unlink(path);
  return err;
}

void ms_report_describe_sites(const uint32_t *ids, unsigned n, char (*out)[160]) {
  pthread_mutex_lock(&ms_report_mu); /* the symbolizer is not thread-safe */
  ms_symbolize_begin();
  for (unsigned i = 0; i < n; i++) {
    const ms_site *site = ms_stacks_site(ids[i]);
    if (!site || !site->depth) {
      snprintf(out[i], sizeof out[i], "site %u (no stack)", ids[i]);
      continue;
    }
    ms_symbol sym;
    ms_symbolize(site->frames[0] - 1, &sym);
    const char *slash = strrchr(sym.module, '/');
    snprintf(out[i], sizeof out[i], "%s (%s+0x%lx)", sym.function, slash ? slash + 1 : sym.module, (unsigned long)sym.offset);
  }
  pthread_mutex_unlock(&ms_report_mu);
}

/* ---- triggers ---- */

/* last: called from our destructor, after the program's own exit handlers and C++ static
 * destructors. The reachability scan waits for that moment (what those free is not leaked; what
 * they drop the last pointer to is), as LeakSanitizer's and valgrind's checks do; without the
 * scan the report is written from the exit handler (core/init.c's sequence). */
void ms_reporting_exit(bool last) {
  if (!ms_reports_on || ms_exit_done || !ms_is_owner()) return;
  if (!last && ms_reach_wanted()) {
    /* No snapshot after exit() began: what the program frees on its way out is not the run the
     * growth rule judges (two such snapshots in the last quarter outvote its median). */
    ms_guard_enter();
    ms_monitor_stop();
    ms_guard_leave();
    return;
  }
  ms_exit_done = true;
  ms_guard_enter();
  ms_monitor_stop();
  ms_reach_run();
  ms_exit_failed = ms_report_now("exit");
  ms_guard_leave();
}

bool ms_reporting_exit_failed(void) { return ms_exit_failed; }

/* Every snapshot interval: a pending signal request; the first run is the moment the exit
 * report's handler is registered (after the program's start-up code registered the loader's
 * teardown, which runs our destructor and would not know the exit status). */
ms_job_next ms_report_trigger_job(uint64_t now_ms) {
  (void)now_ms;
  ms_exit_arm(MS_EXIT_AFTER_START);
  if (ms_report_requested) {
    ms_report_requested = 0;
    ms_report_now("signal");
  }
  return (ms_job_next){ms_opt_u64(MS_OPT_SNAPSHOT_INTERVAL), true};
}

ms_job_next ms_report_interval_job(uint64_t now_ms) {
  (void)now_ms;
  ms_report_now("interval");
  return (ms_job_next){ms_opt_u64(MS_OPT_REPORT_INTERVAL), true};
}

static void ms_report_on_signal(int sig) {
  (void)sig;
  if (!ms_is_owner()) return;
  ms_report_requested = 1;
  ms_monitor_wake();
}

bool ms_reporting_active(void) { return ms_reports_on; }

bool ms_reporting_interval_on(void) { return ms_reports_on && ms_opt_u64(MS_OPT_REPORT_INTERVAL); }

void ms_reporting_init(void) {
  /* Without profiling, a report still has the process's timeline and the policy's events
   * (unless MEMSHIM_REPORT=off asks for no file). */
  ms_reports_on = ms_profile_active ||
                  (ms_opt_source_get(MS_OPT_REPORT) == MS_SRC_ENV && ms_opt_u64(MS_OPT_REPORT));
  if (!ms_reports_on) return;
  ms_report_check_dir();
  ms_timeline_init();
  ms_policy_set_pressure_report(ms_report_pressure);
  int sig = (int)ms_opt_u64(MS_OPT_REPORT_SIGNAL);
  if (!sig) return;
  /* Only over SIG_DFL: a handler a library installed, or SIG_IGN inherited from the parent (which
   * a non-preloaded grandchild would inherit in turn: gunicorn re-execs on SIGUSR2), stays.
   * Said once; as an error when the user chose the signal, else at MEMSHIM_VERBOSE=1. */
  struct sigaction old, sa;
  if (sigaction(sig, NULL, &old) == 0 && ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)) {
    ms_log(ms_opt_source_get(MS_OPT_REPORT_SIGNAL) == MS_SRC_ENV ? MS_LOG_ERROR : MS_LOG_INFO,
           "reports: signal %d is already %s; no reports on that signal (MEMSHIM_REPORT_SIGNAL picks another)",
           sig, old.sa_handler == SIG_IGN ? "ignored" : "handled");
    return;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = ms_report_on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) ms_log_error("reports: cannot install the report signal handler");
}


void ms_reporting_atfork_prepare(void) { pthread_mutex_lock(&ms_report_mu); }
void ms_reporting_atfork_parent(void) { pthread_mutex_unlock(&ms_report_mu); }
/* The child writes its own reports (pid in the name): files already written are the parent's. */
void ms_reporting_atfork_child(void) {
  pthread_mutex_init(&ms_report_mu, NULL);
  memset(ms_report_created, 0, sizeof ms_report_created);
  memset(ms_pressure_created, 0, sizeof ms_pressure_created);
  ms_report_requested = 0;
  ms_exit_done = false;
  ms_exit_failed = false;
}
