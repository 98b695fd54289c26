# np.memmap of a 16 MiB file, then multiprocessing.Pool(2) (fork) whose workers sum slices of it.
# With a report prefix (MEMSHIM_REPORT=json, MEMSHIM_REPORT_INTERVAL set), first wait until the
# interval report counts a profiler snapshot: forking then used to deadlock the child.
#   trust_memmap_pool.py DATAFILE [REPORT_PREFIX]
import multiprocessing as mp, os, re, sys, time
import numpy as np

path = sys.argv[1]
np.arange(2 << 20, dtype=np.int64).tofile(path)
m = np.memmap(path, dtype=np.int64, mode="r")
expected = int(m.sum())
if len(sys.argv) > 2:
    report = "%s.%d.json" % (sys.argv[2], os.getpid())
    deadline = time.monotonic() + 90  # generous: both cores may be busy
    snaps = 0
    while snaps < 1:
        if time.monotonic() > deadline:
            sys.exit("FAIL: no interval report with a snapshot in %s within 90 s" % report)
        try:
            with open(report) as f:
                snaps = int(re.search(r'"snapshots":(\d+)', f.read()).group(1))
        except (OSError, AttributeError):
            pass
        time.sleep(0.02)
    print("ok: %d profiler snapshots before the pool" % snaps, flush=True)

def part(i):
    n = len(m) // 8
    return int(m[i * n:(i + 1) * n].sum())

with mp.get_context("fork").Pool(2) as pool:
    got = sum(pool.map(part, range(8)))
if got != expected:
    sys.exit("FAIL: pool sum %d, want %d" % (got, expected))
print("ok: Pool(2) of forked workers summed the 16 MiB memmap (%d)" % got)
