/* Path templates (MEMSHIM_REPORT_PATH, MEMSHIM_METRICS_FILE, MEMSHIM_LOG): one expander for the
 * library, which expands them for itself, and the CLI, which expands them for a target process
 * it reads from /proc (its pid, uid and TMPDIR) and must find files of an unknown start time. */
#ifndef MEMSHIM_PATH_TEMPLATE_H
#define MEMSHIM_PATH_TEMPLATE_H

#include <stddef.h>

typedef struct {
  long pid;           /* %p */
  long euid;          /* %u; < 0: unknown, and a template that needs it does not expand */
  const char *tmpdir; /* %T: the process's TMPDIR (NULL or relative: /tmp, ms_tmpdir_of) */
  long start;         /* %t, seconds since the epoch; < 0: unknown, "%t" in out, "[0-9]*" in glob */
} ms_path_vars;

/* Expand %p %u %T %t and %% of tmpl into out; when glob is not NULL, also a glob(3) pattern that
 * matches the expansion (its literal characters escaped). No allocation, no stdio stream.
 * Returns 0, or -1 when a buffer is too small or a needed value is unknown. */
int ms_path_template_expand(const char *tmpl, const ms_path_vars *v, char *out, size_t outlen, char *glob,
                            size_t globlen);

#endif
