/* memshim report: the text and collapsed-stack renderings. */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static unsigned ms_limit(size_t n, unsigned top) { return top && top < n ? top : (unsigned)n; }

static const ms_json *ms_growth_sites; /* for the qsort comparator */
static int64_t ms_site_growth(const ms_json *site) {
  return ms_json_i64(ms_json_get(ms_report_site_heap(site), "growth_bytes"), 0);
}
static int ms_growth_cmp(const void *a, const void *b) {
  int64_t ga = ms_site_growth(ms_json_index(ms_growth_sites, *(const size_t *)a));
  int64_t gb = ms_site_growth(ms_json_index(ms_growth_sites, *(const size_t *)b));
  return ga < gb ? 1 : ga > gb ? -1 : 0;
}

/* The sites that grew since the warm-up, largest growth first, with their innermost frames. */
static void ms_report_text_growth(FILE *out, const ms_json *sites, unsigned top) {
  size_t n = ms_json_count(sites), ngrew = 0;
  size_t *order = malloc((n ? n : 1) * sizeof *order);
  if (!order) return;
  for (size_t i = 0; i < n; i++)
    if (ms_site_growth(ms_json_index(sites, i)) > 0) order[ngrew++] = i;
  ms_growth_sites = sites;
  qsort(order, ngrew, sizeof *order, ms_growth_cmp);
  unsigned shown = ms_limit(ngrew, top);
  fprintf(out, "\ntop %u of %zu call sites by growth since the warm-up:\n", shown, ngrew);
  for (unsigned i = 0; i < shown; i++) {
    const ms_json *site = ms_json_index(sites, order[i]);
    char g[32], name[512];
    ms_report_fmt_bytes(g, sizeof g, (double)ms_site_growth(site));
    fprintf(out, "+%s  site %lld:", g, (long long)ms_json_i64(ms_json_get(site, "id"), -1));
    const ms_json *frames = ms_json_get(site, "frames");
    for (size_t f = 0; f < ms_json_count(frames) && f < 4; f++) {
      ms_report_frame_name(ms_json_index(frames, f), name, sizeof name);
      fprintf(out, "%s%s", f ? " <- " : " ", name);
    }
    fprintf(out, "%s\n", ms_json_count(frames) > 4 ? " <- ..." : "");
  }
  free(order);
}

