/* Reading JSON reports (docs/report-format.md, schema version 1) into the report model
 * (src/report/snapshot.h) with libjansson, so the CLI renders with the library's own writers.
 * Members a later version adds are ignored; absent ones read as zero. */
#ifndef MEMSHIM_CLI_LOAD_H
#define MEMSHIM_CLI_LOAD_H

#include <stddef.h>

#include "../util/arena.h"
#include "../report/snapshot.h"

typedef struct ms_cli_report {
  ms_snapshot snap;
  ms_arena arena; /* the snapshot's arrays */
  void *doc;      /* the parsed document (json_t *): the snapshot's strings point into it */
} ms_cli_report;

/* Load path ("-" = stdin). 0, or -1 with a message naming the file in err: unreadable, not JSON
 * (with line and column), not a memshim report, or another schema version. */
int ms_cli_report_load(const char *path, ms_cli_report *r, char *err, size_t errlen);
void ms_cli_report_free(ms_cli_report *r);

/* A growing list of report paths, each malloc'd; {0} is an empty list. */
typedef struct {
  char **paths;
  int n, cap;
} ms_cli_paths;

/* Appends a copy of path: 0, or -1 when out of memory. */
int ms_cli_paths_add(ms_cli_paths *l, const char *path);
void ms_cli_paths_free(ms_cli_paths *l);

/* Appends the *.json files of a directory whose name starts with prefix ("" for every one) to l,
 * sorted by name among themselves; whether each is a memshim report is for the loader to say.
 * Returns how many were appended, or -1 with errno set when the directory cannot be read or
 * memory runs out (what was appended stays in l). */
int ms_cli_list_reports(const char *dir, const char *prefix, ms_cli_paths *l);

#endif
