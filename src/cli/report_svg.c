/* memshim report --format svg: the timeline of one process as a standalone SVG page.
 * Series: RSS, heap live, heap retained, file-mapped resident (the JSON timeline's points);
 * policy events as vertical marks; the leak window shaded; the top call sites listed below.
 * The plot group carries its geometry as data-* attributes so a test can map every vertex
 * back to bytes and milliseconds and compare with the JSON. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "report.h"

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
} ms_series;

static const ms_series ms_series_table[] = {
  {"rss", "RSS", "#d62728", false},
  {"heap_live", "heap live", "#1f77b4", false},
  {"heap_retained", "heap retained", "#ff7f0e", false},
  /* The library measures file-mapped residency only with a cap or an RSS soft limit. */
  {"mmap_resident", "file-mapped resident", "#2ca02c", true},
};
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
};

static const ms_event_style *ms_event_style_of(const char *kind) {
  for (size_t i = 0; i < sizeof ms_event_styles / sizeof ms_event_styles[0]; i++)
    if (!strcmp(kind, ms_event_styles[i].kind)) return &ms_event_styles[i];
  static const ms_event_style other = {"", "event", "#7f7f7f", "1 3"};
  return &other;
}

/* Text content and attribute values: &, <, >, " escaped. */
static void ms_xml(FILE *out, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': fputs("&amp;", out); break;
      case '<': fputs("&lt;", out); break;
      case '>': fputs("&gt;", out); break;
      case '"': fputs("&quot;", out); break;
      default:
        if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, out);
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

int ms_report_svg(FILE *out, const ms_json *doc, unsigned top) {
  const ms_json *proc = ms_json_get(doc, "process");
  const ms_json *timeline = ms_json_get(doc, "timeline");
  const ms_json *points = ms_json_get(timeline, "points");
  const ms_json *events = ms_json_get(timeline, "events");
  const ms_json *sites = ms_json_get(doc, "sites");
  const ms_json *leak = ms_json_get(doc, "leak");
  size_t np = ms_json_count(points), ne = ms_json_count(events);
  unsigned nsites = top && top < ms_json_count(sites) ? top : (unsigned)ms_json_count(sites);

  /* Scales: time from 0 to the report's time (or the last point), bytes from 0 to the peak. */
  double tmax = (double)ms_json_u64(ms_json_get(doc, "time_ms"), 0);
  double peak[MS_NSERIES] = {0}, last[MS_NSERIES] = {0};
  double ymax = 0;
  for (size_t i = 0; i < np; i++) {
    const ms_json *p = ms_json_index(points, i);
    double t = (double)ms_json_u64(ms_json_get(p, "t_ms"), 0);
    if (t > tmax) tmax = t;
    for (size_t s = 0; s < MS_NSERIES; s++) {
      double v = (double)ms_json_u64(ms_json_get(p, ms_series_table[s].key), 0);
      if (v > peak[s]) peak[s] = v;
      last[s] = v;
      if (v > ymax) ymax = v;
    }
  }
  for (size_t i = 0; i < ne; i++) {
    double t = (double)ms_json_u64(ms_json_get(ms_json_index(events, i), "t_ms"), 0);
    if (t > tmax) tmax = t;
  }
  if (tmax <= 0) tmax = 1000;
  if (ymax < 1024 * 1024) ymax = 1024 * 1024;
  double ystep = ms_bytes_step(ymax);
  ymax = ceil(ymax / ystep) * ystep;
  double tstep = ms_nice_step(tmax / 1000.0, 0.001) * 1000.0; /* in ms, nice in seconds */

  int legend_y = MS_PLOT_Y + MS_PLOT_H + 46;
  int sites_y = legend_y + 20 * (int)((MS_NSERIES + 1) / 2) + 30;
  int height = sites_y + 22 + 36 * (int)(nsites ? nsites : 1) + 16;

  char buf[64], buf2[64];
  fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
          MS_SVG_W, height, MS_SVG_W, height);
  fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fputs("<title>memshim timeline: ", out);
  ms_xml(out, ms_json_string(ms_json_get(proc, "command"), "?"));
  fputs("</title>\n<text x=\"20\" y=\"26\" font-size=\"17\" font-weight=\"bold\">memshim: ", out);
  ms_xml(out, ms_json_string(ms_json_get(proc, "command"), "?"));
  fprintf(out, " (pid %lld)</text>\n", (long long)ms_json_i64(ms_json_get(proc, "pid"), 0));
  ms_report_fmt_bytes(buf, sizeof buf, (double)ms_json_u64(ms_json_path(doc, "profile.totals.heap.live_bytes"), 0));
  fprintf(out, "<text x=\"20\" y=\"46\" fill=\"#444\">%s report at %.1f s, backend ",
          ms_json_string(ms_json_get(doc, "reason"), "?"), tmax / 1000.0);
  ms_xml(out, ms_json_string(ms_json_get(proc, "backend"), "?"));
  fprintf(out, ", memshim %s; %zu snapshots every %llu ms, %zu events</text>\n",
          ms_json_string(ms_json_get(proc, "memshim_version"), "?"), np,
          (unsigned long long)ms_json_u64(ms_json_get(timeline, "interval_ms"), 0), ne);

  /* Plot frame, grid and axes. */
  fprintf(out, "<g id=\"plot\" data-x0=\"%d\" data-y0=\"%d\" data-width=\"%d\" data-height=\"%d\" "
               "data-t-max-ms=\"%.0f\" data-y-max-bytes=\"%.0f\">\n",
          MS_PLOT_X, MS_PLOT_Y, MS_PLOT_W, MS_PLOT_H, tmax, ymax);
  fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
          MS_PLOT_X, MS_PLOT_Y, MS_PLOT_W, MS_PLOT_H);
