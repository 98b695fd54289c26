/* memshim check: the leak gate. Runs a command under the library with profiling on, then reads
 * every process's JSON report (forked workers write their own, pid in the name) and judges it.
 * The verdict is a list of judgements, each judged-pass, judged-fail or not judged with a
 * one-line reason: heap growth (the steady growth of live bytes per call site after the warm-up,
 * summed over processes; or, with --baseline, each site's growth against a saved run's), GPU
 * growth with --max-gpu-growth. Exit 1 when one fails, 0 when at least one was judged and none
 * failed, 4 when nothing could be judged, or the command's own status when it failed. The growth
 * method is the library's (src/profile/leak.h); the library gets the same limit, so the kept
 * reports say the same verdict. */
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

#include <jansson.h>

#include "../config/options.h"
#include "../report/write.h"
#include "check.h"
#include "cli.h"
#include "oom.h"
#include "load.h"

/* Finer than the library's default: a gate wants small leaks seen; the cost is a CI run's. */
#define MS_CHECK_SAMPLE_BYTES "64K"
#define MS_CHECK_DEFAULT_LIMIT (1ull << 20)
/* Periodic reports, so workers that end with _exit (Python multiprocessing) still leave one. */
#define MS_CHECK_REPORT_INTERVAL "2s"
#define MS_CHECK_TOP 5

static const char ms_check_usage[] =
  "usage: memshim check [--max-growth SIZE] [--max-unreachable SIZE] [--max-gpu-growth SIZE]\n"
  "                     [--warmup FRACTION|DURATION]\n"
  "                     [--report DIR] [--save FILE] [--baseline FILE] [--json] [--] cmd args...\n"
  "  Runs cmd under libmemshim.so with profiling on and fails when live heap bytes keep growing\n"
  "  after the warm-up. Growth is measured per call site on periodic snapshots; a site counts\n"
  "  only when it still grows in the last quarter of the run (a cache that fills and then stays\n"
  "  flat does not). Forked children are profiled too and their growth is added up.\n"
  "  At exit, every process but Python interpreters and shells is also scanned for heap blocks\n"
  "  no pointer reaches any more (LeakSanitizer's definition; exact mode in those processes):\n"
  "  MEMSHIM_LEAK_SCAN=native unless that variable is set (on: Python too; off: no scan).\n"
  "  --max-growth SIZE  allowed steady growth after warm-up, summed over processes (default 1M);\n"
  "                     with --baseline, allowed growth of one site beyond its baseline\n"
  "  --max-unreachable SIZE  allowed bytes unreachable at exit, direct and indirect, summed over\n"
  "                     processes (default 0: any leaked block fails, a 0-byte one too)\n"
  "  --warmup F|D       ignore the first fraction of each process's run (0.25) or a duration (30s)\n"
  "                     (default: MEMSHIM_LEAK_WARMUP, 0.25)\n"
  "  --max-gpu-growth SIZE  fail when the tracked GPU bytes of any process grew by more than SIZE\n"
  "                     (gpu.tracked_growth_bytes of its report; only processes that used CUDA)\n"
  "  --report DIR       keep the per-process reports (memshim.<pid>.json/.txt) in DIR\n"
  "  --save FILE        write this run's growth and live bytes at exit per call site (JSON, sites\n"
  "                     named by symbols, never addresses) for a later --baseline\n"
  "  --baseline FILE    judge growth against a --save file: fail on a site whose growth exceeds\n"
  "                     its baseline growth by more than --max-growth (instead of the total)\n"
  "  --json             print the verdict as one JSON object on stdout (judgements, figures,\n"
  "                     top sites)\n"
  "  Profiling uses MEMSHIM_SAMPLE_BYTES=" MS_CHECK_SAMPLE_BYTES " unless that variable is set.\n"
  "  Each judgement says PASS, FAIL or NOT JUDGED (and why); GPU growth is judged only with\n"
  "  --max-gpu-growth and only when a process used CUDA.\n"
  "  Exit status: 0 pass (something was judged, nothing failed), 1 a judgement failed (top\n"
  "  growing call sites printed), 4 no verdict (nothing could be judged: no report, or no process\n"
  "  ran long enough for two snapshots after its warm-up, and none was scanned at exit), the command's own status when it fails\n"
  "  (128+N when killed by signal N), 2 bad arguments. A command killed by the kernel's OOM\n"
  "  killer (SIGKILL while its memory cgroup's oom_kill count rose) fails (1), in one line naming\n"
  "  it, its last pressure report and its top growing call site; the reports are kept.\n";

