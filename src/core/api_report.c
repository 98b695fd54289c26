/* memshim_report_json and memshim_peak_reset (include/memshim.h): what a test harness asks of
 * the process it runs in. Nothing here is on the allocation path. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "../../include/memshim.h"
#include "../backend/backend.h"
#include "../backend/jemalloc_static.h"
#include "../profile/stack_table.h"
#include "../util/export.h"
#include "../util/guard.h"
#include "api_report.h"
#include "reporting.h"

MS_EXPORT int memshim_report_json(const char *path) {
  if (!path || !*path) {
    errno = EINVAL;
    return -1;
  }
  ms_guard_enter();
  int err = ms_report_json_to(path, "api");
  ms_guard_leave();
  if (!err) return 0;
  errno = err;
  return -1;
}

/* jemalloc's per-thread peak (thread.peak.*, jemalloc 5.3): kept by jemalloc's own event
 * counters whatever memshim does, read and reset only here. */
uint64_t ms_api_thread_peak(void) {
  ms_backend_select();
  if (ms_be_kind != MS_BE_JEMALLOC) return 0;
  uint64_t v = 0;
  size_t len = sizeof v;
  return ms_je_mallctl("thread.peak.read", &v, &len, NULL, 0) == 0 ? v : 0;
}

MS_EXPORT void memshim_peak_reset(void) {
  ms_guard_enter();
  ms_backend_select();
  if (ms_be_kind == MS_BE_JEMALLOC) ms_je_mallctl("thread.peak.reset", NULL, NULL, NULL, 0);
  ms_stacks_peak_reset();
  ms_guard_leave();
}
