/* Collapsed stacks (flamegraph.pl, speedscope): outermost frame first, ';'-separated, a space,
 * the site's live heap bytes. Frame names: ms_frame_collapsed (write.h). GPU memory follows under
 * a root frame of its own ("[device]", "[host_pinned]") with the allocating CUDA call as the leaf,
 * so one flame graph shows heap and device memory side by side. */
#include "write.h"

static void ms_collapsed_stack(const ms_snap_site *site, ms_out *o) {
  char name[1024];
  for (uint32_t k = site->nframes; k-- > 0;) {
    ms_frame_collapsed(&site->frames[k], name, sizeof name);
    ms_out_str(o, name);
    if (k) ms_out_write(o, ";", 1);
  }
}

void ms_write_collapsed(const ms_snapshot *s, const ms_write_opts *opt, ms_out *o) {
  unsigned top = opt ? opt->top : 0;
  uint32_t n = ms_limit(s->nsites, top);
  for (uint32_t i = 0; i < n; i++) {
    const ms_snap_site *site = &s->sites[i];
    if (site->heap.live_bytes <= 0 || !site->nframes) continue;
    ms_collapsed_stack(site, o);
    ms_out_printf(o, " %lld\n", (long long)site->heap.live_bytes);
  }
  for (int pinned = 0; pinned < 2; pinned++)
    for (uint32_t i = 0; i < s->nsites; i++) {
      const ms_snap_site *site = &s->sites[i];
      const ms_snap_mem *m = pinned ? &site->host_pinned : &site->device;
      if (!m->present || m->live_bytes <= 0 || !site->nframes) continue;
      ms_out_str(o, pinned ? "[host_pinned];" : "[device];");
      ms_collapsed_stack(site, o);
      if (site->device_api) {
        ms_out_write(o, ";", 1);
        ms_out_str(o, site->device_api);
      }
      ms_out_printf(o, " %lld\n", (long long)m->live_bytes);
    }
}
