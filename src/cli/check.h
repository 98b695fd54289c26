/* The leak gate's judgements (check_cmd.c): what is added up from each process's report and the
 * rules that turn the sums into a verdict. Declared here, apart from running the command, so
 * that tests/unit/test_cli.c judges hand-made snapshots with the same functions. */
#ifndef MEMSHIM_CLI_CHECK_H
#define MEMSHIM_CLI_CHECK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../report/snapshot.h"

/* Nothing could be judged (no report, too short a run): neither a pass nor a leak. */
#define MS_EXIT_NO_VERDICT 4

typedef struct {
  char *key;     /* the stack by symbols (ms_site_key): the same site in every process and run */
  char *where;   /* "function (module+0xoff)" of the named frame */
  char *callers; /* "< f2 < f3" */
  int64_t growth; /* steady growth (plateaus and noise add nothing) */
  int64_t live;   /* live bytes in the last report of each process */
  bool steady;
  unsigned procs;       /* processes whose reports hold this site */
  unsigned last_report; /* agg->reports when one last added to it: its stacks by symbols
                         * repeat within one process (two lines of one function) */
} ms_check_site;

typedef struct {
  ms_check_site *v;
  size_t n, cap;
  int64_t total;
  uint64_t blocks; /* unreachable at exit: blocks, which a 0-byte one counts in */
  unsigned reports, checked;
} ms_check_agg;

/* One judgement of the verdict (growth, GPU growth; unreachable memory at exit later). */
typedef enum { MS_JUDGED_PASS, MS_JUDGED_FAIL, MS_NOT_JUDGED } ms_judgement_state;
typedef struct {
  const char *name;
  ms_judgement_state state;
  char reason[PATH_MAX + 2048];
} ms_judgement;

/* One process's report: its steady growth and live bytes per site into agg; with a GPU section,
 * its tracked GPU growth into gpu (gpu->total: the worst process; gpu->checked: processes over
 * gpu_limit, whose growing sites are added). */
void ms_check_take(const ms_snapshot *snap, ms_check_agg *agg, ms_check_agg *gpu, uint64_t gpu_limit);
/* One process's unreachable blocks at exit, by site (direct + indirect bytes). */
void ms_check_take_unreach(const ms_snapshot *snap, ms_check_agg *unr);
/* qsort order of sites: steady first, then by growth, largest first. */
int ms_check_site_cmp(const void *a, const void *b);
void ms_check_free(ms_check_agg *agg);
/* The judgements: growth summed over processes against limit (dir: where reports were looked
 * for, for the reason); unreachable bytes at exit (limit 0: any block fails); GPU growth of the
 * worst process; growth per site against a --save file's (agg's growth becomes the excess). */
void ms_judge_growth(const ms_check_agg *agg, uint64_t limit, const char *dir, ms_judgement *j);
void ms_judge_unreach(const ms_check_agg *unr, uint64_t limit, ms_judgement *j);
void ms_judge_gpu(const ms_check_agg *gpu, uint64_t limit, ms_judgement *j);
void ms_judge_baseline(ms_check_agg *agg, const json_t *base, uint64_t limit, const char *path, ms_judgement *j);
/* A --baseline file, or NULL after one "memshim check:" line saying why. */
json_t *ms_check_load_baseline(const char *path);
/* The exit status: MS_EXIT_FAIL when one failed, MS_EXIT_OK when one was judged and none
 * failed, MS_EXIT_NO_VERDICT when none was judged. */
int ms_verdict_status(const ms_judgement *j, unsigned n);

#endif
