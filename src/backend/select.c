/* Backend selection. The first allocation of the process, which can come before libc has
 * finished initialising, decides the backend; until then ms_be holds bootstrap entries that
 * select and forward. Selection reads MEMSHIM_BACKEND and MEMSHIM_ENABLE straight from the
 * environment block (or /proc/self/environ when libc has not set environ yet), without
 * allocating, so that one allocator serves every pointer for the life of the process. */

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../config/options.h"

#include "backend.h"

extern char **environ;

static void *boot_malloc(size_t size);
static void boot_free(void *p);
static void *boot_calloc(size_t n, size_t size);
static void *boot_realloc(void *p, size_t size);
static void *boot_aligned(size_t align, size_t size);
static void boot_free_sized(void *p, size_t size);
static void boot_free_aligned_sized(void *p, size_t align, size_t size);
static size_t boot_usable_size(void *p);
static int boot_purge(void);
static int boot_stats(ms_backend_stats *out);

ms_backend ms_be = {
  .name = "unselected",
  .malloc = boot_malloc,
  .free = boot_free,
  .calloc = boot_calloc,
  .realloc = boot_realloc,
  .aligned = boot_aligned,
  .free_sized = boot_free_sized,
  .free_aligned_sized = boot_free_aligned_sized,
  .usable_size = boot_usable_size,
  .purge = boot_purge,
  .stats = boot_stats,
};
int ms_be_kind = -1;

/* Returns the value of NAME=... in the environment block entry, or NULL. */
static const char *env_value(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=' ? entry + n + 1 : NULL;
}

/* isspace() in the C locale, without libc's locale tables (this can run before they exist). */
static int is_blank(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Same rule as the option parser (ms_parse_enum): case-insensitive, surrounding white space
 * ignored (tests/unit/test_backend_select.c holds the two to the same answers). ASCII only. */
static int backend_from_value(const char *v) {
  static const char want[] = "glibc";
  while (is_blank(*v)) v++;
  size_t i = 0;
  for (; want[i]; i++)
    if ((v[i] | 0x20) != want[i]) return MS_BE_JEMALLOC;
  while (is_blank(v[i])) i++;
  return v[i] == 0 ? MS_BE_GLIBC : MS_BE_JEMALLOC;
}

/* Scan /proc/self/environ with raw syscalls: no libc state, no allocation. */
static int backend_from_proc(void) {
  int fd = (int)syscall(SYS_open, "/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MS_BE_JEMALLOC;
  const char *key = ms_option_env(MS_OPT_BACKEND); /* then '=' */
  size_t key_len = strlen(key);
  char buf[4096], val[16];
  size_t match = 0, vlen = 0;
  int in_value = 0, at_start = 1, kind = MS_BE_JEMALLOC, val_long = 0;
  long n;
  while ((n = syscall(SYS_read, fd, buf, sizeof buf)) > 0) {
    for (long i = 0; i < n; i++) {
      char c = buf[i];
      if (in_value) {
        if (c == 0) {
          val[vlen] = 0;
          kind = val_long ? MS_BE_JEMALLOC : backend_from_value(val); /* a later entry decides, as in environ */
          in_value = 0;
          at_start = 1;
          match = 0;
        } else if (vlen == 0 && is_blank(c)) {
          /* leading white space is not kept: a long run of it must not push the name out */
        } else if (vlen + 1 < sizeof val) {
          val[vlen++] = c;
        } else if (!is_blank(c)) {
          val_long = 1; /* more than fits, and not only trailing white space: not "glibc" */
        }
        continue;
      }
      if (c == 0) { at_start = 1; match = 0; continue; }
      if (at_start && c == (match < key_len ? key[match] : '=')) {
        if (++match == key_len + 1) { in_value = 1; vlen = 0; val_long = 0; at_start = 0; }
      } else {
        at_start = 0;
      }
    }
  }
  syscall(SYS_close, fd);
  return kind;
}

void ms_backend_select(void) {
  if (__atomic_load_n(&ms_be_kind, __ATOMIC_ACQUIRE) >= 0) return;
  int kind = MS_BE_JEMALLOC;
  if (environ) {
    for (char **e = environ; *e; e++) {
      const char *v = env_value(*e, ms_option_env(MS_OPT_BACKEND));
      if (v) kind = backend_from_value(v);
    }
  } else {
    kind = backend_from_proc();
  }
  ms_backend tmp;
  if (kind == MS_BE_GLIBC && ms_backend_glibc(&tmp) != 0) kind = MS_BE_JEMALLOC; /* said by ms_init */
  if (kind == MS_BE_JEMALLOC) ms_backend_jemalloc(&tmp);
  ms_be = tmp;
  __atomic_store_n(&ms_be_kind, kind, __ATOMIC_RELEASE);
}

static void *boot_malloc(size_t size) { ms_backend_select(); return ms_be.malloc(size); }
static void boot_free(void *p) { ms_backend_select(); ms_be.free(p); }
static void *boot_calloc(size_t n, size_t size) { ms_backend_select(); return ms_be.calloc(n, size); }
static void *boot_realloc(void *p, size_t size) { ms_backend_select(); return ms_be.realloc(p, size); }
static void *boot_aligned(size_t align, size_t size) { ms_backend_select(); return ms_be.aligned(align, size); }
static void boot_free_sized(void *p, size_t size) { ms_backend_select(); ms_be.free_sized(p, size); }
static void boot_free_aligned_sized(void *p, size_t align, size_t size) {
  ms_backend_select();
  ms_be.free_aligned_sized(p, align, size);
}
static size_t boot_usable_size(void *p) { ms_backend_select(); return ms_be.usable_size(p); }
static int boot_purge(void) { ms_backend_select(); return ms_be.purge(); }
static int boot_stats(ms_backend_stats *out) { ms_backend_select(); return ms_be.stats(out); }
