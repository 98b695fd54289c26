/* The public C API (include/memshim.h). */
#include <stddef.h>
#include <string.h>

#include "../../include/memshim.h"
#include "../backend/backend.h"
#include "../policy/policy.h"
#include "../profile/profile.h"
#include "../profile/profile_internal.h"
#include "../report/stats.h"
#include "../util/proc.h"
#include "../util/guard.h"
#include "api_report.h"
#include "state.h"
#include "../util/export.h"


MS_EXPORT const char *memshim_version(void) { return MEMSHIM_VERSION_STRING; }

MS_EXPORT const char *memshim_backend(void) {
  ms_backend_select();
  return ms_be.name;
}

/* calls.alloc / calls.free. No hot path counts calls: with jemalloc the figures are its own
 * request statistics (backend.h, ms_backend_call_counts); the glibc backend counts every call
 * in its wrappers (backend/glibc.c). */
static void ms_calls_read(const ms_counters *c, uint64_t *allocs, uint64_t *frees) {
  *allocs = c->alloc_calls;
  *frees = c->free_calls;
  if (ms_be_kind == MS_BE_JEMALLOC) ms_backend_call_counts(allocs, frees);
}

MS_EXPORT int memshim_stats(memshim_stats_t *out, size_t size) {
  if (!out || size == 0) return -1;
  memshim_stats_t st;
  memset(&st, 0, sizeof st);
  ms_guard_enter();
  ms_counters c;
  ms_counters_read(&c);
  st.heap_live = c.live_bytes;
  ms_calls_read(&c, &st.alloc_calls, &st.free_calls);
  st.threads = c.threads;
  st.threads_direct = c.threads_direct;
  ms_backend_stats bs;
  if (ms_be.stats(&bs) == 0) {
    st.backend_active = bs.active;
    st.backend_resident = bs.resident;
    st.backend_retained = bs.retained;
    st.backend_mapped = bs.mapped;
  }
  st.rss = ms_proc_rss();
  ms_policy_note_live(st.heap_live);
  ms_policy_counters pc;
  ms_policy_counters_read(&pc);
  st.heap_peak = pc.heap_peak;
  st.purges = pc.purges;
  st.purged_bytes = pc.purged_bytes;
  st.mmap_tracked = pc.mmap_tracked;
  st.mmap_resident = pc.mmap_resident;
  st.mmap_dropped = pc.mmap_dropped;
  st.profile_sample_bytes = ms_profile_active ? ms_profile_sample_bytes() : 0;
  st.thread_peak = ms_api_thread_peak();
  ms_guard_leave();
  memcpy(out, &st, size < sizeof st ? size : sizeof st);
  if (size > sizeof st) memset((char *)out + sizeof st, 0, size - sizeof st);
  return 0;
}

MS_EXPORT int memshim_stat(const char *name, uint64_t *value) {
  if (!name || !value) return -1;
  for (size_t i = 0; i < ms_stat_count; i++) {
    if (strcmp(name, ms_stat_table[i].name) == 0) {
      memshim_stats_t st;
      memshim_stats(&st, sizeof st);
      memcpy(value, (char *)&st + ms_stat_table[i].offset, sizeof *value);
      return 0;
    }
  }
  return -1;
}

MS_EXPORT uint64_t memshim_trim(void) {
  ms_guard_enter();
  uint64_t r = ms_policy_purge_now("memshim_trim");
  ms_guard_leave();
  return r;
}
