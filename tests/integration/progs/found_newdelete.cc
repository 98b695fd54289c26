// Every operator new/delete variant (8 new, 12 delete), called explicitly, plus the
// standard's failure rules: std::bad_alloc for an impossible size, nullptr from the nothrow
// forms, the new-handler called before giving up. When memshim is loaded (dlsym), each
// variant must move memshim's counters by exactly one call: proof that it was interposed
// and not served by libstdc++'s or libjemalloc's own operator.
// Prints "found_newdelete: N checks, F failed, counters checked|not loaded".
#include <map>
#include <new>
#include <string>
#include <vector>

#define FOUND_NAME "found_newdelete"
#include "found_check.h"

static volatile size_t huge = SIZE_MAX / 2;  // volatile: no compile-time reasoning

static int handler_calls;
static void handler_give_up_second_time() {
  if (++handler_calls >= 2) std::set_new_handler(nullptr);
}

struct alignas(256) Wide {
  char bytes[256];
};

int main() {
  found_init();
  const std::align_val_t al64{64}, al4k{4096};
  const std::nothrow_t &nt = std::nothrow;

  // The 8 new forms, each paired with a matching delete form; 12 deletes in all.
  mark(); void *p1 = ::operator new(40); expect_calls("new", 1, 0);
  mark(); ::operator delete(p1); expect_calls("delete", 0, 1);
  mark(); void *p2 = ::operator new[](40); expect_calls("new[]", 1, 0);
  mark(); ::operator delete[](p2); expect_calls("delete[]", 0, 1);
  mark(); void *p3 = ::operator new(40, nt); expect_calls("new nothrow", 1, 0);
  mark(); ::operator delete(p3, nt); expect_calls("delete nothrow", 0, 1);
  mark(); void *p4 = ::operator new[](40, nt); expect_calls("new[] nothrow", 1, 0);
  mark(); ::operator delete[](p4, nt); expect_calls("delete[] nothrow", 0, 1);
  CHECK(p1 && p2 && p3 && p4, "plain/nothrow new returned NULL");

  mark(); void *s1 = ::operator new(72); expect_calls("new (for sized delete)", 1, 0);
  mark(); ::operator delete(s1, (size_t)72); expect_calls("sized delete", 0, 1);
  mark(); void *s2 = ::operator new[](72); expect_calls("new[] (for sized delete[])", 1, 0);
  mark(); ::operator delete[](s2, (size_t)72); expect_calls("sized delete[]", 0, 1);

  mark(); void *a1 = ::operator new(100, al64); expect_calls("aligned new", 1, 0);
  CHECK(aligned_to(a1, 64), "aligned new(64) = %p", a1);
  mark(); ::operator delete(a1, al64); expect_calls("aligned delete", 0, 1);
  mark(); void *a2 = ::operator new[](100, al4k); expect_calls("aligned new[]", 1, 0);
  CHECK(aligned_to(a2, 4096), "aligned new[](4096) = %p", a2);
  mark(); ::operator delete[](a2, al4k); expect_calls("aligned delete[]", 0, 1);
  mark(); void *a3 = ::operator new(100, al64, nt); expect_calls("aligned nothrow new", 1, 0);
  CHECK(a3 && aligned_to(a3, 64), "aligned nothrow new = %p", a3);
  mark(); ::operator delete(a3, al64, nt); expect_calls("aligned nothrow delete", 0, 1);
  mark(); void *a4 = ::operator new[](100, al4k, nt); expect_calls("aligned nothrow new[]", 1, 0);
  CHECK(a4 && aligned_to(a4, 4096), "aligned nothrow new[] = %p", a4);
  mark(); ::operator delete[](a4, al4k, nt); expect_calls("aligned nothrow delete[]", 0, 1);
  void *a5 = ::operator new(300, al4k);
  mark(); ::operator delete(a5, (size_t)300, al4k); expect_calls("sized aligned delete", 0, 1);
  void *a6 = ::operator new[](300, al4k);
  mark(); ::operator delete[](a6, (size_t)300, al4k); expect_calls("sized aligned delete[]", 0, 1);

  // Every alignment the aligned forms may see, up to 2 MiB.
  for (size_t a = 1; a <= (1u << 21); a <<= 1) {
    void *p = ::operator new(a + 3, std::align_val_t{a});
    CHECK(aligned_to(p, a), "new(align %zu) = %p", a, p);
    ::operator delete(p, a + 3, std::align_val_t{a});
  }
  // new-expressions of an over-aligned type use the aligned forms.
  Wide *w = new Wide[3];
  CHECK(aligned_to(w, 256), "new Wide[3] = %p", (void *)w);
  delete[] w;

  // delete of nullptr is a no-op for every form.
  mark();
  ::operator delete(nullptr);
  ::operator delete[](nullptr);
  ::operator delete(nullptr, al64);
  expect_calls("delete nullptr", 0, 0);

  // Failure: bad_alloc from every throwing form.
  int thrown = 0;
  try { (void)::operator new(huge); } catch (const std::bad_alloc &) { thrown++; }
  try { (void)::operator new[](huge); } catch (const std::bad_alloc &) { thrown++; }
  try { (void)::operator new(huge, al64); } catch (const std::bad_alloc &) { thrown++; }
  try { (void)::operator new[](huge, al4k); } catch (const std::bad_alloc &) { thrown++; }
  CHECK(thrown == 4, "std::bad_alloc thrown %d times of 4", thrown);
  // nullptr from every nothrow form.
  CHECK(::operator new(huge, nt) == nullptr, "nothrow new of an impossible size");
  CHECK(::operator new[](huge, nt) == nullptr, "nothrow new[] of an impossible size");
  CHECK(::operator new(huge, al64, nt) == nullptr, "aligned nothrow new of an impossible size");
  CHECK(::operator new[](huge, al64, nt) == nullptr, "aligned nothrow new[] of an impossible size");

  // The new-handler is called until it gives up (it removes itself on the second call).
  handler_calls = 0;
  std::set_new_handler(handler_give_up_second_time);
  bool caught = false;
  try { (void)::operator new(huge); } catch (const std::bad_alloc &) { caught = true; }
  CHECK(caught && handler_calls == 2, "throwing new: handler called %d times, bad_alloc %s", handler_calls,
        caught ? "thrown" : "not thrown");
  handler_calls = 0;
  std::set_new_handler(handler_give_up_second_time);
  void *n = ::operator new(huge, nt);
  CHECK(n == nullptr && handler_calls == 2, "nothrow new: handler called %d times, result %p", handler_calls, n);
  handler_calls = 0;
  std::set_new_handler(handler_give_up_second_time);
  caught = false;
  try { (void)::operator new(huge, al64); } catch (const std::bad_alloc &) { caught = true; }
  CHECK(caught && handler_calls == 2, "aligned new: handler called %d times", handler_calls);

  // Ordinary C++: containers, strings, a map, freed again; live bytes come back (memshim).
  uint64_t live0 = stat_of("heap.live");
  {
    std::map<int, std::string> m;
    std::vector<std::string> v;
    for (int i = 0; i < 20000; i++) {
      m[i] = std::string(20 + i % 100, 'x');
      v.push_back(m[i] + "y");
    }
    uint64_t live1 = stat_of("heap.live");
    if (stat_fn) CHECK(live1 > live0 + 20000 * 40, "heap.live %llu -> %llu with a 20000-entry map",
                       (unsigned long long)live0, (unsigned long long)live1);
  }
  // jemalloc's counts are exact; glibc's mallinfo2 counts blocks parked in tcache and
  // fastbins as in use, so allow that much slack there.
  typedef const char *(*backend_fn_t)();
  backend_fn_t backend = (backend_fn_t)dlsym(RTLD_DEFAULT, "memshim_backend");
  uint64_t slack = backend && std::string(backend()) == "glibc" ? (256u << 10) : 4096;
  uint64_t live2 = stat_of("heap.live");
  if (stat_fn) CHECK(live2 <= live0 + slack, "heap.live %llu -> %llu after the map was destroyed",
                     (unsigned long long)live0, (unsigned long long)live2);

  return found_report();
}
