/* memshim check: the leak gate. Runs a command under the library with profiling on, then reads
 * every process's JSON report (forked workers write their own, pid in the name), adds up the
 * steady growth of live bytes per call site after the warm-up, and exits 0 (within the limit),
 * 1 (leak: the top growing call sites are printed with function names) or the command's own
 * status when it failed. The growth method is the library's (src/profile/leak.h). With
 * --max-gpu-growth, a process whose tracked GPU bytes grew more than that fails too
 * (docs/report-format.md, gpu), naming the sites whose device bytes grew most. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <getopt.h>

#include "../config/options.h"
#include "../report/write.h"
#include "cli.h"
#include "load.h"

/* Finer than the library's default: a gate wants small leaks seen; the cost is a CI run's. */
#define MS_CHECK_SAMPLE_BYTES "64K"
#define MS_CHECK_DEFAULT_LIMIT (1ull << 20)
/* Periodic reports, so workers that end with _exit (Python multiprocessing) still leave one. */
#define MS_CHECK_REPORT_INTERVAL "2s"
#define MS_CHECK_TOP 5

static const char ms_check_usage[] =
  "usage: memshim check [--max-growth SIZE] [--max-gpu-growth SIZE] [--warmup FRACTION|DURATION]\n"
  "                     [--report DIR] [--] cmd args...\n"
  "  Runs cmd under libmemshim.so with profiling on and fails when live heap bytes keep growing\n"
  "  after the warm-up. Growth is measured per call site on periodic snapshots; a site counts\n"
  "  only when it still grows in the last quarter of the run (a cache that fills and then stays\n"
  "  flat does not). Forked children are profiled too and their growth is added up.\n"
  "  --max-growth SIZE  allowed steady growth after warm-up, summed over processes (default 1M)\n"
  "  --warmup F|D       ignore the first fraction of each process's run (0.25) or a duration (30s)\n"
  "                     (default: MEMSHIM_LEAK_WARMUP, 0.25)\n"
  "  --max-gpu-growth SIZE  fail when the tracked GPU bytes of any process grew by more than SIZE\n"
  "                     (gpu.tracked_growth_bytes of its report; only processes that used CUDA)\n"
  "  --report DIR       keep the per-process reports (memshim.<pid>.json/.txt) in DIR\n"
  "  Profiling uses MEMSHIM_SAMPLE_BYTES=" MS_CHECK_SAMPLE_BYTES " unless that variable is set.\n"
  "  Exit status: 0 within the limit, 1 leak (top growing call sites printed), the command's own\n"
  "  status when it fails (128+N when killed by signal N), 2 bad arguments.\n";

typedef struct {
  char *key;        /* module+offset of every frame: the same stack in every process */
  char *where;      /* "function (module+0xoff)" of the allocating frame */
  char *callers;    /* "< f2 < f3" */
  int64_t growth, late;
  bool steady;
  unsigned procs;
} ms_check_site;

typedef struct {
  ms_check_site *v;
  size_t n, cap;
  int64_t total;
  unsigned reports, checked;
} ms_check_agg;

/* ---- progress on a terminal ---- */

typedef struct {
  bool tty;
  struct timespec t0;
  double last_print;
  double warm_fraction; /* < 0: warm-up is a duration */
  double warm_s;
  double samples_t[4096];
  uint64_t samples_rss[4096];
  unsigned nsamples;
  bool printed;
} ms_check_progress;

static double ms_elapsed(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static uint64_t ms_pid_rss(int pid) {
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/%d/statm", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned long long size = 0, res = 0;
  if (sscanf(buf, "%llu %llu", &size, &res) != 2) return 0;
  return res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void ms_check_tick(int pid, void *arg) {
  ms_check_progress *p = arg;
  double t = ms_elapsed(&p->t0);
  if (t - p->last_print < 1.0) return;
  p->last_print = t;
  uint64_t rss = ms_pid_rss(pid);
  if (p->nsamples < sizeof p->samples_t / sizeof p->samples_t[0]) {
    p->samples_t[p->nsamples] = t;
    p->samples_rss[p->nsamples++] = rss;
  }
  if (!p->tty) return;
  double warm = p->warm_fraction >= 0 ? t * p->warm_fraction : p->warm_s;
  char r[32], g[32];
  ms_fmt_bytes(r, sizeof r, (double)rss);
  /* growth so far: the main process's RSS now against its RSS at the end of the warm-up */
  uint64_t base = 0;
  for (unsigned i = 0; i < p->nsamples; i++)
    if (p->samples_t[i] >= warm) { base = p->samples_rss[i]; break; }
  if (base && t > warm) {
    ms_fmt_bytes(g, sizeof g, (double)rss - (double)base);
    fprintf(stderr, "\rmemshim check: %.0f s, RSS %s, growth since warm-up %s   ", t, r, g);
  } else {
    fprintf(stderr, "\rmemshim check: %.0f s, RSS %s, warming up   ", t, r);
  }
  p->printed = true;
}

/* ---- reading the reports ---- */

/* The same stack in every process: module+offset of native frames, file:line function of
 * Python ones. */
static char *ms_site_key(const ms_snap_site *site) {
  char *key = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&key, &len);
  if (!f) return NULL;
  char part[1024];
  for (uint32_t i = 0; i < site->nframes; i++) {
    ms_frame_where(&site->frames[i], " ", part, sizeof part);
    fputs(part, f);
    fputc(';', f);
  }
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    free(key);
    return NULL;
  }
  return key;
}

