/* The symbolizer (symbolize.h). Its memory is its own: ELF files are mapped and read with raw
 * system calls (never through the mmap memshim exports: a report must not show up in the
 * file-mapping registry), and every table lives in raw pages (util/arena.h), never in the
 * heap the host uses. The only exception is __cxa_demangle, which returns a malloc'd string:
 * it is copied into our memory and freed at once. */
#include "symbolize.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/arena.h"
#include "../util/raw_mem.h"
#include "../util/sort.h"
#include "../util/sys.h"
#include "buildid.h"

/* Files, their symbol tables and demangled names: kept for the life of the process. */
static ms_arena ms_sym_arena;

typedef struct {
  uintptr_t value, size;
  const char *name;      /* in the mapped file */
  const char *demangled; /* in ms_sym_arena after first use, or NULL */
  int demangle_tried;
} ms_elf_sym;

typedef struct ms_elf_file {
  struct ms_elf_file *next;
  char *path;
  void *map;
  size_t map_len;
  ms_elf_sym *syms;
  size_t nsyms;
  const char *build_id; /* NULL until asked for; "" when the file has none */
} ms_elf_file;

static ms_elf_file *ms_elf_files;

static int ms_sym_cmp(const void *a, const void *b) {
  const ms_elf_sym *x = a, *y = b;
  if (x->value != y->value) return x->value < y->value ? -1 : 1;
  /* prefer sized symbols, then global names, at equal addresses: keep the first after sorting */
  if ((x->size != 0) != (y->size != 0)) return x->size ? -1 : 1;
  return 0;
}

/* The FUNC symbols of one symbol table section: counted (out == NULL) or stored. */
static size_t ms_elf_take(const unsigned char *base, size_t len, const Elf64_Shdr *sh, const Elf64_Shdr *shdrs,
                          unsigned shnum, ms_elf_sym *out) {
  if (sh->sh_link >= shnum || sh->sh_entsize != sizeof(Elf64_Sym)) return 0;
  const Elf64_Shdr *strsh = &shdrs[sh->sh_link];
  if (sh->sh_offset + sh->sh_size > len || strsh->sh_offset + strsh->sh_size > len) return 0;
  const Elf64_Sym *syms = (const Elf64_Sym *)(base + sh->sh_offset);
  const char *strs = (const char *)(base + strsh->sh_offset);
  size_t n = sh->sh_size / sizeof(Elf64_Sym), taken = 0;
  for (size_t i = 0; i < n; i++) {
    const Elf64_Sym *s = &syms[i];
    int type = ELF64_ST_TYPE(s->st_info);
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF || !s->st_value) continue;
    if (s->st_name >= strsh->sh_size || !strs[s->st_name]) continue;
    if (out) out[taken] = (ms_elf_sym){.value = s->st_value, .size = s->st_size, .name = strs + s->st_name};
    taken++;
  }
  return taken;
}

static ms_elf_file *ms_elf_load(const char *path) {
  for (ms_elf_file *f = ms_elf_files; f; f = f->next)
    if (strcmp(f->path, path) == 0) return f;
  ms_elf_file *f = ms_arena_alloc(&ms_sym_arena, sizeof *f);
  if (!f) return NULL;
  f->path = ms_arena_strdup(&ms_sym_arena, path);
  f->next = ms_elf_files;
  ms_elf_files = f; /* cached even when unreadable: we do not retry each report */
  int fd = ms_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return f;
  struct stat st;
  if (ms_sys_fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) { ms_sys_close(fd); return f; }
  void *map = ms_sys_mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ms_sys_close(fd);
  if (map == MAP_FAILED) return f;
  f->map = map;
  f->map_len = (size_t)st.st_size;
  const unsigned char *base = map;
  const Elf64_Ehdr *eh = map;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > f->map_len)
    return f;
  const Elf64_Shdr *shdrs = (const Elf64_Shdr *)(base + eh->e_shoff);
  size_t n = 0;
  for (int pass = 0; pass < 2; pass++) { /* count, then store into an array of that size */
    if (pass == 1 && (!n || !(f->syms = ms_arena_alloc(&ms_sym_arena, n * sizeof *f->syms)))) break;
    for (unsigned i = 0; i < eh->e_shnum; i++)
      if (shdrs[i].sh_type == SHT_SYMTAB || shdrs[i].sh_type == SHT_DYNSYM) {
        size_t got = ms_elf_take(base, f->map_len, &shdrs[i], shdrs, eh->e_shnum, pass ? f->syms + f->nsyms : NULL);
        if (pass) f->nsyms += got;
        else n += got;
      }
  }
  if (f->nsyms) ms_sort(f->syms, f->nsyms, sizeof *f->syms, ms_sym_cmp);
  return f;
}

const char *ms_symbolize_build_id(const char *path) {
  ms_elf_file *f = ms_elf_load(path);
  if (!f) return "";
  if (!f->build_id) {
    char id[128];
    f->build_id = ms_elf_build_id(path, id, sizeof id) == 0 ? ms_arena_strdup(&ms_sym_arena, id) : "";
  }
  return f->build_id;
}

static char *(*ms_cxa_demangle)(const char *, char *, size_t *, int *);
static int ms_cxa_demangle_looked; /* reset by each report while not found: libstdc++ may come later */

/* libstdc++'s demangler: in the global scope when the program links libstdc++; else in a copy
 * loaded privately (RTLD_LOCAL: the dependency of a Python extension module such as torch's),
 * which dlopen with RTLD_NOLOAD finds without loading anything. */
static void ms_find_demangler(void) {
  ms_cxa_demangle_looked = 1;
  void *f = dlsym(RTLD_DEFAULT, "__cxa_demangle");
  if (!f) {
    void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD); /* kept open: no unload under us */
    if (h) f = dlsym(h, "__cxa_demangle");
  }
  ms_cxa_demangle = (char *(*)(const char *, char *, size_t *, int *))f;
}

