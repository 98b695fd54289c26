/* Small queries on a collected report, shared by the writers. */
#include "report.h"

const char *ms_report_verdict(const ms_report *r) {
  if (!r->has_limit || !r->leak.checked) return "none";
  return r->leak.growth > (int64_t)r->limit_bytes ? "fail" : "pass";
}

const ms_report_site *ms_report_find_site(const ms_report *r, uint32_t id) {
  for (uint32_t i = 0; i < r->nsites; i++)
    if (r->sites[i].id == id) return &r->sites[i];
  return NULL;
}