static void ms_check_add(ms_check_agg *agg, const ms_snap_site *site, int64_t growth, int64_t late, bool steady) {
  char *key = ms_site_key(site);
  if (!key) return;
  for (size_t i = 0; i < agg->n; i++) {
    ms_check_site *s = &agg->v[i];
    if (strcmp(s->key, key) != 0 || s->steady != steady) continue;
    s->growth += growth;
    s->late += late;
    s->procs++;
    free(key);
    return;
  }
  if (agg->n == agg->cap) {
    size_t cap = agg->cap ? agg->cap * 2 : 32;
    ms_check_site *v = realloc(agg->v, cap * sizeof *v);
    if (!v) { free(key); return; }
    agg->v = v;
    agg->cap = cap;
  }
  ms_check_site *s = &agg->v[agg->n++];
  memset(s, 0, sizeof *s);
  s->key = key;
  s->growth = growth;
  s->late = late;
  s->steady = steady;
  s->procs = 1;
  /* Named as the reports name it: by the Python line in the user's code when there is one
   * (ms_site_where), else by the allocating function; then up to three callers of that frame. */
  char where[1024], callers[512] = "";
  ms_site_where(site, where, sizeof where);
  s->where = strdup(where);
  const ms_snap_frame *named = ms_site_named_frame(site);
  uint32_t first = named ? (uint32_t)(named - site->frames) + 1 : site->nframes;
  for (uint32_t i = first; i < site->nframes && i < first + 3; i++) {
    char t[160];
    ms_frame_label(&site->frames[i], t, sizeof t);
    size_t used = strlen(callers);
    snprintf(callers + used, sizeof callers - used, "%s< %s", i > first ? " " : "", t);
  }
  s->callers = strdup(callers);
}

/* One process's report: its steady heap growth per site, and its GPU growth. */
static void ms_check_take(const ms_snapshot *snap, ms_check_agg *agg, ms_check_agg *gpu, uint64_t gpu_limit) {
  agg->reports++;
  if (snap->leak.checked) {
    agg->checked++;
    agg->total += snap->leak.growth_bytes;
    for (unsigned i = 0; i < snap->leak.nsites; i++) {
      const ms_snap_leak_site *l = &snap->leak.sites[i];
      const ms_snap_site *site = ms_snap_find_site(snap, l->id);
      if (site) ms_check_add(agg, site, l->growth_bytes, l->late_growth_bytes, l->steady);
    }
  }
  if (!snap->gpu.present) return;
  gpu->reports++;
  if (snap->gpu.tracked_growth_bytes > gpu->total) gpu->total = snap->gpu.tracked_growth_bytes; /* the worst process */
  if (snap->gpu.tracked_growth_bytes <= (int64_t)gpu_limit) return;
  gpu->checked++; /* processes over the limit */
  for (uint32_t i = 0; i < snap->nsites; i++) {
    const ms_snap_site *site = &snap->sites[i];
    if (site->device.present && site->device.growth_bytes > 0) ms_check_add(gpu, site, site->device.growth_bytes, 0, true);
  }
}

static int ms_check_read_dir(const char *dir, ms_check_agg *agg, ms_check_agg *gpu, uint64_t gpu_limit) {
  ms_cli_paths paths = {0};
  if (ms_cli_list_reports(dir, &paths) < 0) {
    ms_cli_paths_free(&paths);
    return -1;
  }
  for (int i = 0; i < paths.n; i++) {
    ms_cli_report r;
    char err[PATH_MAX + 512];
    if (ms_cli_report_load(paths.paths[i], &r, err, sizeof err) != 0) {
      fprintf(stderr, "memshim check: skipping unreadable report %s\n", err);
      continue;
    }
    ms_check_take(&r.snap, agg, gpu, gpu_limit);
    ms_cli_report_free(&r);
  }
  ms_cli_paths_free(&paths);
  return 0;
}

