/* The HTML report: one self-contained page (no network access) that opens from disk. The page
 * itself is a static template (report.html: CSS and JavaScript that draw the flame graph, the
 * timelines and the table in the browser); the writer copies it and puts the reports, as JSON
 * documents of docs/report-format.md, into a <script type="application/json"> element where the
 * template marks the spot. '<', '>' and '&' inside strings are written as \u003c... so nothing in
 * a report (a function name, a file name) can end that element. A second element, memshim-view,
 * carries the views of view.c the page shows by default (sites merged by Python line, frames
 * folded in the flame graph), so those rules live in C only: per report {"group": [the index of
 * each site's group's first site], "fold": ["0110...": per site, '1' for each folded frame]}. */
#include <string.h>

#include "write.h"

/* The template, built in from src/report/report.html (MS_HTML_TEMPLATE_PATH, set by CMake). */
__asm__(".pushsection .rodata\n"
        ".hidden ms_html_template\n"
        ".globl ms_html_template\n"
        "ms_html_template:\n"
        ".incbin \"" MS_HTML_TEMPLATE_PATH "\"\n"
        ".byte 0\n"
        ".popsection\n");
extern const char ms_html_template[];

#define MS_HTML_MARK "<!--MEMSHIM_DATA-->"

static void ms_html_view(const ms_snapshot *s, unsigned i, ms_out *o) {
  ms_arena a; /* pages of its own: this runs inside the profiled process too */
  ms_arena_init(&a);
  uint32_t maxf = 0;
  for (uint32_t k = 0; k < s->nsites; k++)
    if (s->sites[k].nframes > maxf) maxf = s->sites[k].nframes;
  const uint32_t *group = ms_snap_group_sites(s, &a);
  char *mask = ms_arena_alloc(&a, (size_t)maxf + 1);
  ms_out_str(o, i ? ",\n{\"group\": [" : "\n{\"group\": [");
  for (uint32_t k = 0; k < s->nsites; k++) ms_out_printf(o, "%s%u", k ? "," : "", group ? (unsigned)group[k] : (unsigned)k);
  ms_out_str(o, "],\n\"fold\": [");
  for (uint32_t k = 0; k < s->nsites; k++) {
    ms_out_str(o, k ? ",\"" : "\"");
    if (mask) {
      ms_site_fold(&s->sites[k], mask);
      ms_out_str(o, mask);
    }
    ms_out_str(o, "\"");
  }
  ms_out_str(o, "]}");
  ms_arena_release(&a);
}

void ms_write_html(const ms_snapshot *const *s, unsigned n, ms_out *o) {
  const char *mark = strstr(ms_html_template, MS_HTML_MARK);
  const char *rest = mark ? mark + strlen(MS_HTML_MARK) : "";
  ms_out_write(o, ms_html_template, mark ? (size_t)(mark - ms_html_template) : strlen(ms_html_template));
  ms_out_str(o, "<script type=\"application/json\" id=\"memshim-data\">[\n");
  for (unsigned i = 0; i < n; i++) {
    if (i) ms_out_str(o, ",\n");
    ms_write_json(s[i], o, 1);
  }
  ms_out_str(o, "]</script>\n<script type=\"application/json\" id=\"memshim-view\">[");
  for (unsigned i = 0; i < n; i++) ms_html_view(s[i], i, o);
  ms_out_str(o, "]</script>");
  ms_out_str(o, rest);
}