static const char *const ms_judgement_words[] = {"PASS", "FAIL", "NOT JUDGED"};
static const char *const ms_judgement_json[] = {"pass", "fail", "not judged"};

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
    fprintf(stderr, "\rmemshim check: %.0f s, RSS %s, RSS %s%s since warm-up (not the gate's figure)   ", t, r,
            (double)rss >= (double)base ? "+" : "", g);
  } else {
    fprintf(stderr, "\rmemshim check: %.0f s, RSS %s, warming up   ", t, r);
  }
  p->printed = true;
}

/* ---- reading the reports ---- */

/* The same stack in every process and in every run: native frames by module basename and
 * function ("libfoo.so!bar"; never an offset, which moves with every build), Python ones by
 * file:line function. */
static char *ms_site_key(const ms_snap_site *site) {
  char *key = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&key, &len);
  if (!f) return NULL;
  for (uint32_t i = 0; i < site->nframes; i++) {
    const ms_snap_frame *fr = &site->frames[i];
    if (fr->kind == MS_SNAP_NATIVE) {
      const char *slash = fr->module ? strrchr(fr->module, '/') : NULL;
      fprintf(f, "%s!%s;", slash ? slash + 1 : fr->module ? fr->module : "?", fr->function ? fr->function : "??");
    } else {
      char part[1024];
      ms_frame_label(fr, part, sizeof part);
      fprintf(f, "%s;", part);
    }
  }
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    free(key);
    return NULL;
  }
  return key;
}

static ms_check_site *ms_check_find(const ms_check_agg *agg, const char *key) {
  for (size_t i = 0; i < agg->n; i++)
    if (!strcmp(agg->v[i].key, key)) return &agg->v[i];
  return NULL;
}

/* A site of one process: its steady growth (0 when not steady) and live bytes are added to the
 * same stack's of other processes. */
