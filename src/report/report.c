/* Taking a report and writing its files.
 *
 * Files: the first report of a process creates each file with O_CREAT|O_EXCL|O_NOFOLLOW, mode
 * 0600, so an existing file or a symlink at the path is never followed nor overwritten (the
 * failure is logged). Later reports of the same process (signal, interval, exit) replace the
 * file they created: they write a temporary file beside it, created the same way, and rename it
 * over the report, so a reader never sees a half-written report and a symlink planted at the
 * path in between is replaced, not followed. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../config/options.h"
#include "../core/log.h"
#include "../profile/leak.h"
#include "../profile/profile_internal.h"
#include "../profile/ptr_map.h"
#include "../profile/stack_table.h"
#include "../profile/symbolize.h"
#include "../util/proc.h"
#include "timeline_rec.h"

#define MS_LEAK_TOP 64

static pthread_mutex_t ms_report_mu = PTHREAD_MUTEX_INITIALIZER;
static bool ms_report_created[3]; /* text, json, collapsed: this process created the file */

static int ms_site_by_live(const void *a, const void *b) {
  const ms_report_site *x = a, *y = b;
  if (x->live_bytes != y->live_bytes) return x->live_bytes > y->live_bytes ? -1 : 1;
  return x->id < y->id ? -1 : 1;
}

static int ms_site_by_allocated(const void *a, const void *b) {
  const ms_report_site *x = a, *y = b;
  if (x->alloc_bytes != y->alloc_bytes) return x->alloc_bytes > y->alloc_bytes ? -1 : 1;
  return x->id < y->id ? -1 : 1;
}

/* The report lists the sites that hold live bytes, that grew since the warm-up, that the leak
 * analysis names, and the top MS_REPORT_ALLOC_TOP by bytes allocated: at exit a churning
 * program has thousands of stacks whose blocks are all freed, and listing them all made the
 * exit report cost more than the profiling itself. Totals still count every site. */
#define MS_REPORT_ALLOC_TOP 256
static void ms_report_keep_interesting(ms_report *r) {
  qsort(r->sites, r->nsites, sizeof *r->sites, ms_site_by_allocated);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < r->nsites; i++) {
    const ms_report_site *s = &r->sites[i];
    bool keep = i < MS_REPORT_ALLOC_TOP || s->live_bytes != 0 || s->growth > 0 || s->gpu;
    for (unsigned k = 0; !keep && k < r->leak.nsites; k++) keep = r->leak_sites[k].id == s->id;
    if (keep) r->sites[kept++] = *s;
  }
  r->nsites = kept;
}

/* Copy the profiler's state. Site counters are read lock-free; the snapshot store and the
 * timeline are copied under their own locks into memory allocated before taking them. */
static int ms_report_collect(ms_report *r, const char *reason) {
  memset(r, 0, sizeof *r);
  uint64_t now = ms_profile_now_ms();
  r->reason = reason;
  r->time_ms = now;
  r->pid = (int)getpid();
  r->ppid = (int)getppid();
  ms_proc_comm(r->comm, sizeof r->comm);
  r->start_time = ms_start_time();
  r->backend = ms_be.name;
  r->sample_bytes = ms_profile_sample_bytes();
  r->stack_depth = ms_profile_stack_depth();
  r->interval_ms = ms_profile_snapshot_interval_ms();
  r->peak_bytes = ms_profile_peak_bytes();
  r->has_limit = ms_profile_leak_limit(&r->limit_bytes);

  ms_leak_store_take(now, true);
  uint64_t warm = ms_leak_warmup_end(now);
  uint32_t n = ms_stacks_count();
  r->sites_count = n;
  r->sampled_live = ms_ptrs_count();
  r->memory_bytes = ms_stacks_memory() + ms_ptrs_memory();
  r->sites = malloc((n ? n : 1) * sizeof *r->sites);
  r->leak_sites = malloc(MS_LEAK_TOP * sizeof *r->leak_sites);
  r->points = malloc(MS_TIMELINE_CAP * sizeof *r->points);
  r->events = malloc(MS_TIMELINE_EVENTS_CAP * sizeof *r->events);
  if (!r->sites || !r->leak_sites || !r->points || !r->events) return -1;
  ms_report_gpu_collect(r, now, warm);
  for (uint32_t id = 1; id <= n; id++) {
    ms_site *s = ms_stacks_site(id);
    ms_report_site *o = &r->sites[r->nsites];
    o->alloc_count = __atomic_load_n(&s->alloc_count, __ATOMIC_RELAXED);
    o->gpu = ms_report_gpu_site_get(r, id);
    if (!o->alloc_count && !o->gpu) continue;
    o->id = id;
    o->depth = s->depth;
    o->frames = s->frames;
    o->live_bytes = __atomic_load_n(&s->live_bytes, __ATOMIC_RELAXED);
    o->live_count = __atomic_load_n(&s->live_count, __ATOMIC_RELAXED);
    o->alloc_bytes = __atomic_load_n(&s->alloc_bytes, __ATOMIC_RELAXED);
    o->peak_bytes = __atomic_load_n(&s->peak_bytes, __ATOMIC_RELAXED);
    o->growth = now >= warm ? o->live_bytes - ms_leak_store_live_at(id, warm) : 0;
    r->live_bytes += o->live_bytes;
    r->live_count += o->live_count;
    r->alloc_bytes += o->alloc_bytes;
    r->alloc_count += o->alloc_count;
    r->nsites++;
  }
  ms_leak_store_analyze(warm, r->sample_bytes, r->leak_sites, MS_LEAK_TOP, &r->leak);
  ms_report_keep_interesting(r);
  qsort(r->sites, r->nsites, sizeof *r->sites, ms_site_by_live);
  r->npoints = ms_timeline_copy(r->points, MS_TIMELINE_CAP, r->events, MS_TIMELINE_EVENTS_CAP, &r->nevents);
  return 0;
}

