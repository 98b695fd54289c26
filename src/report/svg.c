/* The SVG timeline of one process, a standalone page (memshim report --format svg).
 * Series: RSS, heap live, heap retained, file-mapped resident, and GPU tracked/used when the
 * points carry them;
 * policy events as vertical marks; the leak window shaded; the top call sites listed below.
 * The plot group carries its geometry as data-* attributes so a test can map every vertex
 * back to bytes and milliseconds and compare with the JSON. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "write.h"

#define MS_SVG_W 1000
#define MS_PLOT_X 90
#define MS_PLOT_Y 64
#define MS_PLOT_W 880
#define MS_PLOT_H 320

typedef struct {
  const char *key;   /* member of a timeline point */
  const char *label;
  const char *color;
  bool zero_unmeasured; /* all zero can mean "not measured": draw nothing then, say so */
  bool gpu;             /* drawn only when the points carry GPU series */
} ms_series;

static const ms_series ms_series_table[] = {
  {"rss", "RSS", "#d62728", false, false},
  {"heap_live", "heap live", "#1f77b4", false, false},
  {"heap_retained", "heap retained", "#ff7f0e", false, false},
  /* The library measures file-mapped residency only with a cap or an RSS soft limit. */
  {"mmap_resident", "file-mapped resident", "#2ca02c", true, false},
  {"gpu_tracked", "GPU tracked", "#8c564b", false, true},
  {"gpu_used", "GPU used (NVML)", "#e377c2", false, true},
};

static double ms_point_value(const ms_snap_point *p, size_t series) {
  switch (series) {
    case 0: return (double)p->rss;
    case 1: return (double)p->heap_live;
    case 2: return (double)p->heap_retained;
    case 3: return (double)p->mmap_resident;
    case 4: return (double)p->gpu_tracked;
    default: return (double)p->gpu_used;
  }
}
#define MS_NSERIES (sizeof ms_series_table / sizeof ms_series_table[0])

typedef struct {
  const char *kind;
  const char *label;
  const char *color;
  const char *dash;
} ms_event_style;

static const ms_event_style ms_event_styles[] = {
  {"purge", "purge", "#9467bd", "4 3"},
  {"mmap_drop", "file-mapping drop", "#17becf", "2 2"},
  {"rss_limit", "RSS soft limit crossed", "#d62728", ""},
  {"pressure", "cgroup memory pressure (report written)", "#ff7f0e", "6 2"},
};

static const ms_event_style *ms_event_style_of(const char *kind) {
  for (size_t i = 0; i < sizeof ms_event_styles / sizeof ms_event_styles[0]; i++)
    if (!strcmp(kind, ms_event_styles[i].kind)) return &ms_event_styles[i];
  static const ms_event_style other = {"", "event", "#7f7f7f", "1 3"};
  return &other;
}

/* Text content and attribute values: &, <, >, " escaped. */
static void ms_xml(ms_out *out, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
      case '&': ms_out_str(out, "&amp;"); break;
      case '<': ms_out_str(out, "&lt;"); break;
      case '>': ms_out_str(out, "&gt;"); break;
      case '"': ms_out_str(out, "&quot;"); break;
      default:
        if ((unsigned char)*s >= 0x20 || *s == '\t') ms_out_write(out, s, 1);
    }
  }
}

/* The smallest 1, 2 or 5 x 2^k MiB-friendly step so that max fits in 4-8 steps. */
static double ms_nice_step(double max, double base) {
  double raw = max / 5.0;
  double mag = base;
  while (mag * 10 <= raw) mag *= 10;
  while (mag > raw && mag > 1e-9) mag /= 10;
  static const double mult[] = {1, 2, 2.5, 5, 10};
  for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
    if (mag * mult[i] >= raw) return mag * mult[i];
  return mag * 10;
}

static double ms_bytes_step(double max) {
  /* Steps in whole binary units read better: find the unit, then a nice multiple of it. */
  double unit = 1;
  while (unit * 1024 <= max / 2) unit *= 1024;
  return ms_nice_step(max / unit, 1) * unit;
}

