/* Benchmark workload: the binary-trees allocation pattern (many small nodes built and freed).
 * Arg: depth (default 16). */
#include <stdio.h>
#include <stdlib.h>

typedef struct node { struct node *l, *r; } node;

static node *make(int d) {
  node *n = malloc(sizeof *n);
  n->l = d ? make(d - 1) : NULL;
  n->r = d ? make(d - 1) : NULL;
  return n;
}
static long check(node *n) { return 1 + (n->l ? check(n->l) + check(n->r) : 0); }
static void drop(node *n) {
  if (n->l) { drop(n->l); drop(n->r); }
  free(n);
}

int main(int argc, char **argv) {
  int max = argc > 1 ? atoi(argv[1]) : 16;
  node *longlived = make(max);
  long sum = 0;
  for (int d = 4; d <= max; d += 2) {
    int iters = 1 << (max - d + 4);
    for (int i = 0; i < iters; i++) {
      node *t = make(d);
      sum += check(t);
      drop(t);
    }
  }
  sum += check(longlived);
  drop(longlived);
  printf("%ld\n", sum);
  return 0;
}
