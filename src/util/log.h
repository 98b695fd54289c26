/* Logging that never allocates: formatted into a stack buffer, written with write(2). */
#ifndef MEMSHIM_LOG_H
#define MEMSHIM_LOG_H

#include <stdarg.h>

enum { MS_LOG_ERROR = 0, MS_LOG_INFO = 1, MS_LOG_DEBUG = 2, MS_LOG_TRACE = 3 };

/* Opens MEMSHIM_LOG (if set) and takes the level from MEMSHIM_VERBOSE. */
void ms_log_init(void);
/* Reopen in a forked child when the log path holds %p. */
void ms_log_after_fork_child(void);
int ms_log_level(void);
void ms_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ms_vlog(int level, const char *fmt, va_list ap);

#define ms_log_error(...) ms_log(MS_LOG_ERROR, __VA_ARGS__)
#define ms_log_info(...) do { if (ms_log_level() >= MS_LOG_INFO) ms_log(MS_LOG_INFO, __VA_ARGS__); } while (0)
#define ms_log_debug(...) do { if (ms_log_level() >= MS_LOG_DEBUG) ms_log(MS_LOG_DEBUG, __VA_ARGS__); } while (0)

/* Expand %p (pid), %t (process start time, seconds), %u (effective uid), %T ($TMPDIR, else /tmp:
 * ms_tmpdir_of) and %% in a path template. Returns 0, or -1
 * when the result does not fit. */
int ms_path_expand(const char *tmpl, char *out, unsigned long outlen);
/* Seconds since the epoch when the library started in this process, or when this process was
 * forked (for %t). */
long ms_start_time(void);

#endif