void ms_write_svg(const ms_snapshot *snap, const ms_write_opts *opt, ms_out *out) {
  unsigned top = opt ? opt->top : 10;
  size_t np = snap->npoints, ne = snap->nevents;
  unsigned nsites = ms_limit(snap->nsites, top);
  bool gpu = ms_snap_has_gpu_series(snap);
  size_t nseries = gpu ? MS_NSERIES : MS_NSERIES - 2;

  /* Scales: time from 0 to the report's time (or the last point), bytes from 0 to the peak. */
  double tmax = (double)snap->time_ms;
  double peak[MS_NSERIES] = {0}, last[MS_NSERIES] = {0};
  double ymax = 0;
  for (size_t i = 0; i < np; i++) {
    const ms_snap_point *p = &snap->points[i];
    double t = (double)p->t_ms;
    if (t > tmax) tmax = t;
    for (size_t k = 0; k < nseries; k++) {
      double v = ms_point_value(p, k);
      if (v > peak[k]) peak[k] = v;
      last[k] = v;
      if (v > ymax) ymax = v;
    }
  }
  for (size_t i = 0; i < ne; i++) {
    double t = (double)snap->events[i].t_ms;
    if (t > tmax) tmax = t;
  }
  if (tmax <= 0) tmax = 1000;
  if (ymax < 1024 * 1024) ymax = 1024 * 1024;
  double ystep = ms_bytes_step(ymax);
  ymax = ceil(ymax / ystep) * ystep;
  double tstep = ms_nice_step(tmax / 1000.0, 0.001) * 1000.0; /* in ms, nice in seconds */

  int legend_y = MS_PLOT_Y + MS_PLOT_H + 46;
  int sites_y = legend_y + 20 * (int)((nseries + 1) / 2) + 30;
  int height = sites_y + 22 + 36 * (int)(nsites ? nsites : 1) + 16;
  const char *command = snap->process.command ? snap->process.command : "?";

  char buf[64], buf2[64];
  ms_out_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                     "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
                MS_SVG_W, height, MS_SVG_W, height);
  ms_out_str(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  ms_out_str(out, "<title>memshim timeline: ");
  ms_xml(out, command);
  ms_out_str(out, "</title>\n<text x=\"20\" y=\"26\" font-size=\"17\" font-weight=\"bold\">memshim: ");
  ms_xml(out, command);
  ms_out_printf(out, " (pid %lld)</text>\n", (long long)snap->process.pid);
  ms_out_str(out, "<text x=\"20\" y=\"46\" fill=\"#444\">");
  ms_xml(out, snap->reason ? snap->reason : "?");
  ms_out_printf(out, " report at %.1f s, backend ", tmax / 1000.0);
  ms_xml(out, snap->process.backend ? snap->process.backend : "?");
  ms_out_str(out, ", memshim ");
  ms_xml(out, snap->process.memshim_version ? snap->process.memshim_version : "?");
  ms_out_printf(out, "; %zu snapshots every %llu ms, %zu events</text>\n", np, (unsigned long long)snap->interval_ms,
                ne);

  /* Plot frame, grid and axes. */
  ms_out_printf(out, "<g id=\"plot\" data-x0=\"%d\" data-y0=\"%d\" data-width=\"%d\" data-height=\"%d\" "
                     "data-t-max-ms=\"%.0f\" data-y-max-bytes=\"%.0f\">\n",
                MS_PLOT_X, MS_PLOT_Y, MS_PLOT_W, MS_PLOT_H, tmax, ymax);
  ms_out_printf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
                MS_PLOT_X, MS_PLOT_Y, MS_PLOT_W, MS_PLOT_H);
