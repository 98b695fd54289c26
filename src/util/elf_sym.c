/* ms_elf_loaded_sym: walk the loaded objects with dl_iterate_phdr (the loader's list, no
 * allocation), find the one named, and search its DT_GNU_HASH table. */
#include "elf_sym.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

typedef struct {
  const char *soname, *name;
  uintptr_t lo, hi; /* the symbol found: [value, value + size) */
} ms_elf_query;

static uint32_t ms_gnu_hash(const char *s) {
  uint32_t h = 5381;
  for (; *s; s++) h = h * 33 + (unsigned char)*s;
  return h;
}

static int ms_ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0 && (n == m || s[n - m - 1] == '/');
}

/* The loader relocates most d_ptr entries in place; objects with a read-only .dynamic keep
 * file addresses. Either way the result must lie inside the object. */
static uintptr_t ms_dyn_addr(uintptr_t base, ElfW(Addr) v) { return v < base ? base + v : v; }

static const ElfW(Sym) *ms_gnu_lookup(uintptr_t base, const ElfW(Dyn) *dyn, const char *name) {
  const uint32_t *gnu = NULL;
  const ElfW(Sym) *symtab = NULL;
  const char *strtab = NULL;
  const ElfW(Half) *versym = NULL;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    switch (dyn->d_tag) {
      case DT_GNU_HASH: gnu = (const uint32_t *)ms_dyn_addr(base, dyn->d_un.d_ptr); break;
      case DT_SYMTAB: symtab = (const ElfW(Sym) *)ms_dyn_addr(base, dyn->d_un.d_ptr); break;
      case DT_STRTAB: strtab = (const char *)ms_dyn_addr(base, dyn->d_un.d_ptr); break;
      case DT_VERSYM: versym = (const ElfW(Half) *)ms_dyn_addr(base, dyn->d_un.d_ptr); break;
      default: break;
    }
  }
  if (!gnu || !symtab || !strtab) return NULL;
  uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_size = gnu[2];
  if (!nbuckets) return NULL;
  const ElfW(Addr) *bloom = (const ElfW(Addr) *)(gnu + 4);
  const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
  const uint32_t *chain = buckets + nbuckets;
  uint32_t h = ms_gnu_hash(name);
  for (uint32_t i = buckets[h % nbuckets]; i >= symoffset && i != 0; i++) {
    uint32_t ch = chain[i - symoffset];
    if ((ch | 1) == (h | 1)) {
      const ElfW(Sym) *s = &symtab[i];
      /* Defined, and the default version (a hidden non-default twin has bit 15 set). */
      if (s->st_shndx != SHN_UNDEF && strcmp(strtab + s->st_name, name) == 0 &&
          (!versym || !(versym[i] & 0x8000)))
        return s;
    }
    if (ch & 1) break;
  }
  return NULL;
}

static int ms_elf_visit(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  ms_elf_query *q = arg;
  if (!info->dlpi_name || !ms_ends_with(info->dlpi_name, q->soname)) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
    const ElfW(Dyn) *dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    const ElfW(Sym) *sym = ms_gnu_lookup(info->dlpi_addr, dyn, q->name);
    if (sym) {
      q->lo = info->dlpi_addr + sym->st_value;
      q->hi = q->lo + sym->st_size;
    }
    return 1;
  }
  return 0;
}

void *ms_elf_loaded_sym(const char *soname, const char *name) {
  ms_elf_query q = {soname, name, 0, 0};
  dl_iterate_phdr(ms_elf_visit, &q);
  return (void *)q.lo;
}

bool ms_elf_loaded_sym_range(const char *soname, const char *name, uintptr_t *lo, uintptr_t *hi) {
  ms_elf_query q = {soname, name, 0, 0};
  dl_iterate_phdr(ms_elf_visit, &q);
  *lo = q.lo;
  *hi = q.hi;
  return q.lo != 0;
}

typedef struct {
  uintptr_t probe, lo, hi;
} ms_text_query;

static int ms_text_visit(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  ms_text_query *q = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (q->probe >= lo && q->probe < hi) {
      q->lo = lo;
      q->hi = hi;
      return 1;
    }
  }
  return 0;
}

bool ms_elf_text_range(uintptr_t probe, uintptr_t *lo, uintptr_t *hi) {
  ms_text_query q = {probe, 0, 0};
  dl_iterate_phdr(ms_text_visit, &q);
  *lo = q.lo;
  *hi = q.hi;
  return q.hi != 0;
}
