/* fork.c's naming rules, for the unit test (the interposed fork and OpenMP entry points need no
 * declaration: they are the C library's and libgomp's names). */
#ifndef MEMSHIM_INTERPOSE_FORK_H
#define MEMSHIM_INTERPOSE_FORK_H

#include <stdbool.h>

/* A loaded library's thread pool as the verbose fork line names it ("OpenMP (libgomp)", "HF
 * tokenizers"), by its file's name, or NULL. */
const char *ms_fork_pool_name(const char *path);
/* An OpenMP entry point's file is GNU libgomp (whose pool fork breaks), a wheel's vendored
 * libgomp-<hash>.so.1 too; LLVM's libomp and Intel's libiomp rebuild theirs. */
bool ms_fork_is_libgomp(const char *path);

#endif