#define X_OF(t) (MS_PLOT_X + (t) / tmax * MS_PLOT_W)
#define Y_OF(v) (MS_PLOT_Y + MS_PLOT_H - (v) / ymax * MS_PLOT_H)
  for (double v = 0; v <= ymax * 1.0001; v += ystep) {
    ms_fmt_bytes(buf, sizeof buf, v);
    ms_out_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.2f\" y2=\"%.2f\" stroke=\"#e3e3e3\"/>"
                       "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\" fill=\"#444\">%s</text>\n",
                  MS_PLOT_X, MS_PLOT_X + MS_PLOT_W, Y_OF(v), Y_OF(v), MS_PLOT_X - 6, Y_OF(v) + 4, buf);
  }
  for (double t = 0; t <= tmax * 1.0001; t += tstep) {
    ms_out_printf(out, "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%d\" y2=\"%d\" stroke=\"#e3e3e3\"/>"
                       "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" fill=\"#444\">%g s</text>\n",
                  X_OF(t), X_OF(t), MS_PLOT_Y, MS_PLOT_Y + MS_PLOT_H, X_OF(t), MS_PLOT_Y + MS_PLOT_H + 16, t / 1000.0);
  }
  ms_out_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#444\">time since start</text>\n",
                MS_PLOT_X + MS_PLOT_W / 2, MS_PLOT_Y + MS_PLOT_H + 32);

  /* The leak gate's window, when a verdict was computed. */
  const ms_snap_leak *leak = &snap->leak;
  if (leak->checked && leak->to_ms > leak->from_ms) {
    double from = (double)leak->from_ms, to = (double)leak->to_ms;
    const char *verdict = leak->verdict ? leak->verdict : "none";
    ms_fmt_bytes(buf, sizeof buf, (double)leak->growth_bytes);
    ms_out_printf(out, "<rect id=\"leak-window\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#fff3c4\" "
                       "opacity=\"0.6\"><title>leak window: steady growth %s, verdict %s</title></rect>\n"
                       "<text x=\"%.2f\" y=\"%d\" fill=\"#8a6d00\">leak window: growth %s, %s</text>\n",
                  X_OF(from), MS_PLOT_Y, X_OF(to) - X_OF(from), MS_PLOT_H, buf, verdict, X_OF(from) + 4,
                  MS_PLOT_Y + 14, buf, verdict);
  }

  /* Series: one polyline each, every point of the timeline. */
  for (size_t k = 0; k < nseries; k++) {
    if (ms_series_table[k].zero_unmeasured && peak[k] == 0) continue;
    ms_out_printf(out, "<polyline data-series=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
                  ms_series_table[k].key, ms_series_table[k].color,
                  ms_series_table[k].gpu ? " stroke-dasharray=\"6 2\"" : "");
    for (size_t i = 0; i < np; i++) {
      const ms_snap_point *p = &snap->points[i];
      ms_out_printf(out, "%s%.2f,%.2f", i ? " " : "", X_OF((double)p->t_ms), Y_OF(ms_point_value(p, k)));
    }
    ms_out_str(out, "\"/>\n");
  }

  /* Events: a vertical mark each, the details in a tooltip. */
  for (size_t i = 0; i < ne; i++) {
    const ms_snap_event *e = &snap->events[i];
    const char *kind = e->kind ? e->kind : "?";
    const ms_event_style *st = ms_event_style_of(kind);
    double t = (double)e->t_ms;
    ms_fmt_bytes(buf, sizeof buf, (double)e->bytes);
    ms_out_printf(out, "<g class=\"event\" data-kind=\"%s\" data-t-ms=\"%.0f\"><line x1=\"%.2f\" x2=\"%.2f\" y1=\"%d\" "
                       "y2=\"%d\" stroke=\"%s\" stroke-width=\"1.2\" stroke-dasharray=\"%s\"/>"
                       "<path d=\"M%.2f %d l-5 -8 h10 z\" fill=\"%s\"/><title>",
                  st->kind[0] ? st->kind : "other", t, X_OF(t), X_OF(t), MS_PLOT_Y, MS_PLOT_Y + MS_PLOT_H, st->color,
                  st->dash, X_OF(t), MS_PLOT_Y, st->color);
    ms_xml(out, st->kind[0] ? st->label : kind);
    ms_out_str(out, " (");
    ms_xml(out, e->trigger ? e->trigger : "?");
    ms_out_printf(out, ") at %.2f s: %s%s</title></g>\n", t / 1000.0, buf, !strcmp(kind, "rss_limit") ? " RSS" : "");
  }
  ms_out_str(out, "</g>\n");
