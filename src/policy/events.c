/* The policy's event ring (policy.h): the last MS_EVENTS_KEPT purges, file-mapping drops and
 * soft-limit crossings, for the timeline. Writers are the monitor thread and memshim_trim. */
#include <pthread.h>
#include <string.h>

#include "../util/job.h"
#include "policy.h"
#include "policy_internal.h"

static pthread_mutex_t ms_event_lock = PTHREAD_MUTEX_INITIALIZER;
static ms_policy_event ms_events[MS_EVENTS_KEPT];
static uint64_t ms_event_seq; /* sequence number of the newest event; 0 = none yet */

void ms_policy_event_push(ms_event_kind kind, uint64_t bytes, const char *trigger) {
  pthread_mutex_lock(&ms_event_lock);
  uint64_t seq = ++ms_event_seq;
  ms_policy_event *ev = &ms_events[seq % MS_EVENTS_KEPT];
  *ev = (ms_policy_event){.seq = seq, .t_ms = ms_monitor_now_ms(), .kind = kind, .bytes = bytes};
  strncpy(ev->trigger, trigger ? trigger : "", sizeof ev->trigger - 1);
  pthread_mutex_unlock(&ms_event_lock);
}

unsigned ms_policy_events_read(uint64_t after, ms_policy_event *out, unsigned n) {
  unsigned got = 0;
  pthread_mutex_lock(&ms_event_lock);
  uint64_t oldest = ms_event_seq > MS_EVENTS_KEPT ? ms_event_seq - MS_EVENTS_KEPT + 1 : 1;
  for (uint64_t s = after + 1 > oldest ? after + 1 : oldest; s <= ms_event_seq && got < n; s++)
    out[got++] = ms_events[s % MS_EVENTS_KEPT];
  pthread_mutex_unlock(&ms_event_lock);
  return got;
}

const char *ms_policy_event_kind_name(ms_event_kind k) {
  switch (k) {
    case MS_EVENT_PURGE: return "purge";
    case MS_EVENT_MMAP_DROP: return "mmap_drop";
    case MS_EVENT_RSS_LIMIT: return "rss_limit";
    case MS_EVENT_PRESSURE: return "pressure";
  }
  return "other";
}

void ms_policy_events_atfork_prepare(void) { pthread_mutex_lock(&ms_event_lock); }
void ms_policy_events_atfork_parent(void) { pthread_mutex_unlock(&ms_event_lock); }
void ms_policy_events_atfork_child(void) { pthread_mutex_init(&ms_event_lock, NULL); }
