/* Collapsed stacks (flamegraph.pl, speedscope): outermost frame first, ';'-separated, a space,
 * the site's live heap bytes. Frame names: ms_frame_collapsed (write.h). */
#include "write.h"

void ms_write_collapsed(const ms_snapshot *s, const ms_write_opts *opt, ms_out *o) {
  unsigned top = opt ? opt->top : 0;
  uint32_t n = top && top < s->nsites ? top : s->nsites;
  char name[1024];
  for (uint32_t i = 0; i < n; i++) {
    const ms_snap_site *site = &s->sites[i];
    if (site->heap.live_bytes <= 0 || !site->nframes) continue;
    for (uint32_t k = site->nframes; k-- > 0;) {
      ms_frame_collapsed(&site->frames[k], name, sizeof name);
      ms_out_str(o, name);
      if (k) ms_out_write(o, ";", 1);
    }
    ms_out_printf(o, " %lld\n", (long long)site->heap.live_bytes);
  }
}