static void ms_check_add(ms_check_agg *agg, const ms_snap_site *site, int64_t growth, int64_t live, bool steady) {
  char *key = ms_site_key(site);
  if (!key) return;
  ms_check_site *s = ms_check_find(agg, key);
  if (s) {
    free(key);
  } else {
    if (agg->n == agg->cap) {
      size_t cap = agg->cap ? agg->cap * 2 : 32;
      ms_check_site *v = realloc(agg->v, cap * sizeof *v);
      if (!v) { free(key); return; }
      agg->v = v;
      agg->cap = cap;
    }
    s = &agg->v[agg->n++];
    memset(s, 0, sizeof *s);
    s->key = key;
    /* Named as the reports name it (ms_site_where: the Python line in the user's code, else the
     * first frame that is not allocator plumbing); then up to three callers of that frame. */
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
  if (steady) s->growth += growth;
  s->steady |= steady;
  s->live += live;
  if (!s->procs || s->last_report != agg->reports) s->procs++;
  s->last_report = agg->reports;
}

static const ms_snap_leak_site *ms_leak_entry(const ms_snapshot *snap, uint32_t id) {
  for (unsigned i = 0; i < snap->leak.nsites; i++)
    if (snap->leak.sites[i].id == id) return &snap->leak.sites[i];
  return NULL;
}

/* One process's report: growth and live bytes per site, and its GPU growth. */
/* One process's unreachable blocks at exit, by site (direct + indirect bytes). unr->reports:
 * processes that asked for the scan; unr->checked: those whose scan gave a verdict. */
void ms_check_take_unreach(const ms_snapshot *snap, ms_check_agg *unr) {
  const ms_snap_unreach *u = &snap->unreachable;
  if (!u->present) return;
  unr->reports++;
  if (!u->scanned) return;
  unr->checked++;
  unr->total += (int64_t)(u->lost.direct_bytes + u->lost.indirect_bytes);
  unr->blocks += u->lost.direct_count + u->lost.indirect_count;
  for (unsigned k = 0; k < u->nsites; k++) {
    const ms_snap_site *site = ms_snap_find_site(snap, u->sites[k].id);
    const ms_snap_lost *l = &u->sites[k].lost;
    if (site) ms_check_add(unr, site, (int64_t)(l->direct_bytes + l->indirect_bytes), 0, true);
  }
}

void ms_check_take(const ms_snapshot *snap, ms_check_agg *agg, ms_check_agg *gpu, uint64_t gpu_limit) {
  agg->reports++;
  if (snap->leak.checked) {
    agg->checked++;
    agg->total += snap->leak.growth_bytes;
  }
  for (uint32_t i = 0; i < snap->nsites; i++) {
    const ms_snap_site *site = &snap->sites[i];
    const ms_snap_leak_site *l = snap->leak.checked ? ms_leak_entry(snap, site->id) : NULL;
    if (l || site->heap.live_bytes)
      ms_check_add(agg, site, l ? l->growth_bytes : 0, site->heap.live_bytes, l && l->steady);
  }
  if (!snap->gpu.present) return;
  gpu->reports++;
  if (snap->gpu.tracked_growth_bytes > gpu->total) gpu->total = snap->gpu.tracked_growth_bytes; /* the worst process */
  if (!ms_over_limit(snap->gpu.tracked_growth_bytes, gpu_limit)) return;
  gpu->checked++; /* processes over the limit */
  for (uint32_t i = 0; i < snap->nsites; i++) {
    const ms_snap_site *site = &snap->sites[i];
    if (site->device.present && site->device.growth_bytes > 0) ms_check_add(gpu, site, site->device.growth_bytes, 0, true);
  }
}

static int ms_check_read_dir(const char *dir, ms_check_agg *agg, ms_check_agg *gpu, ms_check_agg *unr,
                             uint64_t gpu_limit) {
  ms_cli_paths paths = {0};
  if (ms_cli_list_reports(dir, "memshim.", &paths) < 0) {
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
    ms_check_take_unreach(&r.snap, unr);
    ms_cli_report_free(&r);
  }
  ms_cli_paths_free(&paths);
  return 0;
}

int ms_check_site_cmp(const void *a, const void *b) {
  const ms_check_site *x = a, *y = b;
  if (x->steady != y->steady) return x->steady ? -1 : 1;
  return x->growth > y->growth ? -1 : x->growth < y->growth ? 1 : 0;
}

void ms_check_free(ms_check_agg *agg) {
  for (size_t i = 0; i < agg->n; i++) {
    free(agg->v[i].key);
    free(agg->v[i].where);
    free(agg->v[i].callers);
  }
  free(agg->v);
}

static void ms_check_print_sites(ms_check_agg *agg, const char *title) {
  qsort(agg->v, agg->n, sizeof *agg->v, ms_check_site_cmp);
  if (!agg->n || !agg->v[0].steady) return;
  fprintf(stderr, "%s\n", title);
  for (size_t k = 0; k < agg->n && k < MS_CHECK_TOP && agg->v[k].steady; k++) {
    char b[32];
    ms_fmt_bytes(b, sizeof b, (double)agg->v[k].growth);
    fprintf(stderr, "  +%-10s %s\n", b, agg->v[k].where);
    if (agg->v[k].callers && *agg->v[k].callers) fprintf(stderr, "              %s\n", agg->v[k].callers);
    if (agg->v[k].procs > 1) fprintf(stderr, "              (in %u processes)\n", agg->v[k].procs);
  }
}

static const char *ms_plural(unsigned n) { return n == 1 ? "" : "es"; }

/* A judgement's name, and its figure and limit as its reason prints them (g, l: 32 bytes). */
static void ms_judgement_start(ms_judgement *j, const char *name, int64_t figure, uint64_t limit, char *g, char *l) {
  j->name = name;
  ms_fmt_bytes(g, 32, (double)figure);
  ms_fmt_bytes(l, 32, (double)limit);
}

/* Heap growth summed over processes against the limit. */
void ms_judge_growth(const ms_check_agg *agg, uint64_t limit, const char *dir, ms_judgement *j) {
  char g[32], l[32];
  ms_judgement_start(j, "growth", agg->total, limit, g, l);
  if (!agg->reports) {
    j->state = MS_NOT_JUDGED;
    snprintf(j->reason, sizeof j->reason, "no report was written in %s: was the command run under the library (a "
             "static or setuid program is not)?", dir);
  } else if (!agg->checked) {
    j->state = MS_NOT_JUDGED;
    snprintf(j->reason, sizeof j->reason, "the run was too short: no process had two snapshots after its warm-up "
             "(%u report%s)", agg->reports, agg->reports == 1 ? "" : "s");
  } else {
    j->state = ms_over_limit(agg->total, limit) ? MS_JUDGED_FAIL : MS_JUDGED_PASS;
    snprintf(j->reason, sizeof j->reason, "live heap grew steadily by %s after warm-up (limit %s; %u process%s)", g, l,
             agg->checked, ms_plural(agg->checked));
  }
}

/* Heap blocks no pointer reaches at exit, summed over the processes that were scanned. */
void ms_judge_unreach(const ms_check_agg *unr, uint64_t limit, ms_judgement *j) {
  char u[32], l[32];
  ms_fmt_bytes(u, sizeof u, (double)unr->total);
  ms_fmt_bytes(l, sizeof l, (double)limit);
  j->name = "unreachable at exit";
  if (!unr->checked) {
    j->state = MS_NOT_JUDGED;
    snprintf(j->reason, sizeof j->reason, "%s", unr->reports ? "no scan gave a verdict (the reports say why)"
                                                              : "no process was scanned (Python interpreters and shells "
                                                                "are judged on growth)");
    return;
  }
  /* limit 0: any leaked block fails, a malloc(0) one too */
  bool over = ms_over_limit(unr->total, limit) || (!limit && unr->blocks);
  j->state = over ? MS_JUDGED_FAIL : MS_JUDGED_PASS;
  snprintf(j->reason, sizeof j->reason, "%s in %llu block%s no pointer reaches (limit %s; %u process%s scanned)", u,
           (unsigned long long)unr->blocks, unr->blocks == 1 ? "" : "s", l, unr->checked, ms_plural(unr->checked));
}

/* --max-gpu-growth: gpu->total is the largest tracked growth of one process, gpu->checked the
 * processes over the limit, gpu->v their sites by device growth. */
void ms_judge_gpu(const ms_check_agg *gpu, uint64_t limit, ms_judgement *j) {
  char g[32], l[32];
  ms_judgement_start(j, "GPU growth", gpu->total, limit, g, l);
  if (!gpu->reports) {
    j->state = MS_NOT_JUDGED;
    snprintf(j->reason, sizeof j->reason, "no process used CUDA");
  } else if (!gpu->checked) {
    j->state = MS_JUDGED_PASS;
    snprintf(j->reason, sizeof j->reason, "tracked GPU memory grew by at most %s in one process (limit %s; %u "
             "process%s used CUDA)", g, l, gpu->reports, ms_plural(gpu->reports));
  } else {
    j->state = MS_JUDGED_FAIL;
    snprintf(j->reason, sizeof j->reason, "tracked GPU memory grew by %s in one process (limit %s; %u of %u "
             "process%s over it)", g, l, gpu->checked, gpu->reports, ms_plural(gpu->reports));
  }
}

/* ---- --save and --baseline ---- */

/* {"format": "memshim-baseline", "version": 1, "sites": [{"key", "where", "growth_bytes",
 * "live_bytes"}]}: sites by symbols only, so a later build and another address layout match. */
static int ms_check_save(const ms_check_agg *agg, const char *path) {
  json_t *sites = json_array();
  for (size_t i = 0; i < agg->n; i++) {
    const ms_check_site *s = &agg->v[i];
    json_array_append_new(sites, json_pack("{s:s, s:s, s:I, s:I}", "key", s->key, "where", s->where, "growth_bytes",
                                           (json_int_t)s->growth, "live_bytes", (json_int_t)s->live));
  }
  json_t *doc = json_pack("{s:s, s:i, s:o}", "format", "memshim-baseline", "version", 1, "sites", sites);
  int rc = doc ? json_dump_file(doc, path, JSON_INDENT(1)) : -1;
  json_decref(doc);
  if (rc != 0) fprintf(stderr, "memshim check: --save %s: cannot write: %s\n", path, strerror(errno));
  return rc;
}

json_t *ms_check_load_baseline(const char *path) {
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je);
  if (!doc) {
    fprintf(stderr, "memshim check: --baseline %s: %s\n", path, je.text);
    return NULL;
  }
  const json_t *fmt = json_object_get(doc, "format");
  if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "memshim-baseline") != 0 ||
      !json_is_array(json_object_get(doc, "sites"))) {
    fprintf(stderr, "memshim check: --baseline %s: not a 'memshim check --save' file\n", path);
    json_decref(doc);
    return NULL;
  }
  return doc;
}