static const char *ms_sym_name(ms_elf_sym *s) {
  if (s->demangle_tried) return s->demangled ? s->demangled : s->name;
  if (s->name[0] != '_' || s->name[1] != 'Z') {
    s->demangle_tried = 1;
    return s->name;
  }
  if (!ms_cxa_demangle_looked) ms_find_demangler();
  if (!ms_cxa_demangle) return s->name; /* tried again in a later report */
  s->demangle_tried = 1;
  int status = -1;
  char *d = ms_cxa_demangle(s->name, NULL, NULL, &status);
  if (status == 0 && d) s->demangled = ms_arena_strdup(&ms_sym_arena, d);
  free(d);
  return s->demangled ? s->demangled : s->name;
}

static const char *ms_elf_lookup(ms_elf_file *f, uintptr_t vaddr) {
  if (!f || !f->nsyms) return NULL;
  size_t lo = 0, hi = f->nsyms;
  while (lo < hi) { /* first symbol with value > vaddr */
    size_t mid = (lo + hi) / 2;
    if (f->syms[mid].value <= vaddr) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return NULL;
  /* among equal addresses the sort put the sized one first */
  size_t i = lo - 1;
  while (i > 0 && f->syms[i - 1].value == f->syms[i].value) i--;
  ms_elf_sym *s = &f->syms[i];
  if (s->size && vaddr >= s->value + s->size) return NULL;
  return ms_sym_name(s);
}

const char *ms_symbolize_file(const char *path, uintptr_t vaddr) { return ms_elf_lookup(ms_elf_load(path), vaddr); }

/* ---- loaded modules ---- */

typedef struct {
  uintptr_t lo, hi, bias;
  const char *path;
} ms_module;

/* The loaded modules, taken afresh for each report (modules come and go), in an arena of
 * their own that each ms_symbolize_begin releases. */
static ms_arena ms_mod_arena;
static ms_module *ms_modules;
static size_t ms_nmodules, ms_modules_cap;
static char ms_exe_path[4096];

/* Counts executable segments when ms_modules is NULL (first pass), stores them otherwise. */
static int ms_collect_module(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  (void)arg;
  const char *name = info->dlpi_name;
  if (!name || !*name) name = ms_exe_path;
  if (!*name) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    if (!ms_modules) {
      ms_modules_cap++;
      continue;
    }
    if (ms_nmodules == ms_modules_cap) return 1; /* a module loaded between the two passes */
    ms_modules[ms_nmodules++] = (ms_module){.lo = info->dlpi_addr + ph->p_vaddr,
                                            .hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
                                            .bias = info->dlpi_addr,
                                            .path = ms_arena_strdup(&ms_mod_arena, name)};
  }
  return 0;
}

/* Addresses repeat across a report's stacks (main, the start-up frames, shared callers): a
 * direct-mapped cache of resolved addresses, emptied when the module list is refreshed. */
#define MS_SYM_CACHE (1u << 14)
typedef struct {
  uintptr_t addr; /* 0 = empty */
  ms_symbol sym;
} ms_sym_cache_entry;
static ms_sym_cache_entry *ms_sym_cache;

void ms_symbolize_begin(void) {
  if (!ms_cxa_demangle) ms_cxa_demangle_looked = 0;
  if (!ms_sym_cache) ms_sym_cache = ms_raw_alloc(MS_SYM_CACHE * sizeof *ms_sym_cache);
  else memset(ms_sym_cache, 0, MS_SYM_CACHE * sizeof *ms_sym_cache);
  ms_arena_release(&ms_mod_arena);
  ms_modules = NULL;
  ms_nmodules = ms_modules_cap = 0;
  ssize_t n = readlink("/proc/self/exe", ms_exe_path, sizeof ms_exe_path - 1);
  ms_exe_path[n > 0 ? n : 0] = 0;
  dl_iterate_phdr(ms_collect_module, NULL);
  ms_modules_cap += 8; /* room for modules loaded meanwhile */
  ms_modules = ms_arena_alloc(&ms_mod_arena, ms_modules_cap * sizeof *ms_modules);
  if (ms_modules) dl_iterate_phdr(ms_collect_module, NULL);
}

const char *ms_symbolize_exe_path(void) { return ms_exe_path; }

static void ms_symbolize_uncached(uintptr_t addr, ms_symbol *out) {
  out->function = "??";
  out->module = "[unknown]";
  out->offset = addr;
  for (size_t i = 0; i < ms_nmodules; i++) {
    ms_module *m = &ms_modules[i];
    if (addr < m->lo || addr >= m->hi) continue;
    out->module = m->path;
    out->offset = addr - m->bias;
    ms_elf_file *f = m->path[0] == '/' ? ms_elf_load(m->path) : NULL;
    const char *fn = ms_elf_lookup(f, out->offset);
    if (!fn && (!f || !f->nsyms)) { /* not on disk (vdso) or no symbols: the dynamic linker's view */
      Dl_info di;
      if (dladdr((void *)addr, &di) && di.dli_sname) fn = di.dli_sname;
    }
    if (fn) out->function = fn;
    return;
  }
}

void ms_symbolize(uintptr_t addr, ms_symbol *out) {
  ms_sym_cache_entry *e = NULL;
  if (ms_sym_cache && addr) {
    e = &ms_sym_cache[(addr ^ (addr >> 14)) & (MS_SYM_CACHE - 1)];
    if (e->addr == addr) {
      *out = e->sym;
      return;
    }
  }
  ms_symbolize_uncached(addr, out);
  if (e) {
    e->addr = addr;
    e->sym = *out;
  }
}
