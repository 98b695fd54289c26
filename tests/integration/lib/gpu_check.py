"""Checks of memshim's GPU report against what a fake-CUDA test program printed.

  gpu_check.py sites OUT JSON        every "expect FUNC live=N alloc=N count=N api=A[,B]" and
                                     "expect-pinned FUNC ..." line of OUT matches the report's sites
                                     whose innermost frame is FUNC, exactly (summed over them);
                                     "expect-within FUNC ..." the sites with FUNC anywhere in the stack
  gpu_check.py totals OUT JSON RESID each byte counted once (device allocated = what the program
                                     requested), tracked = the fake driver's live + pool reserve,
                                     pinned = the driver's, residual = RESID (or "skip"), less what
                                     an "untracked N" line says memshim must not see, and memshim
                                     created no context and never called cuInit or cuMemGetInfo itself
  gpu_check.py get JSON EXPR         print a value of the report (EXPR is evaluated with d = report)
"""
import json
import sys


def fail(msg):
    print("gpu_check: " + msg, file=sys.stderr)
    sys.exit(1)


def fields(line):
    out = {}
    for word in line.split()[2:]:
        k, v = word.split("=", 1)
        out[k] = v
    return out


def fake_stats(lines):
    for line in lines:
        if line.startswith("fake "):
            return {k: int(v) for k, v in (w.split("=") for w in line.split()[1:])}
    fail("no 'fake ...' line in the program's output")


def sites(out, rep):
    expects = [l for l in out if l.startswith("expect")]
    if not expects:
        fail("no expect lines")
    for line in expects:
        kind = "host_pinned" if line.startswith("expect-pinned") else "device"
        within = line.startswith("expect-within")
        func = line.split()[1]
        want = fields(line)
        got = {"live": 0, "alloc": 0, "count": 0}
        apis = set()
        for s in rep["sites"]:
            names = [f["function"] for f in s["frames"]]
            if not names or (func not in names if within else names[0] != func):
                continue
            m = s["memory"].get(kind)
            if not m:
                continue
            got["live"] += m["live_bytes"]
            got["alloc"] += m["allocated_bytes"]
            got["count"] += m["allocated_count"]
            apis.add(m["api"])
        for k in ("live", "alloc", "count"):
            if got[k] != int(want[k]):
                fail("%s %s: %s is %d, the program says %s" % (func, kind, k, got[k], want[k]))
        if "api" in want and apis != set(want["api"].split(",")):
            fail("%s: labels %s, want %s" % (func, sorted(apis), want["api"]))
    print("gpu_check: %d call sites exact" % len(expects))


def totals(out, rep, resid):
    fake = fake_stats(out)
    requested = [int(l.split()[1]) for l in out if l.startswith("requested ")]
    untracked = sum(int(l.split()[1]) for l in out if l.startswith("untracked "))
    g = rep.get("gpu")
    if not g:
        fail("the report has no gpu section")
    dev = rep["profile"]["totals"]["device"]
    if requested and dev["allocated_bytes"] != requested[0]:
        fail("device bytes allocated %d, the program requested %d (counted twice or missed)" % (dev["allocated_bytes"], requested[0]))
    tracked = sum(d["tracked_bytes"] for d in g["devices"])
    pool = sum(d["pool_reserved_bytes"] for d in g["devices"])
    if tracked != fake["live"] + fake["pool"] - untracked:
        fail("tracked %d, the fake driver holds %d live + %d pool-reserved (%d of it through ABIs memshim must not wrap)"
             % (tracked, fake["live"], fake["pool"], untracked))
    if pool != fake["pool"]:
        fail("pool-reserved %d, the fake driver's pools hold %d" % (pool, fake["pool"]))
    if tracked - pool != dev["live_bytes"]:
        fail("devices' live %d != totals.device.live_bytes %d" % (tracked - pool, dev["live_bytes"]))
    pinned = sum(d["host_pinned_bytes"] for d in g["devices"])
    if pinned != fake["pinned"]:
        fail("host pinned %d, the fake driver holds %d" % (pinned, fake["pinned"]))
    if resid != "skip":
        r = sum(d["residual_bytes"] for d in g["devices"])
        if r != int(resid) + untracked:
            fail("residual %d, want %s + %d untracked" % (r, resid, untracked))
    if fake["memgetinfo"] != 0:
        fail("cuMemGetInfo was called %d times (the program never calls it)" % fake["memgetinfo"])
    if fake["cuinit"] != 1:
        fail("cuInit was called %d times (the runtime calls it once)" % fake["cuinit"])
    if fake["contexts"] != len(g["devices"]):
        fail("%d contexts created for %d devices used" % (fake["contexts"], len(g["devices"])))
    print("gpu_check: totals exact (tracked %d, pool %d, pinned %d)" % (tracked, pool, pinned))


def main():
    cmd = sys.argv[1]
    if cmd == "get":
        d = json.load(open(sys.argv[2]))
        print(eval(sys.argv[3], {"d": d}))
        return
    out = open(sys.argv[2]).read().splitlines()
    rep = json.load(open(sys.argv[3]))
    if cmd == "sites":
        sites(out, rep)
    elif cmd == "totals":
        totals(out, rep, sys.argv[4])
    else:
        fail("unknown command " + cmd)


main()
