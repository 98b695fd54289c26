/* Views for people over a snapshot's sites, shared by the text report and the HTML page (which
 * gets them as data, so the rules live here only): sites merged by the Python line that names
 * them, and the frames a flame graph folds away by default. The JSON report keeps every site and
 * frame as recorded. */
#include <string.h>

#include "../util/hmap.h"
#include "write.h"

/* ---- merging sites by Python line ---- */

/* The Python frames a site is merged by: its named frame and the Python frames outside it (its
 * Python callers), when the named frame is a Python frame; none otherwise. When the named frame
 * is the user's code, only user frames count: the library frames around it (the framework that
 * called it, the import system, a stack cut short by the depth limit) do not split a line. */
static uint32_t ms_group_key_start(const ms_snap_site *site, bool *user_only) {
  const ms_snap_frame *named = ms_site_named_frame(site);
  if (!named || named->kind != MS_SNAP_PYTHON) return UINT32_MAX;
  *user_only = !ms_py_file_is_library(named->file);
  return (uint32_t)(named - site->frames);
}

static uint64_t ms_hash_str(uint64_t h, const char *s) {
  for (s = s ? s : ""; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;
}

static const ms_snap_frame *ms_next_key_frame(const ms_snap_site *site, uint32_t *k, bool user_only) {
  for (; *k < site->nframes; ++*k) {
    const ms_snap_frame *f = &site->frames[*k];
    if (f->kind == MS_SNAP_PYTHON && !(user_only && ms_py_file_is_library(f->file))) {
      ++*k;
      return f;
    }
  }
  return NULL;
}

static uint64_t ms_group_hash(const ms_snap_site *site, uint32_t k, bool user_only) {
  uint64_t h = user_only ? 14695981039346656037ull : 1469598103934665603ull;
  for (const ms_snap_frame *f; (f = ms_next_key_frame(site, &k, user_only));) {
    h = ms_hash_str(ms_hash_str(h, f->file), f->function);
    h = (h ^ f->line) * 1099511628211ull;
  }
  return h;
}

static bool ms_str_eq(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

static bool ms_group_equal(const ms_snap_site *a, uint32_t ka, bool ua, const ms_snap_site *b, uint32_t kb, bool ub) {
  if (ua != ub) return false;
  for (;;) {
    const ms_snap_frame *fa = ms_next_key_frame(a, &ka, ua), *fb = ms_next_key_frame(b, &kb, ub);
    if (!fa || !fb) return fa == fb;
    if (fa->line != fb->line || !ms_str_eq(fa->file, fb->file) || !ms_str_eq(fa->function, fb->function)) return false;
  }
}

/* The group table (util/hmap.h, in the arena): each group's first site (index + 1, 0 = empty)
 * with its key's hash; a key is a site of the snapshot. */
typedef struct {
  uint32_t home, site1;
} ms_group_slot;
typedef struct {
  const ms_snapshot *s;
  const uint32_t *start;
  const bool *user;
  uint32_t i, home;
} ms_group_key;
#define MS_GROUP_EMPTY(e) ((e)->site1 == 0)
#define MS_GROUP_HOME(e) ((e)->home)
#define MS_GROUP_KEY_HOME(k) ((k)->home)
static inline bool ms_group_slot_eq(const ms_group_slot *e, const ms_group_key *k) {
  uint32_t i = k->i, j = e->site1 - 1;
  return ms_group_equal(&k->s->sites[i], k->start[i], k->user[i], &k->s->sites[j], k->start[j], k->user[j]);
}
MS_HMAP_DEFINE(ms_group_tab, ms_group_slot, const ms_group_key *, MS_GROUP_EMPTY, MS_GROUP_HOME, MS_GROUP_KEY_HOME,
               ms_group_slot_eq, MS_HMAP_COPY, MS_HMAP_ZERO)

uint32_t *ms_snap_group_sites(const ms_snapshot *s, ms_arena *a) {
  uint32_t n = s->nsites, cap = 16;
  while (cap < 2 * (uint64_t)n && cap < (1u << 31)) cap <<= 1;
  uint32_t *group = ms_arena_array(a, n, sizeof *group);
  ms_group_slot *table = ms_arena_array(a, cap, sizeof *table);
  uint32_t *start = ms_arena_array(a, n, sizeof *start);
  bool *user = ms_arena_array(a, n, sizeof *user);
  if (!group || !table || !start || !user) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    const ms_snap_site *site = &s->sites[i];
    group[i] = i;
    start[i] = ms_group_key_start(site, &user[i]);
    if (start[i] == UINT32_MAX) continue; /* not named by a Python line: a row of its own */
    ms_group_key key = {s, start, user, i, (uint32_t)ms_group_hash(site, start[i], user[i])};
    ms_group_slot *slot = ms_group_tab_slot(table, cap, &key);
    if (MS_GROUP_EMPTY(slot)) *slot = (ms_group_slot){key.home, i + 1};
    else group[i] = slot->site1 - 1;
  }
  return group;
}

/* ---- folding frames ---- */

static const char *ms_base(const char *path) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? slash + 1 : path ? path : "";
}

/* The CPython interpreter's own code: the python executable, libpython, and the standard
 * library's extension modules (lib-dynload). */
static bool ms_module_is_interpreter(const char *module) {
  if (!module) return false;
  if (strstr(module, "/lib-dynload/")) return true;
  const char *b = ms_base(module);
  if (!strncmp(b, "lib", 3)) b += 3;
  if (strncmp(b, "python", 6) != 0) return false;
  b += 6;
  return !*b || (*b >= '0' && *b <= '9') || *b == '.';
}

static bool ms_module_is_libc(const char *module) {
  const char *b = ms_base(module);
  return !strncmp(b, "libc.so", 7) || !strncmp(b, "libc-", 5);
}

static bool ms_frame_is_entry(const char *fn) {
  static const char *const entry[] = {"_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
                                      "clone", "clone3", "__clone", "__clone3", "__clone_internal"};
  for (size_t i = 0; fn && i < sizeof entry / sizeof *entry; i++)
    if (!strcmp(fn, entry[i])) return true;
  return false;
}

void ms_site_fold(const ms_snap_site *site, char *mask) {
  uint32_t n = site->nframes;
  const ms_snap_frame *named = ms_site_named_frame(site);
  uint32_t user = UINT32_MAX, non_libc = UINT32_MAX; /* innermost user Python frame, innermost non-libc frame */
  for (uint32_t k = 0; k < n; k++) {
    const ms_snap_frame *f = &site->frames[k];
    if (user == UINT32_MAX && f->kind == MS_SNAP_PYTHON && !ms_py_file_is_library(f->file)) user = k;
    if (non_libc == UINT32_MAX && !(f->kind == MS_SNAP_NATIVE && ms_module_is_libc(f->module))) non_libc = k;
  }
  for (uint32_t k = 0; k < n; k++) {
    const ms_snap_frame *f = &site->frames[k];
    bool fold = false;
    if (f == named) fold = false;
    else if (f->kind == MS_SNAP_PYTHON)
      fold = (f->file && !strncmp(f->file, "<frozen importlib", 17)) ||
             (user != UINT32_MAX && k > user && ms_py_file_is_library(f->file));
    else if (f->kind == MS_SNAP_NATIVE)
      fold = ms_module_is_interpreter(f->module) || !strncmp(ms_base(f->module), "libmemshim", 10) ||
             ms_frame_is_plumbing(f->function) || ms_frame_is_entry(f->function) ||
             (ms_module_is_libc(f->module) && non_libc != UINT32_MAX && k > non_libc);
    mask[k] = fold ? '1' : '0';
  }
  mask[n] = 0;
}
