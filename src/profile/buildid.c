#include "buildid.h"

#include <elf.h>
#include <string.h>

#include "../util/sys.h"

/* Looks through the PT_NOTE segments named by the program headers (no section table needed). */
int ms_elf_build_id(const char *path, char *buf, size_t len) {
  int fd = ms_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc = -1;
  Elf64_Ehdr eh;
  if (ms_sys_pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
    goto out;
  for (unsigned i = 0; i < eh.e_phnum && rc != 0; i++) {
    Elf64_Phdr ph;
    if (ms_sys_pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph) break;
    if (ph.p_type != PT_NOTE || ph.p_filesz > 4096) continue;
    unsigned char notes[4096];
    if (ms_sys_pread(fd, notes, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz) continue;
    for (size_t off = 0; off + sizeof(Elf64_Nhdr) <= ph.p_filesz;) {
      Elf64_Nhdr nh;
      memcpy(&nh, notes + off, sizeof nh);
      size_t name_at = off + sizeof nh, desc_at = name_at + ((nh.n_namesz + 3) & ~3u);
      size_t next = desc_at + ((nh.n_descsz + 3) & ~3u);
      if (next > ph.p_filesz) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(notes + name_at, "GNU", 4) &&
          nh.n_descsz * 2 + 1 <= len) {
        static const char hex[] = "0123456789abcdef";
        for (size_t k = 0; k < nh.n_descsz; k++) {
          buf[2 * k] = hex[notes[desc_at + k] >> 4];
          buf[2 * k + 1] = hex[notes[desc_at + k] & 15];
        }
        buf[2 * nh.n_descsz] = 0;
        rc = 0;
        break;
      }
      off = next;
    }
  }
out:
  ms_sys_close(fd);
  return rc;
}