static int64_t ms_baseline_growth(const json_t *base, const char *key) {
  size_t i;
  const json_t *site;
  json_array_foreach(json_object_get(base, "sites"), i, site) {
    const json_t *k = json_object_get(site, "key");
    if (json_is_string(k) && !strcmp(json_string_value(k), key)) return json_integer_value(json_object_get(site, "growth_bytes"));
  }
  return 0;
}

/* Growth per site against the baseline's: a site (new ones count from 0) whose growth exceeds its
 * baseline growth by more than the limit fails, named; agg->v's growth becomes the excess. */
void ms_judge_baseline(ms_check_agg *agg, const json_t *base, uint64_t limit, const char *path,
                              ms_judgement *j) {
  j->name = "growth against baseline";
  int64_t worst = 0;
  const ms_check_site *worst_site = NULL;
  unsigned over = 0;
  for (size_t i = 0; i < agg->n; i++) {
    ms_check_site *s = &agg->v[i];
    int64_t excess = s->growth - ms_baseline_growth(base, s->key);
    s->growth = excess > 0 ? excess : 0;
    s->steady = s->steady && ms_over_limit(excess, limit);
    over += s->steady;
    if (excess > worst) { worst = excess; worst_site = s; }
  }
  char w[32], l[32];
  ms_fmt_bytes(w, sizeof w, (double)worst);
  ms_fmt_bytes(l, sizeof l, (double)limit);
  j->state = over ? MS_JUDGED_FAIL : MS_JUDGED_PASS;
  if (worst_site)
    snprintf(j->reason, sizeof j->reason, "%u site%s grew more than %s beyond %s; most: +%s at %s", over,
             over == 1 ? "" : "s", l, path, w, worst_site->where);
  else
    snprintf(j->reason, sizeof j->reason, "no site grew beyond its growth in %s (limit %s per site)", path, l);
}

