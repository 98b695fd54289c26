/* Reading the calling thread's own Python frames straight from memory, inside a sampled
 * allocation. The thread is inside malloc, so its frame chain does not move while we read it:
 * no GIL is needed (a thread that released it, in ctypes or a torch op, still owns its chain),
 * and nothing here allocates, locks (except a cache miss's interning) or calls into Python
 * beyond PyGILState_GetThisThreadState and PyCode_Addr2Line, which only read. Every code
 * object is type-checked before use; a frame that fails a check ends the walk. */
#include "py_walk.h"

#include "../util/guard.h"

/* Per-thread cache: (code object, instruction) -> interned frame id. A code object's address
 * can be reused by another after it dies, so a hit is verified against a digest of what the
 * entry saw: the file and name string objects, their lengths and the first line. 256 entries
 * of 24 bytes: deep stacks (imports, nested handlers) thrashed a 64-entry cache. */
#define MS_PY_CACHE 256
typedef struct {
  uintptr_t code;
  int32_t addr;
  uint32_t id;
  uint64_t digest;
} ms_py_cache_entry;
static MS_TLS ms_py_cache_entry ms_py_cache[MS_PY_CACHE];

#define LOAD(T, base, off) (*(const T *)((const char *)(base) + (off)))

static uint64_t ms_py_mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 32);
}

/* The interned id for (code, addr), from the cache or by copying the names. */
static uint32_t ms_py_frame_id(const ms_py_runtime *rt, const char *code, int32_t addr) {
  const ms_py_layout *L = &rt->L;
  uintptr_t filename = LOAD(uintptr_t, code, L->co_filename), name = LOAD(uintptr_t, code, L->co_name);
  int32_t first = LOAD(int32_t, code, L->co_firstlineno);
  if (!filename || !name) return 0;
  uint64_t digest = ms_py_mix(ms_py_mix(ms_py_mix(filename, name), (uint64_t)(uint32_t)first),
                              (uint64_t)LOAD(int64_t, filename, MS_PY_STR_LENGTH) << 32 ^
                                (uint64_t)LOAD(int64_t, name, MS_PY_STR_LENGTH));
  uint64_t h = ms_py_mix((uintptr_t)code, (uint64_t)(uint32_t)addr);
  ms_py_cache_entry *e = &ms_py_cache[h & (MS_PY_CACHE - 1)];
  if (e->code == (uintptr_t)code && e->addr == addr && e->digest == digest) return e->id;

  char file_buf[1024], func_buf[256];
  if (ms_py_str_utf8(L, rt->str_type, (const void *)filename, file_buf, sizeof file_buf) < 0) {
    file_buf[0] = '?';
    file_buf[1] = 0;
  }
  if (ms_py_str_utf8(L, rt->str_type, (const void *)name, func_buf, sizeof func_buf) < 0) {
    func_buf[0] = '?';
    func_buf[1] = 0;
  }
  int line = rt->addr2line(code, addr);
  if (line < 0) line = first; /* an instruction without a line (set-up code) */
  uint32_t id = ms_py_intern(file_buf, func_buf, line > 0 ? (uint32_t)line : 0);
  if (id) *e = (ms_py_cache_entry){.code = (uintptr_t)code, .addr = addr, .id = id, .digest = digest};
  return id;
}

/* Byte offset of the frame's current instruction in its code (-1 before the first), kept
 * inside the code so the line-table reader never runs past its end. */
static int32_t ms_py_frame_addr(const ms_py_layout *L, const char *f, const char *code) {
  int64_t addr, size;
  if (L->frames == MS_PY_FRAMES_OBJECT) {
    int32_t lasti = LOAD(int32_t, f, L->f_lasti);
    addr = L->lasti == MS_PY_LASTI_UNITS ? (int64_t)lasti * 2 : lasti;
    const char *bytecode = LOAD(const char *, code, L->co_code);
    size = bytecode ? LOAD(int64_t, bytecode, MS_PY_BYTES_SIZE) : 0;
  } else {
    uintptr_t instr = LOAD(uintptr_t, f, L->f_lasti);
    addr = (int64_t)(instr - ((uintptr_t)code + L->co_code));
    size = LOAD(int64_t, code, MS_PY_OB_SIZE) * 2; /* code units of co_code_adaptive */
  }
  if (addr < 0) return -1;
  if (addr >= size) addr = size - 2;
  return addr < 0 ? -1 : (int32_t)addr;
}

unsigned ms_py_walk(const ms_py_runtime *rt, uint32_t *out) {
  if (!rt->is_initialized()) return 0; /* not started yet, or finalizing: thread states go away */
  const char *ts = rt->this_tstate();
  if (!ts) return 0; /* a thread that never ran Python */
  const ms_py_layout *L = &rt->L;
  const char *f = LOAD(const char *, ts, L->ts_frame);
  if (f && L->cframe_frame >= 0) f = LOAD(const char *, f, L->cframe_frame);
  unsigned n = 0, frames = 0, steps = 0, depth = rt->depth;
  if (depth > MS_PY_DEPTH_MAX) depth = MS_PY_DEPTH_MAX;
  while (f && frames < depth && n + 2 <= MS_PY_WALK_MAX && steps++ < 2 * MS_PY_DEPTH_MAX + 64) {
    /* Finalization deletes other threads' states (and unmaps their frames) after it clears
     * the initialized flag: a thread allocating with the GIL released (a daemon thread in C
     * code) looks again before each frame, so only a read already under way can race it. */
    if ((uintptr_t)f & 7 || (steps > 1 && !rt->is_initialized())) break;
    const char *prev = LOAD(const char *, f, L->f_previous);
    uint8_t owner = L->frames == MS_PY_FRAMES_INTERP ? LOAD(uint8_t, f, L->f_owner) : 0;
    if (L->entry == MS_PY_ENTRY_SHIM && owner >= L->owner_cstack) {
      /* the shim a C activation pushes below the first frame it runs */
      out[n++] = MS_PY_GROUP_END;
      f = prev;
      continue;
    }
    if (L->frames == MS_PY_FRAMES_OBJECT && LOAD(uintptr_t, f, MS_PY_OB_TYPE) != rt->frame_type) break;
    const char *code = (const char *)(LOAD(uintptr_t, f, L->f_code) & ~(uintptr_t)L->f_code_tag);
    if (!code || ((uintptr_t)code & 7) || LOAD(uintptr_t, code, MS_PY_OB_TYPE) != rt->code_type) break;
    int32_t addr = ms_py_frame_addr(L, f, code);
    /* A frame still setting up (copying free variables, making cells) has not started its
     * function yet; CPython leaves it out of tracebacks too. */
    bool incomplete = L->co_firsttraceable && owner != L->owner_generator &&
                      (addr < 0 || addr / 2 < LOAD(int32_t, code, L->co_firsttraceable));
    if (!incomplete) {
      uint32_t id = ms_py_frame_id(rt, code, addr);
      if (id) {
        out[n++] = id;
        frames++;
      }
    }
    if (L->entry == MS_PY_ENTRY_EACH || (L->entry == MS_PY_ENTRY_FLAG && LOAD(uint8_t, f, L->f_is_entry)))
      out[n++] = MS_PY_GROUP_END;
    f = prev;
  }
  return n;
}
