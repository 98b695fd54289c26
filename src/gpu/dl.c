/* libc's dlsym and dlvsym (see dl.h). dlvsym is looked up in libc's dynamic symbol table with
 * its GNU hash table (DT_HASH when there is none), the way the dynamic linker itself does; every
 * version of dlvsym in libc is the same function, so the first definition found is the one. */
#include "dl.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include "../core/log.h"

ms_dlsym_fn ms_dl_real_dlsym_ptr;
ms_dlvsym_fn ms_dl_real_dlvsym_ptr;

static uint32_t ms_elf_gnu_hash(const char *s) {
  uint32_t h = 5381;
  for (; *s; s++) h = h * 33 + (unsigned char)*s;
  return h;
}

/* An address from the dynamic section: glibc relocates these in place on most targets, not on
 * all (read-only dynamic sections); an unrelocated one is smaller than the load address. */
static uintptr_t ms_elf_dyn_ptr(uintptr_t base, ElfW(Addr) v) { return v < base ? base + v : v; }

typedef struct {
  const char *name;
  void *found;
} ms_elf_query;

static void *ms_elf_lookup(const struct dl_phdr_info *info, const char *name) {
  const ElfW(Dyn) *dyn = NULL;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  if (!dyn) return NULL;
  uintptr_t base = info->dlpi_addr;
  const ElfW(Sym) *symtab = NULL;
  const char *strtab = NULL;
  const uint32_t *gnu = NULL, *sysv = NULL;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    switch (dyn->d_tag) {
      case DT_SYMTAB: symtab = (const ElfW(Sym) *)ms_elf_dyn_ptr(base, dyn->d_un.d_ptr); break;
      case DT_STRTAB: strtab = (const char *)ms_elf_dyn_ptr(base, dyn->d_un.d_ptr); break;
      case DT_GNU_HASH: gnu = (const uint32_t *)ms_elf_dyn_ptr(base, dyn->d_un.d_ptr); break;
      case DT_HASH: sysv = (const uint32_t *)ms_elf_dyn_ptr(base, dyn->d_un.d_ptr); break;
      default: break;
    }
  }
  if (!symtab || !strtab) return NULL;
  if (gnu) {
    uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_words = gnu[2];
    const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(gnu + 4) + bloom_words);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t h = ms_elf_gnu_hash(name);
    uint32_t i = nbuckets ? buckets[h % nbuckets] : 0;
    if (i < symoffset) return NULL;
    for (;; i++) {
      uint32_t h2 = chain[i - symoffset];
      const ElfW(Sym) *s = &symtab[i];
      if ((h | 1) == (h2 | 1) && s->st_shndx != SHN_UNDEF && strcmp(strtab + s->st_name, name) == 0)
        return (void *)(base + s->st_value);
      if (h2 & 1) return NULL;
    }
  }
  if (sysv) { /* nchain = number of symbols */
    for (uint32_t i = 0; i < sysv[1]; i++) {
      const ElfW(Sym) *s = &symtab[i];
      if (s->st_shndx != SHN_UNDEF && strcmp(strtab + s->st_name, name) == 0) return (void *)(base + s->st_value);
    }
  }
  return NULL;
}

/* glibc 2.34 and later define dlvsym in libc.so.6; older ones in libdl.so.2. */
static int ms_elf_find_in_libc(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  ms_elf_query *q = arg;
  const char *slash = strrchr(info->dlpi_name, '/');
  const char *base = slash ? slash + 1 : info->dlpi_name;
  if (strncmp(base, "libc.so.", 8) != 0 && strncmp(base, "libdl.so.", 9) != 0) return 0;
  q->found = ms_elf_lookup(info, q->name);
  return q->found != NULL;
}

void ms_dl_resolve(void) {
  if (__atomic_load_n(&ms_dl_real_dlsym_ptr, __ATOMIC_ACQUIRE)) return;
  ms_elf_query q = {"dlvsym", NULL};
  dl_iterate_phdr(ms_elf_find_in_libc, &q);
  ms_dlvsym_fn vsym = (ms_dlvsym_fn)q.found;
  if (!vsym) {
    ms_log_error("cannot find libc's dlvsym: dlsym and dlvsym will fail in this process");
    return;
  }
  __atomic_store_n(&ms_dl_real_dlvsym_ptr, vsym, __ATOMIC_RELEASE);
  /* Called from here, RTLD_NEXT means "after libmemshim.so": libc's own definition. */
  ms_dlsym_fn sym = (ms_dlsym_fn)vsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  if (!sym) sym = (ms_dlsym_fn)vsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
  if (!sym) {
    ms_log_error("cannot find libc's dlsym: dlsym will fail in this process");
    return;
  }
  __atomic_store_n(&ms_dl_real_dlsym_ptr, sym, __ATOMIC_RELEASE);
}

/* noinline: glibc reads the return address of its dlsym to resolve RTLD_NEXT, which must be in
 * memshim when memshim asks. */
__attribute__((noinline)) void *ms_dl_sym(void *handle, const char *name) {
  ms_dl_resolve();
  ms_dlsym_fn f = __atomic_load_n(&ms_dl_real_dlsym_ptr, __ATOMIC_ACQUIRE);
  void *r = f ? f(handle, name) : NULL;
  __asm__ volatile("" ::: "memory"); /* keep the call a call (not a tail jump) */
  return r;
}

__attribute__((noinline)) void *ms_dl_vsym(void *handle, const char *name, const char *version) {
  ms_dl_resolve();
  ms_dlvsym_fn f = __atomic_load_n(&ms_dl_real_dlvsym_ptr, __ATOMIC_ACQUIRE);
  void *r = f ? f(handle, name, version) : NULL;
  __asm__ volatile("" ::: "memory");
  return r;
}