/* ---- the verdict ---- */

/* Fail when one failed; pass when at least one was judged and none failed; else no verdict. */
int ms_verdict_status(const ms_judgement *j, unsigned n) {
  bool judged = false;
  for (unsigned i = 0; i < n; i++) {
    if (j[i].state == MS_JUDGED_FAIL) return MS_EXIT_FAIL;
    judged |= j[i].state == MS_JUDGED_PASS;
  }
  return judged ? MS_EXIT_OK : MS_EXIT_NO_VERDICT;
}

static void ms_verdict_print(const ms_judgement *j, unsigned n, int rc) {
  for (unsigned i = 0; i < n; i++)
    fprintf(stderr, "memshim check: %s: %s: %s\n", j[i].name, ms_judgement_words[j[i].state], j[i].reason);
  if (rc == MS_EXIT_OK) fprintf(stderr, "memshim check: PASS\n");
  else if (rc == MS_EXIT_FAIL) fprintf(stderr, "memshim check: FAIL\n");
  else fprintf(stderr, "memshim check: NO VERDICT: nothing could be judged (exit %d); %s\n", rc, j[0].reason);
}

/* --json: {"verdict", "exit_status", "limit_bytes", "growth_bytes", "processes", "judgements":
 * [{"name", "state", "reason"}], "sites": [{"name", "callers", "growth_bytes", "live_bytes",
 * "processes"}]} on stdout, the top steady sites only. */
