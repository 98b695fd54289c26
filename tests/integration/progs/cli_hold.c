/* cli_hold MB SECONDS [FREE [AFTER]]: allocate MB MiB (touched) in 1 MiB blocks, sleep, then exit;
 * with FREE=1 free the blocks before exiting, then sleep AFTER seconds (time for the memory-return
 * policy to act). Used by the CLI and metrics tests. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int mb = argc > 1 ? atoi(argv[1]) : 16;
  double secs = argc > 2 ? atof(argv[2]) : 0;
  int do_free = argc > 3 ? atoi(argv[3]) : 0;
  double after = argc > 4 ? atof(argv[4]) : 0;
  char **blocks = calloc((size_t)mb + 1, sizeof *blocks);
  for (int i = 0; i < mb; i++) {
    blocks[i] = malloc(1 << 20);
    memset(blocks[i], 0x5a, 1 << 20);
  }
  if (secs > 0) usleep((useconds_t)(secs * 1e6));
  if (do_free) {
    for (int i = 0; i < mb; i++) free(blocks[i]);
    free(blocks);
    if (after > 0) usleep((useconds_t)(after * 1e6));
  }
  return 0;
}
