"""File-level call cycles among src/ files, from compiled objects (scripts/check-layers.sh).

An edge a.c -> b.c: a.c's object refers to a function b.c's object defines (nm -u against
nm --defined-only; data symbols are left out: the rule is about calls; so are the interposed
libc/CUDA names, see below). A cycle is a strongly
connected component of two or more files. Edges listed in the allow-list (one "a.c -> b.c  reason"
a line, paths relative to src/) are taken out of the graph first; what stays in a cycle fails.
usage: file_cycles.py SRC_DIR ALLOW_FILE OBJ_DIR...   exit 1 on a cycle not allowed
"""
import os
import subprocess
import sys

src, allow_path, obj_dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
objs = {}
for d in obj_dirs:
    for dp, _, fs in os.walk(d):
        for f in fs:
            if not f.endswith(".c.o"):
                continue
            path = os.path.join(dp, f)
            rel = path[path.rfind("/src/") + 5:-2] if "/src/" in path else None
            # objects of files that moved or went away stay in a build tree: skip them
            if rel and os.path.exists(os.path.join(src, rel)):
                objs[rel] = path


def nm(args, path):
    out = subprocess.run(["nm"] + args + [path], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


defined, uses = {}, {}
for rel, path in sorted(objs.items()):
    for cols in nm(["--defined-only", "-g"], path):
        # ms_* and the memshim_* API are our functions; any other name (malloc, free, dlsym,
        # close, cuMemAlloc...) is an interposed entry point: a file calling it calls libc.
        if len(cols) == 3 and cols[1] in "TWi" and cols[2].startswith(("ms_", "memshim_")):
            defined.setdefault(cols[2], rel)
    uses[rel] = {cols[-1] for cols in nm(["-u"], path)}
edges = {f: set() for f in objs}
via = {}  # (a, b) -> the functions of b that a calls
for f, syms in uses.items():
    for s in sorted(syms):
        g = defined.get(s)
        if g and g != f:
            edges[f].add(g)
            via.setdefault((f, g), []).append(s)

allowed = {}
if allow_path and os.path.exists(allow_path):
    for line in open(allow_path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        a, arrow, b, *why = line.split(None, 3)
        if arrow != "->" or not why:
            sys.exit(f"check-layers: {allow_path}: want 'a.c -> b.c  reason': {line}")
        allowed[(a, b)] = why[0]


def sccs(graph):
    """Tarjan, iterative; components of two or more nodes."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = n[0]; n[0] += 1; stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = n[0]; n[0] += 1; stack.append(w); on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def show(comp, graph, out=sys.stdout):
    members = set(comp)
    for f in comp:
        for g in sorted(graph[f] & members):
            names = via[(f, g)]
            more = f" +{len(names) - 3}" if len(names) > 3 else ""
            print(f"    {f} -> {g}  ({', '.join(names[:3])}{more})", file=out)


whole = sccs(edges)
pruned = {f: {g for g in gs if (f, g) not in allowed} for f, gs in edges.items()}
left = sccs(pruned)
nedges = sum(len(g) for g in edges.values())
if whole:
    print(f"check-layers: {len(whole)} file-level call cycle(s) in src/ before the allow-list:")
    for comp in whole:
        print("  " + " ".join(comp))
        show(comp, edges)
cyc_edges = {(f, g) for comp in whole for f in comp for g in edges[f] & set(comp)}
for (a, b), why in sorted(allowed.items()):
    state = "allowed" if (a, b) in cyc_edges else "STALE (no longer in a cycle: remove it)"
    print(f"  {state}: {a} -> {b}  ({why})")
if left:
    print("check-layers: file-level call cycle(s) not in the allow-list:", file=sys.stderr)
    for comp in left:
        print("  " + " ".join(comp), file=sys.stderr)
        show(comp, pruned, sys.stderr)
    sys.exit(1)
print(f"check-layers: no file-level call cycle outside the allow-list ({len(objs)} files, {nedges} call edges)")