#define X_OF(t) (MS_PLOT_X + (t) / tmax * MS_PLOT_W)
#define Y_OF(v) (MS_PLOT_Y + MS_PLOT_H - (v) / ymax * MS_PLOT_H)
  for (double v = 0; v <= ymax * 1.0001; v += ystep) {
    ms_report_fmt_bytes(buf, sizeof buf, v);
    fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.2f\" y2=\"%.2f\" stroke=\"#e3e3e3\"/>"
                 "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\" fill=\"#444\">%s</text>\n",
            MS_PLOT_X, MS_PLOT_X + MS_PLOT_W, Y_OF(v), Y_OF(v), MS_PLOT_X - 6, Y_OF(v) + 4, buf);
  }
  for (double t = 0; t <= tmax * 1.0001; t += tstep) {
    fprintf(out, "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%d\" y2=\"%d\" stroke=\"#e3e3e3\"/>"
                 "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" fill=\"#444\">%g s</text>\n",
            X_OF(t), X_OF(t), MS_PLOT_Y, MS_PLOT_Y + MS_PLOT_H, X_OF(t), MS_PLOT_Y + MS_PLOT_H + 16, t / 1000.0);
  }
  fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#444\">time since start</text>\n",
          MS_PLOT_X + MS_PLOT_W / 2, MS_PLOT_Y + MS_PLOT_H + 32);

  /* The leak gate's window, when a verdict was computed. */
  if (ms_json_bool(ms_json_get(leak, "checked"), false)) {
    const ms_json *win = ms_json_get(leak, "window_ms");
    double from = (double)ms_json_u64(ms_json_index(win, 0), 0), to = (double)ms_json_u64(ms_json_index(win, 1), 0);
    if (to > from) {
      ms_report_fmt_bytes(buf, sizeof buf, (double)ms_json_i64(ms_json_get(leak, "growth_bytes"), 0));
      fprintf(out, "<rect id=\"leak-window\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#fff3c4\" "
                   "opacity=\"0.6\"><title>leak window: steady growth %s, verdict %s</title></rect>\n"
                   "<text x=\"%.2f\" y=\"%d\" fill=\"#8a6d00\">leak window: growth %s, %s</text>\n",
              X_OF(from), MS_PLOT_Y, X_OF(to) - X_OF(from), MS_PLOT_H, buf,
              ms_json_string(ms_json_get(leak, "verdict"), "none"), X_OF(from) + 4, MS_PLOT_Y + 14, buf,
              ms_json_string(ms_json_get(leak, "verdict"), "none"));
    }
  }

  /* Series: one polyline each, every point of the JSON timeline. */
  for (size_t s = 0; s < MS_NSERIES; s++) {
    if (ms_series_table[s].zero_unmeasured && peak[s] == 0) continue;
    fprintf(out, "<polyline data-series=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" points=\"",
            ms_series_table[s].key, ms_series_table[s].color);
    for (size_t i = 0; i < np; i++) {
      const ms_json *p = ms_json_index(points, i);
      double t = (double)ms_json_u64(ms_json_get(p, "t_ms"), 0);
      double v = (double)ms_json_u64(ms_json_get(p, ms_series_table[s].key), 0);
      fprintf(out, "%s%.2f,%.2f", i ? " " : "", X_OF(t), Y_OF(v));
    }
    fputs("\"/>\n", out);
  }

  /* Events: a vertical mark each, the details in a tooltip. */
  for (size_t i = 0; i < ne; i++) {
    const ms_json *e = ms_json_index(events, i);
    const char *kind = ms_json_string(ms_json_get(e, "kind"), "?");
    const ms_event_style *st = ms_event_style_of(kind);
    double t = (double)ms_json_u64(ms_json_get(e, "t_ms"), 0);
    ms_report_fmt_bytes(buf, sizeof buf, (double)ms_json_u64(ms_json_get(e, "bytes"), 0));
    fprintf(out, "<g class=\"event\" data-kind=\"%s\" data-t-ms=\"%.0f\"><line x1=\"%.2f\" x2=\"%.2f\" y1=\"%d\" "
                 "y2=\"%d\" stroke=\"%s\" stroke-width=\"1.2\" stroke-dasharray=\"%s\"/>"
                 "<path d=\"M%.2f %d l-5 -8 h10 z\" fill=\"%s\"/><title>",
            st->kind[0] ? st->kind : "other", t, X_OF(t), X_OF(t), MS_PLOT_Y, MS_PLOT_Y + MS_PLOT_H, st->color,
            st->dash, X_OF(t), MS_PLOT_Y, st->color);
    ms_xml(out, st->kind[0] ? st->label : kind);
    fputs(" (", out);
    ms_xml(out, ms_json_string(ms_json_get(e, "trigger"), "?"));
    fprintf(out, ") at %.2f s: %s%s</title></g>\n", t / 1000.0, buf, !strcmp(kind, "rss_limit") ? " RSS" : "");
  }
  fputs("</g>\n", out);
