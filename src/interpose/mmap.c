/* mmap, mmap64, munmap, mremap, mprotect: raw syscalls plus the file-mapping registry.
 *
 * The allocator itself maps its memory through these names, so nothing here allocates, logs or
 * calls back into libc beyond syscall(2); the one exception is a new file mapping the registry
 * will track while profiling is on, whose call site is unwound (under the recursion guard, before
 * the lock) so that reports name it. An anonymous mapping made while no file mapping is
 * tracked costs one flag test and one atomic load on top of the syscall. For a tracked range,
 * the registry lock is held across the syscall and the update, so the residency cap (which drops
 * pages under the same lock) never sees a range that was unmapped and reused behind its back.
 * The lock names the range the call may change: a fork child copied while the call was under
 * way stops tracking it (mmap_registry.h). No fork handler takes this lock, so a thread that
 * waits here never holds up fork. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "../core/activity.h"
#include "../policy/mmap_registry.h"
#include "../profile/profile.h"
#include "../util/export.h"
#include "../util/sys.h"


MS_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  bool fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
  bool wanted = ms_mmap_registry_wants(len, prot, flags, fd);
  if (!wanted && !(fixed && ms_mmap_registry_busy())) return ms_sys_mmap(addr, len, prot, flags, fd, off);
  /* The call site for reports, taken before the lock: unwinding may map files itself. */
  uint32_t site = wanted ? ms_profile_capture_site() : 0;
  ms_mmap_lock_span((uintptr_t)addr, fixed ? len : 0, 0, 0);
  void *p = ms_sys_mmap(addr, len, prot, flags, fd, off);
  int saved = errno;
  bool capped = p != MAP_FAILED && ms_mmap_note_map_locked((uintptr_t)p, len, prot, flags, fd, site);
  ms_mmap_unlock();
  if (capped) ms_activity_capped_mapping(); /* a cap has something to watch: the monitor is needed */
  errno = saved;
  return p;
}

MS_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mmap(addr, len, prot, flags, fd, off);
}

MS_EXPORT int munmap(void *addr, size_t len) {
  if (!ms_mmap_registry_busy()) return (int)syscall(SYS_munmap, addr, len);
  ms_mmap_lock_span((uintptr_t)addr, len, 0, 0);
  int r = (int)syscall(SYS_munmap, addr, len);
  int saved = errno;
  if (r == 0) ms_mmap_note_unmap_locked((uintptr_t)addr, len);
  ms_mmap_unlock();
  errno = saved;
  return r;
}

MS_EXPORT void *mremap(void *old_addr, size_t old_len, size_t new_len, int flags, ...) {
  void *new_addr = NULL;
  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
    va_list ap;
    va_start(ap, flags);
    new_addr = va_arg(ap, void *);
    va_end(ap);
  }
  if (!ms_mmap_registry_busy()) {
    long r = syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
    return r == -1 ? MAP_FAILED : (void *)r;
  }
  ms_mmap_lock_span((uintptr_t)old_addr, old_len, (uintptr_t)new_addr, new_addr ? new_len : 0);
  long r = syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
  int saved = errno;
  /* With MREMAP_DONTUNMAP the old range stays mapped, emptied: it leaves the registry too. */
  if (r != -1) ms_mmap_note_remap_locked((uintptr_t)old_addr, old_len, (uintptr_t)r, new_len);
  ms_mmap_unlock();
  errno = saved;
  return r == -1 ? MAP_FAILED : (void *)r;
}

MS_EXPORT int mprotect(void *addr, size_t len, int prot) {
  if (!(prot & PROT_WRITE) || !ms_mmap_registry_busy()) return (int)syscall(SYS_mprotect, addr, len, prot);
  ms_mmap_lock_span((uintptr_t)addr, len, 0, 0);
  int r = (int)syscall(SYS_mprotect, addr, len, prot);
  int saved = errno;
  if (r == 0) ms_mmap_note_protect_locked((uintptr_t)addr, len, prot);
  ms_mmap_unlock();
  errno = saved;
  return r;
}
