/* Collapsed stacks (flamegraph.pl, speedscope): outermost frame first, ';'-separated, then
 * the site's live bytes. */
#include <string.h>

#include "../profile/symbolize.h"
#include "report.h"

static void ms_collapsed_name(ms_out *o, const ms_symbol *s) {
  /* ';' and ' ' separate fields in this format: replace them inside names */
  const char *n = s->function;
  if (!strcmp(n, "??")) {
    const char *slash = strrchr(s->module, '/');
    ms_out_printf(o, "%s+0x%lx", slash ? slash + 1 : s->module, (unsigned long)s->offset);
    return;
  }
  for (; *n; n++) {
    char c = *n == ';' ? ':' : *n == ' ' ? '_' : *n;
    ms_out_write(o, &c, 1);
  }
}

void ms_report_write_collapsed(const ms_report *r, ms_out *o) {
  for (uint32_t i = 0; i < r->nsites; i++) {
    const ms_report_site *s = &r->sites[i];
    if (s->live_bytes <= 0) continue;
    if (!s->depth) ms_out_str(o, "[no stack]");
    for (uint32_t k = s->depth; k-- > 0;) {
      ms_symbol sym;
      ms_symbolize(s->frames[k] - 1, &sym);
      ms_collapsed_name(o, &sym);
      if (k) ms_out_write(o, ";", 1);
    }
    ms_out_printf(o, " %lld\n", (long long)s->live_bytes);
  }
}
