/* Finding the interpreter at run time, on cold paths only (the constructor, the profiler's
 * snapshot job): dlsym(RTLD_DEFAULT) finds a shared libpython and an executable that exports
 * the C API (Debian's python3.x). No Python headers are used at build time: the version picks
 * a built-in layout (py_layout.c), which must then agree with the interpreter's own type
 * objects (and on 3.13 with its _Py_DebugOffsets). Anything unknown or mismatching turns the
 * feature off with one log line; a process without Python gets no line at all. */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../config/options.h"
#include "../util/elf_sym.h"
#include "../util/log.h"
#include "py_walk.h"
#include "pyframes.h"

static ms_py_runtime ms_py_rt_storage;
static const ms_py_runtime *ms_py_rt; /* published with release once complete */
static bool ms_py_looking;            /* MEMSHIM_PY_STACKS on, no verdict yet */
static unsigned long long ms_py_seen_adds;

const ms_py_runtime *ms_py_runtime_get(void) { return __atomic_load_n(&ms_py_rt, __ATOMIC_ACQUIRE); }

/* The module an address belongs to (its load address), or 0. */
static uintptr_t ms_py_module_of(const void *p) {
  Dl_info di;
  return p && dladdr(p, &di) ? (uintptr_t)di.dli_fbase : 0;
}

static int ms_py_count_adds(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  *(unsigned long long *)arg = info->dlpi_adds;
  return 1;
}

/* Finds the split-off part of _PyEval_EvalFrameDefault (ms_py_split_part) in the module that
 * holds it, through its .eh_frame_hdr. */
typedef struct {
  uintptr_t lo, hi, found_lo, found_hi; /* the symbol's extent; the part found, or 0 */
} ms_py_split_arg;

static int ms_py_split_cb(struct dl_phdr_info *info, size_t size, void *argp) {
  (void)size;
  ms_py_split_arg *a = argp;
  const ElfW(Phdr) *hdr_ph = NULL;
  bool mine = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && a->lo >= info->dlpi_addr + ph->p_vaddr &&
        a->lo < info->dlpi_addr + ph->p_vaddr + ph->p_memsz)
      mine = true;
    if (ph->p_type == PT_GNU_EH_FRAME) hdr_ph = ph;
  }
  if (!mine) return 0;
  if (hdr_ph)
    ms_py_split_part(a->lo, a->hi, (const uint8_t *)(info->dlpi_addr + hdr_ph->p_vaddr), &a->found_lo, &a->found_hi);
  return 1;
}

/* The feature stays off for this interpreter: say why, once. */
static void ms_py_refuse(const char *version, const char *why) {
  ms_py_looking = false;
  ms_log_error("Python call sites off: CPython %s: %s; call sites stay native", version, why);
}

/* One look for an interpreter. Returns when the search is over (found or refused) or when
 * there is no Python in the process yet. */