static int ms_check_site_cmp(const void *a, const void *b) {
  const ms_check_site *x = a, *y = b;
  if (x->steady != y->steady) return x->steady ? -1 : 1;
  return x->growth > y->growth ? -1 : x->growth < y->growth ? 1 : 0;
}

static void ms_check_free(ms_check_agg *agg) {
  for (size_t i = 0; i < agg->n; i++) {
    free(agg->v[i].key);
    free(agg->v[i].where);
    free(agg->v[i].callers);
  }
  free(agg->v);
}

static void ms_check_print_sites(ms_check_agg *agg) {
  qsort(agg->v, agg->n, sizeof *agg->v, ms_check_site_cmp);
  for (size_t k = 0; k < agg->n && k < MS_CHECK_TOP && agg->v[k].steady; k++) {
    char b[32];
    ms_fmt_bytes(b, sizeof b, (double)agg->v[k].growth);
    fprintf(stderr, "  +%-10s %s\n", b, agg->v[k].where);
    if (agg->v[k].callers && *agg->v[k].callers) fprintf(stderr, "              %s\n", agg->v[k].callers);
    if (agg->v[k].procs > 1) fprintf(stderr, "              (in %u processes)\n", agg->v[k].procs);
  }
}

/* --max-gpu-growth: gpu->total is the largest tracked growth of one process, gpu->checked the
 * processes over the limit, gpu->v their sites by device growth. */
static int ms_check_gpu_verdict(ms_check_agg *gpu, uint64_t limit, const char *dir, bool temp_dir) {
  char g[32], l[32];
  ms_fmt_bytes(g, sizeof g, (double)gpu->total);
  ms_fmt_bytes(l, sizeof l, (double)limit);
  if (!gpu->reports) {
    fprintf(stderr, "memshim check: GPU: no process used CUDA; pass\n");
    return MS_EXIT_OK;
  }
  if (!gpu->checked) {
    fprintf(stderr, "memshim check: GPU pass: tracked GPU memory grew by at most %s in one process (limit %s; %u "
                    "process%s used CUDA)\n", g, l, gpu->reports, gpu->reports == 1 ? "" : "es");
    return MS_EXIT_OK;
  }
  fprintf(stderr, "memshim check: GPU FAIL: tracked GPU memory grew by %s in one process (limit %s; %u of %u "
                  "process%s over it)\n", g, l, gpu->checked, gpu->reports, gpu->reports == 1 ? "" : "es");
  fprintf(stderr, "top call sites by device growth:\n");
  ms_check_print_sites(gpu);
  if (!temp_dir) fprintf(stderr, "reports: %s/memshim.<pid>.txt and .json\n", dir);
  return MS_EXIT_FAIL;
}

/* Remove the reports of a temporary directory, then the directory. */
static void ms_check_cleanup(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "memshim.", 8) != 0) continue;
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

