/* memshim report: render a JSON report (docs/report-format.md) as text, collapsed stacks or an
 * SVG timeline. The renderers read the document through json.h's tolerant getters, so members
 * a later schema version adds are ignored and absent ones read as zero. */
#ifndef MEMSHIM_CLI_REPORT_H
#define MEMSHIM_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"

/* top = how many call sites to list (0 = all). Each returns 0, or -1 on a write error. */
int ms_report_text(FILE *out, const ms_json *doc, unsigned top);
int ms_report_collapsed(FILE *out, const ms_json *doc, unsigned top);
int ms_report_svg(FILE *out, const ms_json *doc, unsigned top);

/* "52.4 MiB", "812 B": binary units, one decimal. */
void ms_report_fmt_bytes(char *buf, size_t len, double bytes);
/* A frame as people read it: its function, or module+offset when the symbol is unknown. */
void ms_report_frame_name(const ms_json *frame, char *buf, size_t len);
/* A site's heap member (sites[].memory.heap); NULL-safe. */
const ms_json *ms_report_site_heap(const ms_json *site);

#endif