int ms_report_text(FILE *out, const ms_json *doc, unsigned top) {
  const ms_json *proc = ms_json_get(doc, "process");
  const ms_json *totals = ms_json_path(doc, "profile.totals.heap");
  char live[32], peak[32], alloc[32];
  fprintf(out, "memshim report: %s (pid %lld), %s report at %.1f s, backend %s\n",
          ms_json_string(ms_json_get(proc, "command"), "?"), (long long)ms_json_i64(ms_json_get(proc, "pid"), 0),
          ms_json_string(ms_json_get(doc, "reason"), "?"),
          (double)ms_json_u64(ms_json_get(doc, "time_ms"), 0) / 1000.0,
          ms_json_string(ms_json_get(proc, "backend"), "?"));
  ms_report_fmt_bytes(live, sizeof live, (double)ms_json_u64(ms_json_get(totals, "live_bytes"), 0));
  ms_report_fmt_bytes(peak, sizeof peak, (double)ms_json_u64(ms_json_get(totals, "peak_live_bytes"), 0));
  ms_report_fmt_bytes(alloc, sizeof alloc, (double)ms_json_u64(ms_json_get(totals, "allocated_bytes"), 0));
  fprintf(out, "heap: %s live in %llu allocations (peak %s); %s allocated in total\n", live,
          (unsigned long long)ms_json_u64(ms_json_get(totals, "live_count"), 0), peak, alloc);
  const ms_json *profile = ms_json_get(doc, "profile");
  if (!ms_json_u64(ms_json_get(profile, "sample_bytes"), 0)) fprintf(out, "no profile in this report\n");
  else if (ms_json_bool(ms_json_get(profile, "exact"), false)) fprintf(out, "exact: every allocation recorded\n");
  else fprintf(out, "sampled: one sample per %llu bytes on average; per-site figures are estimates\n",
               (unsigned long long)ms_json_u64(ms_json_get(profile, "sample_bytes"), 0));

  const ms_json *sites = ms_json_get(doc, "sites");
  unsigned n = ms_limit(ms_json_count(sites), top);
  fprintf(out, "\ntop %u of %zu call sites by live bytes:\n", n, ms_json_count(sites));
  for (unsigned i = 0; i < n; i++) {
    const ms_json *site = ms_json_index(sites, i);
    const ms_json *heap = ms_report_site_heap(site);
    char growth[32];
    ms_report_fmt_bytes(live, sizeof live, (double)ms_json_u64(ms_json_get(heap, "live_bytes"), 0));
    ms_report_fmt_bytes(alloc, sizeof alloc, (double)ms_json_u64(ms_json_get(heap, "allocated_bytes"), 0));
    ms_report_fmt_bytes(growth, sizeof growth, (double)ms_json_i64(ms_json_get(heap, "growth_bytes"), 0));
    fprintf(out, "#%u  %s live in %llu allocations  (allocated %s, growth %s)  site %lld\n", i + 1, live,
            (unsigned long long)ms_json_u64(ms_json_get(heap, "live_count"), 0), alloc, growth,
            (long long)ms_json_i64(ms_json_get(site, "id"), -1));
    const ms_json *frames = ms_json_get(site, "frames");
    for (size_t f = 0; f < ms_json_count(frames); f++) {
      const ms_json *fr = ms_json_index(frames, f);
      const char *fn = ms_json_string(ms_json_get(fr, "function"), "??");
      const char *module = ms_json_string(ms_json_get(fr, "module"), NULL);
      const char *file = ms_json_string(ms_json_get(fr, "file"), NULL); /* python frames, later */
      if (module) fprintf(out, "      %s  (%s+%s)\n", fn, module, ms_json_string(ms_json_get(fr, "offset"), "?"));
      else if (file) fprintf(out, "      %s  (%s:%lld)\n", fn, file, (long long)ms_json_i64(ms_json_get(fr, "line"), 0));
      else fprintf(out, "      %s\n", fn);
    }
  }

  ms_report_text_growth(out, sites, top);

  const ms_json *leak = ms_json_get(doc, "leak");
  if (ms_json_bool(ms_json_get(leak, "checked"), false)) {
    char g[32], lim[32] = "none";
    ms_report_fmt_bytes(g, sizeof g, (double)ms_json_i64(ms_json_get(leak, "growth_bytes"), 0));
    const ms_json *limit = ms_json_get(leak, "limit_bytes");
    if (limit && limit->type == MS_JSON_NUMBER) ms_report_fmt_bytes(lim, sizeof lim, (double)ms_json_u64(limit, 0));
    fprintf(out, "\nleak check: %s (steady growth %s after warm-up at %.1f s, limit %s)\n",
            ms_json_string(ms_json_get(leak, "verdict"), "none"), g,
            (double)ms_json_u64(ms_json_get(leak, "warmup_ms"), 0) / 1000.0, lim);
  } else {
    fprintf(out, "\nleak check: not computed\n");
  }
  return ferror(out) ? -1 : 0;
}

/* flamegraph.pl splits frames on ';' and the count on the last space: keep ';' out of names. */
static void ms_put_frame(FILE *out, const ms_json *frame) {
  char name[512];
  ms_report_frame_name(frame, name, sizeof name);
  for (char *c = name; *c; c++)
    if (*c == ';' || *c == '\n') *c = ':';
  fputs(name, out);
}

int ms_report_collapsed(FILE *out, const ms_json *doc, unsigned top) {
  const ms_json *sites = ms_json_get(doc, "sites");
  unsigned n = ms_limit(ms_json_count(sites), top);
  for (unsigned i = 0; i < n; i++) {
    const ms_json *site = ms_json_index(sites, i);
    uint64_t live = ms_json_u64(ms_json_get(ms_report_site_heap(site), "live_bytes"), 0);
    const ms_json *frames = ms_json_get(site, "frames");
    size_t nf = ms_json_count(frames);
    if (!live || !nf) continue;
    for (size_t f = nf; f-- > 0;) {
      ms_put_frame(out, ms_json_index(frames, f));
      if (f) fputc(';', out);
    }
    fprintf(out, " %llu\n", (unsigned long long)live);
  }
  return ferror(out) ? -1 : 0;
}