static void ms_verdict_json(const ms_judgement *j, unsigned n, int rc, const ms_check_agg *agg, uint64_t limit) {
  json_t *judgements = json_array(), *sites = json_array();
  for (unsigned i = 0; i < n; i++)
    json_array_append_new(judgements, json_pack("{s:s, s:s, s:s}", "name", j[i].name, "state",
                                                ms_judgement_json[j[i].state], "reason", j[i].reason));
  for (size_t k = 0; k < agg->n && k < MS_CHECK_TOP && agg->v[k].steady; k++) {
    const ms_check_site *s = &agg->v[k];
    json_array_append_new(sites, json_pack("{s:s, s:s, s:I, s:I, s:i}", "name", s->where, "callers", s->callers,
                                           "growth_bytes", (json_int_t)s->growth, "live_bytes",
                                           (json_int_t)s->live, "processes", (int)s->procs));
  }
  json_t *doc = json_pack("{s:s, s:i, s:I, s:I, s:{s:i, s:i}, s:o, s:o}", "verdict",
                          rc == MS_EXIT_OK ? "pass" : rc == MS_EXIT_FAIL ? "fail" : "no verdict", "exit_status", rc,
                          "limit_bytes", (json_int_t)limit, "growth_bytes", (json_int_t)agg->total, "processes",
                          "reports", (int)agg->reports, "judged", (int)agg->checked, "judgements", judgements,
                          "sites", sites);
  if (doc) json_dumpf(doc, stdout, JSON_COMPACT);
  fputc('\n', stdout);
  json_decref(doc);
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
  const char *save_path = NULL, *base_path = NULL, *unreach_text = NULL;
  bool json_out = false;
  int c;
  static const struct option longopts[] = {{"max-growth", required_argument, NULL, 'g'},
                                           {"max-gpu-growth", required_argument, NULL, 'G'},
                                           {"max-unreachable", required_argument, NULL, 'u'},
                                           {"warmup", required_argument, NULL, 'w'},
                                           {"report", required_argument, NULL, 'r'},
                                           {"save", required_argument, NULL, 's'},
                                           {"baseline", required_argument, NULL, 'b'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0, 0, 0, 0}};
  ms_cli_begin_args();
  while ((c = ms_cli_getopt("check", argc, argv, "+:h", longopts)) != -1) {
    switch (c) {
      case 'g': max_text = optarg; break;
      case 'G': gpu_text = optarg; break;
      case 'u': unreach_text = optarg; break;
      case 'w': warm_text = optarg; break;
      case 'r': report_dir = optarg; break;
      case 's': save_path = optarg; break;
      case 'b': base_path = optarg; break;
      case 'j': json_out = true; break;
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
  uint64_t unreach_limit = 0;
  if (unreach_text && ms_parse_size(unreach_text, false, &unreach_limit, &why) != 0) {
    fprintf(stderr, "memshim check: --max-unreachable %s: %s\n", unreach_text, why);
    return MS_EXIT_USAGE;
  }
  if (gpu_text && ms_parse_size(gpu_text, false, &gpu_limit, &why) != 0) {
    fprintf(stderr, "memshim check: --max-gpu-growth %s: %s\n", gpu_text, why);
    return MS_EXIT_USAGE;
  }
  json_t *base = NULL;
  if (base_path && !(base = ms_check_load_baseline(base_path))) return MS_EXIT_USAGE;
  ms_check_progress prog;
  memset(&prog, 0, sizeof prog);
  prog.warm_fraction = 0.25;
  if (!warm_text) warm_text = getenv(ms_option_env(MS_OPT_LEAK_WARMUP));
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
    ms_option_setenv(MS_OPT_LEAK_WARMUP, warm_text, 1);
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
  ms_option_setenv(MS_OPT_PROFILE, "1", 1);
  ms_option_setenv(MS_OPT_REPORT, "json,text", 1);
  ms_option_setenv(MS_OPT_REPORT_PATH, prefix, 1);
  ms_option_setenv(MS_OPT_SAMPLE_BYTES, MS_CHECK_SAMPLE_BYTES, 0);
  ms_option_setenv(MS_OPT_REPORT_INTERVAL, MS_CHECK_REPORT_INTERVAL, 0);
  ms_option_setenv(MS_OPT_LEAK_SCAN, "native", 0);
  /* The library judges each process with the same limit, so that the kept reports state the
   * verdict the gate gives; the exit status stays ours. */
  char limit_text[32];
  snprintf(limit_text, sizeof limit_text, "%llu", (unsigned long long)limit);
  ms_option_setenv(MS_OPT_LEAK_CHECK, limit_text, 1);
  ms_option_setenv(MS_OPT_LEAK_CHECK_EXIT, "0", 1);
  if (ms_cli_use_library() != 0) {
    json_decref(base);
    return MS_EXIT_FAIL;
  }
  prog.tty = isatty(2);
  clock_gettime(CLOCK_MONOTONIC, &prog.t0);
  ms_cli_oom oom;
  ms_cli_oom_begin(&oom);
  int status = ms_cli_spawn_wait_tick(argv + i, ms_check_tick, &prog);
  if (prog.printed) fputs("\r\033[K", stderr);
  char oom_line[4096];
  if (ms_cli_oom_explain(&oom, argv[i], status, ms_cli_last_pid, oom_line, sizeof oom_line)) {
    /* The verdict: the reports are kept whatever --report says (the pressure report is the
     * only account of what grew). */
    fprintf(stderr, "memshim check: FAIL: %s\n", oom_line);
    if (json_out) {
      json_t *doc = json_pack("{s:s, s:i, s:{s:s, s:s}}", "verdict", "fail", "exit_status", MS_EXIT_FAIL,
                              "oom_kill", "process", argv[i], "line", oom_line);
      if (doc) json_dumpf(doc, stdout, JSON_INDENT(1));
      fputc('\n', stdout);
      json_decref(doc);
    }
    if (temp_dir) fprintf(stderr, "reports kept in %s\n", dir);
    json_decref(base);
    return MS_EXIT_FAIL;
  }
  if (status != 0) {
    fprintf(stderr, "memshim check: the command failed (exit status %d): no leak verdict\n", status);
    if (temp_dir) ms_check_cleanup(dir);
    json_decref(base);
    return status;
  }
  ms_check_agg agg, gpu, unr;
  memset(&agg, 0, sizeof agg);
  memset(&gpu, 0, sizeof gpu);
  memset(&unr, 0, sizeof unr);
  ms_check_read_dir(dir, &agg, &gpu, &unr, gpu_limit);
  int rc = MS_EXIT_OK;
  if (save_path && ms_check_save(&agg, save_path) != 0) rc = MS_EXIT_FAIL;
  ms_judgement j[4];
  unsigned nj = 0;
  memset(j, 0, sizeof j);
  ms_judge_growth(&agg, limit, dir, &j[nj]);
  if (base && j[nj].state != MS_NOT_JUDGED) ms_judge_baseline(&agg, base, limit, base_path, &j[nj]);
  nj++;
  ms_judge_unreach(&unr, unreach_limit, &j[nj++]);
  unsigned gpu_j = nj;
  if (gpu_text) ms_judge_gpu(&gpu, gpu_limit, &j[nj++]);
  int verdict = ms_verdict_status(j, nj);
  if (rc == MS_EXIT_OK) rc = verdict;
  qsort(agg.v, agg.n, sizeof *agg.v, ms_check_site_cmp);
  ms_verdict_print(j, nj, verdict);
  if (j[0].state == MS_JUDGED_FAIL) ms_check_print_sites(&agg, "top growing call sites:");
  if (j[1].state == MS_JUDGED_FAIL) ms_check_print_sites(&unr, "unreachable at exit, by call site (direct + indirect):");
  if (gpu_text && j[gpu_j].state == MS_JUDGED_FAIL) ms_check_print_sites(&gpu, "top call sites by device growth:");
  if (verdict == MS_EXIT_FAIL) {
    if (!temp_dir) fprintf(stderr, "reports: %s/memshim.<pid>.txt and .json\n", dir);
    else fprintf(stderr, "(use --report DIR to keep the full reports)\n");
  }
  if (json_out) ms_verdict_json(j, nj, verdict, &agg, limit);
  ms_check_free(&agg);
  ms_check_free(&gpu);
  ms_check_free(&unr);
  json_decref(base);
  if (temp_dir) ms_check_cleanup(dir);
  return rc;
}