#undef X_OF
#undef Y_OF

  /* Legend: each series with its peak and last value; the event kinds present. */
  for (size_t k = 0; k < nseries; k++) {
    int x = 20 + (int)(k % 2) * 450, y = legend_y + (int)(k / 2) * 20;
    ms_fmt_bytes(buf, sizeof buf, peak[k]);
    ms_fmt_bytes(buf2, sizeof buf2, last[k]);
    if (ms_series_table[k].zero_unmeasured && peak[k] == 0) {
      ms_out_printf(out, "<text class=\"legend\" data-series=\"%s\" x=\"%d\" y=\"%d\" fill=\"#666\">%s: not measured or 0 "
                         "(needs MEMSHIM_MMAP_RESIDENT_MAX)</text>\n",
                    ms_series_table[k].key, x, y, ms_series_table[k].label);
      continue;
    }
    ms_out_printf(out, "<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"4\" fill=\"%s\"/>"
                       "<text class=\"legend\" data-series=\"%s\" x=\"%d\" y=\"%d\">%s: peak %s, last %s</text>\n",
                  x, y - 6, ms_series_table[k].color, ms_series_table[k].key, x + 26, y, ms_series_table[k].label, buf,
                  buf2);
  }
  int ex = 20;
  int ey = legend_y + 20 * (int)((nseries + 1) / 2);
  for (size_t k = 0; k < sizeof ms_event_styles / sizeof ms_event_styles[0]; k++) {
    unsigned count = 0;
    for (size_t i = 0; i < ne; i++) count += snap->events[i].kind && !strcmp(snap->events[i].kind, ms_event_styles[k].kind);
    if (!count) continue;
    ms_out_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\" "
                       "stroke-dasharray=\"%s\"/><text x=\"%d\" y=\"%d\">%s &#215; %u</text>\n",
                  ex + 9, ex + 9, ey - 12, ey + 2, ms_event_styles[k].color, ms_event_styles[k].dash, ex + 18, ey,
                  ms_event_styles[k].label, count);
    ex += 240;
  }
  if (!ne) ms_out_printf(out, "<text x=\"%d\" y=\"%d\" fill=\"#666\">no memory-return events</text>\n", ex, ey);

  /* Top call sites. */
  ms_out_printf(out, "<text x=\"20\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">top %u of %u call sites by live bytes"
                     "</text>\n", sites_y, nsites, (unsigned)snap->nsites);
  if (!nsites)
    ms_out_printf(out, "<text x=\"20\" y=\"%d\" fill=\"#666\">none recorded (profiling off?)</text>\n", sites_y + 22);
  for (unsigned i = 0; i < nsites; i++) {
    const ms_snap_site *site = &snap->sites[i];
    int y = sites_y + 22 + 36 * (int)i;
    ms_fmt_bytes(buf, sizeof buf, (double)site->heap.live_bytes);
    ms_fmt_bytes(buf2, sizeof buf2, (double)site->heap.growth_bytes);
    ms_out_printf(out, "<g class=\"site\" data-id=\"%u\" data-live-bytes=\"%lld\"><text x=\"20\" y=\"%d\">"
                       "<tspan font-weight=\"bold\">#%u %s live</tspan> in %lld allocations, growth %s: ",
                  (unsigned)site->id, (long long)site->heap.live_bytes, y, i + 1, buf, (long long)site->heap.live_count,
                  buf2);
    char name[512];
    if (site->nframes) {
      ms_frame_label(&site->frames[0], name, sizeof name);
      ms_out_str(out, "<tspan font-family=\"DejaVu Sans Mono, monospace\">");
      ms_xml(out, name);
      ms_out_str(out, "</tspan>");
    }
    ms_out_printf(out, "</text><text x=\"40\" y=\"%d\" fill=\"#555\" font-family=\"DejaVu Sans Mono, monospace\" "
                       "font-size=\"11\">", y + 15);
    /* The callers, innermost first, cut to the width of the page. */
    size_t used = 0;
    for (uint32_t f = 1; f < site->nframes && used < 130; f++) {
      ms_frame_label(&site->frames[f], name, sizeof name);
      if (used + strlen(name) > 130) {
        ms_out_str(out, " &#8592; &#8230;");
        break;
      }
      ms_out_str(out, f > 1 ? " &#8592; " : "&#8592; ");
      ms_xml(out, name);
      used += strlen(name) + 3;
    }
    ms_out_str(out, "</text></g>\n");
  }
  ms_out_str(out, "</svg>\n");
}
