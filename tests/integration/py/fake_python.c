/* Looks like a CPython to memshim's discovery (the symbols it looks up, exported from a
 * preloaded library) but is not one memshim can read: the canaries must refuse it with one log
 * line and leave call sites native. Built by tests/integration/py_off.sh in variants:
 *   -DFAKE_CODE_SIZE=N        3.11 whose code objects are N bytes (the layout expects 184)
 *   -DFAKE_TYPE_ELSEWHERE     3.11 whose type names lie outside the module (another header)
 *   -DFAKE_313_COOKIE         3.13 whose _PyRuntime lacks the debug-offsets cookie
 *   -DFAKE_313_FREE_THREADED  3.13 built without the GIL
 *   -DFAKE_314_FREE_THREADED  3.14 built without the GIL (3.14t)
 *   -DFAKE_316                a 3.16 whose _Py_DebugOffsets do not have 3.15's shape */
#include <stdint.h>
#include <string.h>

typedef struct {
  intptr_t refcnt;
  void *type;
  intptr_t size;
  const char *tp_name;
  intptr_t basicsize, itemsize;
} fake_type;

#ifndef FAKE_CODE_SIZE
#define FAKE_CODE_SIZE 184
#endif

#if defined(FAKE_313_COOKIE) || defined(FAKE_313_FREE_THREADED) || defined(FAKE_314_FREE_THREADED) || \
  defined(FAKE_316)
#if defined(FAKE_314_FREE_THREADED)
#define FAKE_VERSION 0x030E00F0
#elif defined(FAKE_316)
#define FAKE_VERSION 0x031000F0
#else
#define FAKE_VERSION 0x030D00F0
#endif
const unsigned long Py_Version = FAKE_VERSION;
struct {
  char cookie[8];
  uint64_t version, free_threaded;
  uint64_t rest[160];
} _PyRuntime = {
#ifdef FAKE_313_COOKIE
  "notdebug", FAKE_VERSION, 0, {0}
#elif defined(FAKE_316)
  "xdebugpy", FAKE_VERSION, 0, {0}
#else
  "xdebugpy", FAKE_VERSION, 1, {0}
#endif
};
fake_type PyCode_Type = {1, 0, 0, "code", 200, 2};
fake_type PyUnicode_Type = {1, 0, 0, "str", 64, 0};
#else
const unsigned long Py_Version = 0x030B02F0;
#ifdef FAKE_TYPE_ELSEWHERE
#include <stdlib.h>
#define NAME(s) ((const char *)(uintptr_t)&malloc) /* a pointer into libc, as another header would give */
#else
#define NAME(s) s
#endif
fake_type PyCode_Type = {1, 0, 0, NAME("code"), FAKE_CODE_SIZE, 2};
fake_type PyUnicode_Type = {1, 0, 0, NAME("str"), 80, 0};
#endif
fake_type PyFrame_Type = {1, 0, 0, "frame", 120, 8};

int Py_IsInitialized(void) { return 1; }
void *PyGILState_GetThisThreadState(void) { return 0; }
int PyCode_Addr2Line(void *code, int addr) { return (int)(intptr_t)code + addr; }
void _PyEval_EvalFrameDefault(void) {}