static void ms_py_look(void) {
  void *is_init = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
  if (!is_init) return; /* no Python (yet): nothing to say */
  uintptr_t module = ms_py_module_of(is_init);

  char version[32] = "?";
  unsigned major = 0, minor = 0;
  const unsigned long *version_hex = dlsym(RTLD_DEFAULT, "Py_Version"); /* 3.11+ */
  if (version_hex && ms_py_module_of(version_hex) == module) {
    major = (unsigned)(*version_hex >> 24);
    minor = (unsigned)(*version_hex >> 16) & 0xff;
    snprintf(version, sizeof version, "%u.%u.%u", major, minor, (unsigned)(*version_hex >> 8) & 0xff);
  } else {
    version_hex = NULL;
    const char *(*get_version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
    const char *v = get_version ? get_version() : NULL;
    if (!v || !ms_py_version_parse(v, &major, &minor)) {
      ms_py_refuse("?", "its version cannot be read");
      return;
    }
    size_t n = strcspn(v, " ");
    snprintf(version, sizeof version, "%.*s", (int)(n < sizeof version ? n : sizeof version - 1), v);
  }
  const ms_py_layout *base = ms_py_layout_for(major, minor);
  /* Newer than this memshim: read through the offsets it publishes when their table has the
   * shape of the newest one known (ms_py_debug_offsets_read checks), with that version's rules
   * for frames; the code and str canaries below check the result too. */
  if (!base && major == 3 && minor > MS_PY_NEWEST_MINOR) base = ms_py_layout_for(3, MS_PY_NEWEST_MINOR);
  if (!base) {
    ms_py_refuse(version, "not supported (CPython 3.8 to 3.15 are)");
    return;
  }

  ms_py_runtime *rt = &ms_py_rt_storage;
  memset(rt, 0, sizeof *rt);
  static const char *const names[] = {"PyGILState_GetThisThreadState", "PyCode_Addr2Line", "PyCode_Type",
                                      "PyUnicode_Type", "_PyEval_EvalFrameDefault"};
  void *sym[5];
  for (int i = 0; i < 5; i++) {
    sym[i] = dlsym(RTLD_DEFAULT, names[i]);
    if (!sym[i] || ms_py_module_of(sym[i]) != module) {
      char why[96];
      snprintf(why, sizeof why, "%s is %s", names[i], sym[i] ? "in another module" : "not exported");
      ms_py_refuse(version, why);
      return;
    }
  }
  void *frame_type = dlsym(RTLD_DEFAULT, "PyFrame_Type");
  /* Debug builds count references (and may change object headers): not read. */
  void *ref_total = dlsym(RTLD_DEFAULT, minor >= 12 ? "_Py_GetGlobalRefTotal" : "_Py_RefTotal");
  if (ref_total && ms_py_module_of(ref_total) == module) {
    ms_py_refuse(version, "a debug build");
    return;
  }

  char why[256];
  rt->L = *base;
  if (minor >= 13) {
    void *runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
    if (!runtime || !version_hex || ms_py_module_of(runtime) != module) {
      ms_py_refuse(version, "_PyRuntime or Py_Version is not exported");
      return;
    }
    if (!ms_py_debug_offsets_read(runtime, *version_hex, base, &rt->L, why, sizeof why)) {
      ms_py_refuse(version, why);
      return;
    }
  }
  /* The canaries read type names through pointers: only follow them into the same module. */
  const void *types[3] = {sym[2], sym[3], frame_type};
  for (int i = 0; i < 3; i++) {
    if (!types[i]) continue;
    const void *tp_name = *(const void *const *)((const char *)types[i] + MS_PY_TP_NAME);
    if (ms_py_module_of(tp_name) != module) {
      ms_py_refuse(version, "its type objects are not laid out as in a release build with the GIL");
      return;
    }
  }
  if (!ms_py_layout_check(&rt->L, sym[2], sym[3], frame_type, why, sizeof why)) {
    ms_py_refuse(version, why);
    return;
  }

  rt->this_tstate = (void *(*)(void))sym[0];
  rt->addr2line = (int (*)(const void *, int))sym[1];
  rt->is_initialized = (int (*)(void))is_init;
  rt->code_type = (uintptr_t)sym[2];
  rt->str_type = (uintptr_t)sym[3];
  rt->frame_type = (uintptr_t)frame_type;
  rt->depth = (unsigned)ms_opt_u64(MS_OPT_PY_DEPTH);
  /* Where _PyEval_EvalFrameDefault's code is: its size from the symbol table entry. Without
   * it Python frames still come, after the native ones instead of in their place. */
  Dl_info di;
  const ElfW(Sym) *es = NULL;
  if (dladdr1(sym[4], &di, (void **)&es, RTLD_DL_SYMENT) && es && es->st_size) {
    rt->eval_lo = (uintptr_t)sym[4];
    rt->eval_hi = rt->eval_lo + es->st_size;
    ms_py_split_arg a = {.lo = rt->eval_lo, .hi = rt->eval_hi};
    dl_iterate_phdr(ms_py_split_cb, &a);
    rt->eval2_lo = a.found_lo;
    rt->eval2_hi = a.found_hi;
    if (a.found_lo)
      ms_log_debug("Python call sites: _PyEval_EvalFrameDefault continues at %#lx-%#lx", (unsigned long)a.found_lo,
                   (unsigned long)a.found_hi);
  }
  ms_elf_text_range((uintptr_t)sym[4], &rt->interp_lo, &rt->interp_hi);
  ms_elf_text_range((uintptr_t)&getpid, &rt->libc_lo, &rt->libc_hi);

  ms_py_looking = false;
  __atomic_store_n(&ms_py_rt, rt, __ATOMIC_RELEASE);
  if (minor > MS_PY_NEWEST_MINOR)
    ms_log_debug("Python call sites on: CPython %s read through its _Py_DebugOffsets as 3.%u's", version,
                 MS_PY_NEWEST_MINOR);
  ms_log_debug("Python call sites on: CPython %s, up to %u frames", version, rt->depth);
}

void ms_py_init(void) {
  if (!ms_opt_bool(MS_OPT_PY_STACKS)) return;
  ms_py_looking = true;
  dl_iterate_phdr(ms_py_count_adds, &ms_py_seen_adds);
  ms_py_look();
}

void ms_py_poll(void) {
  if (!ms_py_looking) return;
  unsigned long long adds = 0;
  dl_iterate_phdr(ms_py_count_adds, &adds);
  if (adds == ms_py_seen_adds) return; /* nothing was loaded since the last look */
  ms_py_seen_adds = adds;
  ms_py_look();
}

/* The interpreter has started and is shutting down now (Py_IsInitialized turns 0 at the start
 * of Py_FinalizeEx, after the atexit handlers, before modules are torn down and their objects
 * freed). A pure read of the runtime's flag: no GIL needed. */
bool ms_py_finalizing(void) {
  static bool seen_initialized; /* the snapshot job's only */
  const ms_py_runtime *rt = ms_py_runtime_get();
  if (!rt) return false;
  if (rt->is_initialized()) {
    seen_initialized = true;
    return false;
  }
  return seen_initialized;
}