int ms_cmd_check(int argc, char **argv) {
  const char *max_text = NULL, *gpu_text = NULL, *warm_text = NULL, *report_dir = NULL;
  int c;
  static const struct option longopts[] = {{"max-growth", required_argument, NULL, 'g'},
                                           {"max-gpu-growth", required_argument, NULL, 'G'},
                                           {"warmup", required_argument, NULL, 'w'},
                                           {"report", required_argument, NULL, 'r'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0, 0, 0, 0}};
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("check", argc, argv, "+:h", longopts)) != -1) {
    switch (c) {
      case 'g': max_text = optarg; break;
      case 'G': gpu_text = optarg; break;
      case 'w': warm_text = optarg; break;
      case 'r': report_dir = optarg; break;
      case 'h': fputs(ms_check_usage, stdout); return MS_EXIT_OK;
      default: return MS_EXIT_USAGE;
    }
  }
  int i = ms_cli_command_at("check", argc);
  if (i < 0) return MS_EXIT_USAGE;
  uint64_t limit = MS_CHECK_DEFAULT_LIMIT, gpu_limit = 0;
  const char *why = NULL;
  if (max_text && ms_parse_size(max_text, false, &limit, &why) != 0) {
    fprintf(stderr, "memshim check: --max-growth %s: %s\n", max_text, why);
    return MS_EXIT_USAGE;
  }
  if (gpu_text && ms_parse_size(gpu_text, false, &gpu_limit, &why) != 0) {
    fprintf(stderr, "memshim check: --max-gpu-growth %s: %s\n", gpu_text, why);
    return MS_EXIT_USAGE;
  }
  ms_check_progress prog;
  memset(&prog, 0, sizeof prog);
  prog.warm_fraction = 0.25;
  if (!warm_text) warm_text = getenv("MEMSHIM_LEAK_WARMUP");
  if (warm_text) {
    double f;
    uint64_t ms;
    int rc = ms_parse_fraction(warm_text, &f, &ms, &why);
    if (rc < 0) {
      fprintf(stderr, "memshim check: --warmup %s: %s\n", warm_text, why);
      return MS_EXIT_USAGE;
    }
    prog.warm_fraction = rc == 1 ? f : -1;
    prog.warm_s = (double)ms / 1000.0;
    setenv("MEMSHIM_LEAK_WARMUP", warm_text, 1);
  }
  char dir[PATH_MAX];
  bool temp_dir = !report_dir;
  if (report_dir) {
    if (ms_cli_mkdirs(report_dir) != 0) {
      fprintf(stderr, "memshim check: cannot create report directory '%s': %s\n", report_dir, strerror(errno));
      return MS_EXIT_FAIL;
    }
    snprintf(dir, sizeof dir, "%s", report_dir);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/memshim-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
      fprintf(stderr, "memshim check: cannot create a temporary directory: %s\n", strerror(errno));
      return MS_EXIT_FAIL;
    }
  }
  char prefix[PATH_MAX + 16];
  snprintf(prefix, sizeof prefix, "%s/memshim.%%p", dir);
  setenv("MEMSHIM_PROFILE", "1", 1);
  setenv("MEMSHIM_REPORT", "json,text", 1);
  setenv("MEMSHIM_REPORT_PATH", prefix, 1);
  setenv("MEMSHIM_SAMPLE_BYTES", MS_CHECK_SAMPLE_BYTES, 0);
  setenv("MEMSHIM_REPORT_INTERVAL", MS_CHECK_REPORT_INTERVAL, 0);
  unsetenv("MEMSHIM_LEAK_CHECK"); /* the verdict is ours; the library must not change statuses */
  if (ms_cli_use_library() != 0) return MS_EXIT_FAIL;
  prog.tty = isatty(2);
  clock_gettime(CLOCK_MONOTONIC, &prog.t0);
  int status = ms_cli_spawn_wait_tick(argv + i, ms_check_tick, &prog);
  if (prog.printed) fputs("\r\033[K", stderr);
  if (status != 0) {
    fprintf(stderr, "memshim check: the command failed (exit status %d): no leak verdict\n", status);
    if (temp_dir) ms_check_cleanup(dir);
    return status;
  }
  ms_check_agg agg, gpu;
  memset(&agg, 0, sizeof agg);
  memset(&gpu, 0, sizeof gpu);
  ms_check_read_dir(dir, &agg, &gpu, gpu_limit);
  int rc;
  char g[32], l[32];
  ms_fmt_bytes(g, sizeof g, (double)agg.total);
  ms_fmt_bytes(l, sizeof l, (double)limit);
  if (!agg.reports) {
    fprintf(stderr, "memshim check: no report was written in %s: was the command run under the library "
                    "(a static or setuid program is not)?\n", dir);
    rc = MS_EXIT_FAIL;
  } else if (!agg.checked) {
    fprintf(stderr, "memshim check: the run was too short for a verdict (fewer than two snapshots after "
                    "the warm-up); pass\n");
    rc = MS_EXIT_OK;
  } else if (agg.total > (int64_t)limit) {
    fprintf(stderr, "memshim check: FAIL: live heap grew by %s after warm-up (limit %s; %u process%s)\n", g, l,
            agg.checked, agg.checked == 1 ? "" : "es");
    fprintf(stderr, "top growing call sites:\n");
    ms_check_print_sites(&agg);
    if (!temp_dir) fprintf(stderr, "reports: %s/memshim.<pid>.txt and .json\n", dir);
    else fprintf(stderr, "(use --report DIR to keep the full reports)\n");
    rc = MS_EXIT_FAIL;
  } else {
    fprintf(stderr, "memshim check: pass: steady growth %s after warm-up (limit %s; %u process%s)\n", g, l,
            agg.checked, agg.checked == 1 ? "" : "es");
    rc = MS_EXIT_OK;
  }
  if (gpu_text && ms_check_gpu_verdict(&gpu, gpu_limit, dir, temp_dir) != MS_EXIT_OK) rc = MS_EXIT_FAIL;
  ms_check_free(&agg);
  ms_check_free(&gpu);
  if (temp_dir) ms_check_cleanup(dir);
  return rc;
}
