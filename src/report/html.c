/* The HTML report: one self-contained page (no network access) that opens from disk. The page
 * itself is a static template (report.html: CSS and JavaScript that draw the flame graph, the
 * timelines and the table in the browser); the writer copies it and puts the reports, as JSON
 * documents of docs/report-format.md, into a <script type="application/json"> element where the
 * template marks the spot. '<', '>' and '&' inside strings are written as \u003c... so nothing in
 * a report (a function name, a file name) can end that element. */
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

void ms_write_html(const ms_snapshot *const *s, unsigned n, ms_out *o) {
  const char *mark = strstr(ms_html_template, MS_HTML_MARK);
  const char *rest = mark ? mark + strlen(MS_HTML_MARK) : "";
  ms_out_write(o, ms_html_template, mark ? (size_t)(mark - ms_html_template) : strlen(ms_html_template));
  ms_out_str(o, "<script type=\"application/json\" id=\"memshim-data\">[\n");
  for (unsigned i = 0; i < n; i++) {
    if (i) ms_out_str(o, ",\n");
    ms_write_json(s[i], o, 1);
  }
  ms_out_str(o, "]</script>");
  ms_out_str(o, rest);
}
