/* When to purge the heap (policy_internal.h). Pure: the monitor job feeds it observations and
 * does what it says, the unit tests feed it made-up ones. */
#include "policy_internal.h"

void ms_heap_state_init(ms_heap_state *st, uint64_t now_ms, uint64_t live) {
  *st = (ms_heap_state){.last_live = live, .last_large_free_ms = now_ms};
}

ms_heap_decision ms_heap_decide(const ms_heap_cfg *cfg, ms_heap_state *st, const ms_heap_obs *obs) {
  ms_heap_decision d = {MS_TRIGGER_NONE, 0};
  bool large_free = obs->live + MS_LARGE_FREE_BYTES <= st->last_live;
  /* An unload: live fell by retained_max or more over consecutive looks, and has stopped falling. */
  bool unload_done = false;
  if (large_free) {
    st->last_large_free_ms = obs->now_ms;
    st->idle_done = false;
    st->falling_bytes += st->last_live - obs->live;
  } else {
    unload_done = cfg->retained_max && st->falling_bytes >= cfg->retained_max;
    st->falling_bytes = 0;
  }
  st->last_live = obs->live;
  if (obs->retained < st->retained_floor) st->retained_floor = obs->retained; /* reused since */
  uint64_t returnable = obs->retained - st->retained_floor;

  if (cfg->rss_soft_limit && obs->rss > cfg->rss_soft_limit) {
    if (!st->over_limit) d.crossed = 1;
    st->over_limit = true;
    if (returnable >= MS_PURGE_MIN_BYTES) d.trigger = MS_TRIGGER_RSS;
  } else if (st->over_limit) {
    st->over_limit = false;
    d.crossed = -1;
  }
  if (d.trigger == MS_TRIGGER_NONE && cfg->retained_max && returnable >= cfg->retained_max)
    d.trigger = MS_TRIGGER_RETAINED;
  /* After an unload the floor does not count: with glibc it is free chunks a trim already
   * returned, which the program used again (faulting their pages back in) and freed again —
   * fordblks then reads as before, though the pages are resident once more. */
  if (d.trigger == MS_TRIGGER_NONE && unload_done && obs->retained >= MS_PURGE_MIN_BYTES)
    d.trigger = MS_TRIGGER_UNLOAD;
  if (d.trigger == MS_TRIGGER_NONE && cfg->purge_while_falling && large_free && cfg->retained_max &&
      st->falling_bytes >= cfg->retained_max && obs->retained >= MS_PURGE_MIN_BYTES)
    d.trigger = MS_TRIGGER_UNLOAD;
  if (d.trigger == MS_TRIGGER_NONE && cfg->idle_ms && !st->idle_done &&
      obs->now_ms - st->last_large_free_ms >= cfg->idle_ms && returnable >= MS_PURGE_MIN_BYTES) {
    d.trigger = MS_TRIGGER_IDLE;
    st->idle_done = true;
  }
  return d;
}

/* Only what the purge saw and could not return becomes the floor: bytes freed by other threads
 * while it ran (an unload in progress) stay returnable, so the purge they need is not held back.
 * jemalloc gives back every unused page it sees, so what a purge that returned something leaves
 * counted was freed while it ran (a thread freeing what it allocated a moment before, pages of
 * an arena whose own purge was under way): all returnable. Only glibc keeps returned free
 * chunks in its figure. A purge that returned nothing sets the floor on either backend, so a
 * heap the allocator will not give back is not asked again until it grows. */
void ms_heap_after_purge(const ms_heap_cfg *cfg, ms_heap_state *st, uint64_t retained_before,
                         uint64_t retained_after) {
  if (!cfg->free_stays_counted && retained_after < retained_before)
    st->retained_floor = 0;
  else
    st->retained_floor = retained_after < retained_before ? retained_after : retained_before;
}

bool ms_heap_pending(const ms_heap_cfg *cfg, const ms_heap_state *st) {
  return st->falling_bytes > 0 || st->over_limit || (cfg->idle_ms && !st->idle_done);
}

const char *ms_heap_trigger_name(ms_heap_trigger t) {
  switch (t) {
  case MS_TRIGGER_RETAINED: return "retained";
  case MS_TRIGGER_IDLE: return "idle";
  case MS_TRIGGER_RSS: return "rss_soft_limit";
  case MS_TRIGGER_UNLOAD: return "unload";
  default: return "none";
  }
}

int ms_pressure_decide(bool *over, uint64_t limit, uint64_t pct, const ms_cgroup_state *st) {
  uint64_t mark = limit / 100 * pct;
  uint64_t low = pct > MS_PRESSURE_HYST_PCT ? limit / 100 * (pct - MS_PRESSURE_HYST_PCT) : 0;
  bool by_usage = limit && pct && st->has_usage && st->usage >= mark;
  bool by_psi = st->has_psi && st->psi_some_avg10 >= MS_PSI_STALL;
  if (!*over && (by_usage || by_psi)) {
    *over = true;
    return by_usage ? MS_PRESSURE_BY_USAGE : MS_PRESSURE_BY_PSI;
  }
  if (*over && !(limit && st->has_usage && st->usage >= low) && !by_psi) {
    *over = false;
    return -1;
  }
  return 0;
}