static void ms_report_release(ms_report *r) {
  ms_report_gpu_release(r);
  free(r->sites);
  free(r->leak_sites);
  free(r->points);
  free(r->events);
}

typedef void (*ms_report_writer)(const ms_report *, ms_out *);

static int ms_report_open_excl(const char *path) {
  return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

static void ms_report_file(int fmt, const char *ext, ms_report_writer writer, const ms_report *r) {
  char base[MS_PATH_MAX + 64], path[MS_PATH_MAX + 96], tmp[MS_PATH_MAX + 128];
  if (ms_path_expand(ms_opt_str(MS_OPT_REPORT_PATH), base, sizeof base) != 0) {
    ms_log_error("report: MEMSHIM_REPORT_PATH is too long; no report written");
    return;
  }
  snprintf(path, sizeof path, "%s.%s", base, ext);
  bool replace = ms_report_created[fmt];
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
    ms_log_error("report: cannot create %s: %s%s", target, strerror(errno),
                 errno == EEXIST ? " (an existing file or symlink is never overwritten)" : "");
    return;
  }
  static ms_out out; /* serialised by ms_report_mu; 16 KiB is too big for some thread stacks */
  ms_out_init(&out, fd);
  writer(r, &out);
  int err = ms_out_flush(&out);
  if (close(fd) != 0 && !err) err = errno;
  if (err) {
    ms_log_error("report: writing %s failed: %s", target, strerror(err));
    unlink(target);
    return;
  }
  if (replace && rename(tmp, path) != 0) {
    ms_log_error("report: cannot replace %s: %s", path, strerror(errno));
    unlink(tmp);
    return;
  }
  ms_report_created[fmt] = true;
  ms_log_info("report (%s) written to %s", r->reason, path);
}

bool ms_report_now(const char *reason) {
  pthread_mutex_lock(&ms_report_mu);
  ms_report r;
  bool failed = false;
  if (ms_report_collect(&r, reason) != 0) {
    ms_log_error("report: out of memory");
  } else {
    uint64_t formats = ms_opt_u64(MS_OPT_REPORT);
    ms_symbolize_begin();
    if (formats & MS_REPORT_TEXT) ms_report_file(0, "txt", ms_report_write_text, &r);
    if (formats & MS_REPORT_JSON) ms_report_file(1, "json", ms_report_write_json, &r);
    if (formats & MS_REPORT_COLLAPSED) ms_report_file(2, "collapsed", ms_report_write_collapsed, &r);
    failed = strcmp(ms_report_verdict(&r), "fail") == 0;
    if (failed) {
      char a[32], b[32];
      snprintf(a, sizeof a, "%lld", (long long)r.leak.growth);
      snprintf(b, sizeof b, "%llu", (unsigned long long)r.limit_bytes);
      ms_log_error("leak check failed: live bytes grew by %s after warm-up (limit %s)", a, b);
      for (unsigned i = 0; i < r.leak.nsites && i < 5; i++) {
        const ms_leak_site *l = &r.leak_sites[i];
        const ms_report_site *s = ms_report_find_site(&r, l->id);
        if (!l->steady || !s || !s->depth) continue;
        ms_symbol sym;
        ms_symbolize(s->frames[0] - 1, &sym);
        ms_log_error("  +%lld bytes at %s (%s+0x%lx)", (long long)l->growth, sym.function, sym.module,
                     (unsigned long)sym.offset);
      }
    }
  }
  ms_report_release(&r);
  pthread_mutex_unlock(&ms_report_mu);
  return failed;
}

void ms_report_describe_sites(const uint32_t *ids, unsigned n, char (*out)[160]) {
  pthread_mutex_lock(&ms_report_mu); /* the symbolizer is not thread-safe */
  ms_symbolize_begin();
  for (unsigned i = 0; i < n; i++) {
    const ms_site *s = ms_stacks_site(ids[i]);
    if (!s || !s->depth) {
      snprintf(out[i], sizeof out[i], "site %u (no stack)", ids[i]);
      continue;
    }
    ms_symbol sym;
    ms_symbolize(s->frames[0] - 1, &sym);
    const char *slash = strrchr(sym.module, '/');
    snprintf(out[i], sizeof out[i], "%s (%s+0x%lx)", sym.function, slash ? slash + 1 : sym.module,
             (unsigned long)sym.offset);
  }
  pthread_mutex_unlock(&ms_report_mu);
}

void ms_report_atfork_prepare(void) { pthread_mutex_lock(&ms_report_mu); }
void ms_report_atfork_parent(void) { pthread_mutex_unlock(&ms_report_mu); }
void ms_report_atfork_child(void) {
  pthread_mutex_init(&ms_report_mu, NULL);
  memset(ms_report_created, 0, sizeof ms_report_created);
}
