/* Collapsed stacks (flamegraph.pl, speedscope): outermost frame first, ';'-separated, then
 * the site's live bytes. GPU memory follows under a root frame of its own ("[device]",
 * "[host_pinned]"), with the allocating call as the leaf, so one flame graph shows heap and
 * device memory side by side. */
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

static void ms_collapsed_stack(ms_out *o, const ms_report_site *s) {
  if (!s->depth) ms_out_str(o, "[no stack]");
  for (uint32_t k = s->depth; k-- > 0;) {
    ms_symbol sym;
    ms_symbolize(s->frames[k] - 1, &sym);
    ms_collapsed_name(o, &sym);
    if (k) ms_out_write(o, ";", 1);
  }
}

static void ms_collapsed_gpu(ms_out *o, const ms_report *r) {
  for (int pinned = 0; pinned < 2; pinned++)
    for (uint32_t i = 0; i < r->nsites; i++) {
      const ms_report_site *s = &r->sites[i];
      const ms_report_mem *m = !s->gpu ? NULL : pinned ? &s->gpu->pinned : &s->gpu->device;
      if (!m || m->live_bytes <= 0) continue;
      ms_out_str(o, pinned ? "[host_pinned];" : "[device];");
      ms_collapsed_stack(o, s);
      ms_out_printf(o, ";%s %lld\n", s->gpu->api, (long long)m->live_bytes);
    }
}

void ms_report_write_collapsed(const ms_report *r, ms_out *o) {
  for (uint32_t i = 0; i < r->nsites; i++) {
    const ms_report_site *s = &r->sites[i];
    if (s->live_bytes <= 0) continue;
    ms_collapsed_stack(o, s);
    ms_out_printf(o, " %lld\n", (long long)s->live_bytes);
  }
  if (r->gpu) ms_collapsed_gpu(o, r);
}