#undef X_OF
#undef Y_OF

  /* Legend: each series with its peak and last value; the event kinds present. */
  for (size_t s = 0; s < MS_NSERIES; s++) {
    int x = 20 + (int)(s % 2) * 450, y = legend_y + (int)(s / 2) * 20;
    ms_report_fmt_bytes(buf, sizeof buf, peak[s]);
    ms_report_fmt_bytes(buf2, sizeof buf2, last[s]);
    if (ms_series_table[s].zero_unmeasured && peak[s] == 0) {
      fprintf(out, "<text class=\"legend\" data-series=\"%s\" x=\"%d\" y=\"%d\" fill=\"#666\">%s: not measured or 0 "
                   "(needs MEMSHIM_MMAP_RESIDENT_MAX)</text>\n",
              ms_series_table[s].key, x, y, ms_series_table[s].label);
      continue;
    }
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"4\" fill=\"%s\"/>"
                 "<text class=\"legend\" data-series=\"%s\" x=\"%d\" y=\"%d\">%s: peak %s, last %s</text>\n",
            x, y - 6, ms_series_table[s].color, ms_series_table[s].key, x + 26, y, ms_series_table[s].label, buf,
            buf2);
  }
  int ex = 20;
  int ey = legend_y + 20 * (int)((MS_NSERIES + 1) / 2);
  for (size_t k = 0; k < sizeof ms_event_styles / sizeof ms_event_styles[0]; k++) {
    unsigned count = 0;
    for (size_t i = 0; i < ne; i++)
      count += !strcmp(ms_json_string(ms_json_get(ms_json_index(events, i), "kind"), ""), ms_event_styles[k].kind);
    if (!count) continue;
    fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\" "
                 "stroke-dasharray=\"%s\"/><text x=\"%d\" y=\"%d\">%s &#215; %u</text>\n",
            ex + 9, ex + 9, ey - 12, ey + 2, ms_event_styles[k].color, ms_event_styles[k].dash, ex + 18, ey,
            ms_event_styles[k].label, count);
    ex += 240;
  }
  if (!ne) fprintf(out, "<text x=\"%d\" y=\"%d\" fill=\"#666\">no memory-return events</text>\n", ex, ey);

  /* Top call sites. */
  fprintf(out, "<text x=\"20\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">top %u of %zu call sites by live bytes"
               "</text>\n", sites_y, nsites, ms_json_count(sites));
  if (!nsites) fprintf(out, "<text x=\"20\" y=\"%d\" fill=\"#666\">none recorded (profiling off?)</text>\n", sites_y + 22);
  for (unsigned i = 0; i < nsites; i++) {
    const ms_json *site = ms_json_index(sites, i);
    const ms_json *heap = ms_report_site_heap(site);
    int y = sites_y + 22 + 36 * (int)i;
    ms_report_fmt_bytes(buf, sizeof buf, (double)ms_json_u64(ms_json_get(heap, "live_bytes"), 0));
    ms_report_fmt_bytes(buf2, sizeof buf2, (double)ms_json_i64(ms_json_get(heap, "growth_bytes"), 0));
    fprintf(out, "<g class=\"site\" data-id=\"%lld\" data-live-bytes=\"%llu\"><text x=\"20\" y=\"%d\">"
                 "<tspan font-weight=\"bold\">#%u %s live</tspan> in %llu allocations, growth %s: ",
            (long long)ms_json_i64(ms_json_get(site, "id"), -1),
            (unsigned long long)ms_json_u64(ms_json_get(heap, "live_bytes"), 0), y, i + 1, buf,
            (unsigned long long)ms_json_u64(ms_json_get(heap, "live_count"), 0), buf2);
    const ms_json *frames = ms_json_get(site, "frames");
    char name[512];
    if (ms_json_count(frames)) {
      ms_report_frame_name(ms_json_index(frames, 0), name, sizeof name);
      fputs("<tspan font-family=\"DejaVu Sans Mono, monospace\">", out);
      ms_xml(out, name);
      fputs("</tspan>", out);
    }
    fprintf(out, "</text><text x=\"40\" y=\"%d\" fill=\"#555\" font-family=\"DejaVu Sans Mono, monospace\" "
                 "font-size=\"11\">", y + 15);
    /* The callers, innermost first, cut to the width of the page. */
    size_t used = 0;
    for (size_t f = 1; f < ms_json_count(frames) && used < 130; f++) {
      ms_report_frame_name(ms_json_index(frames, f), name, sizeof name);
      if (used + strlen(name) > 130) { fputs(" &#8592; &#8230;", out); break; }
      fputs(f > 1 ? " &#8592; " : "&#8592; ", out);
      ms_xml(out, name);
      used += strlen(name) + 3;
    }
    fputs("</text></g>\n", out);
  }
  fputs("</svg>\n", out);
  return ferror(out) ? -1 : 0;
}
