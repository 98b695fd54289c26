#!/usr/bin/python3
"""Model load/unload cycles (seed 001: a TTS worker that swaps voices): torch.load a saved state
dict of mixed tensor sizes, copy it (as moving to a module does), drop both, gc.collect(),
repeat. RSS is read after import (the baseline), right after each unload (del + gc.collect()),
and again --settle seconds later (the same for every configuration), once the policy has had
time to act.

Prints the final line `memshim-workload: {json}` with per-cycle RSS."""
import argparse
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import finish, memshim_stats, rss_mb  # noqa: E402


def purges():
    st = memshim_stats()
    return st.get("purge.count", 0) if st else None


def settle(seconds, wait_purge_max, purges_before):
    """Sleep --settle seconds; with --wait-purge (tests), also wait, up to that long, until
    memshim has purged since the unload, so a loaded machine delays the reading, not fails it."""
    time.sleep(seconds)
    end = time.monotonic() + wait_purge_max
    while purges_before is not None and purges() <= purges_before and time.monotonic() < end:
        time.sleep(0.05)
    if purges_before is not None and wait_purge_max:
        time.sleep(0.2)  # let the purge's madvise calls finish before reading RSS


def make_state_dict(path, total_mb):
    import torch
    g = torch.Generator().manual_seed(0)
    sd, left, i = {}, total_mb << 20, 0
    # Mixed sizes: a few large weight matrices, many mid-size and small tensors (norms, biases).
    sizes = [16 << 20, 4 << 20, 1 << 20, 256 << 10, 64 << 10, 8 << 10, 1 << 10]
    while left > 0:
        n = min(sizes[i % len(sizes)], left)
        sd["t%05d" % i] = torch.rand(max(n // 4, 1), generator=g)
        left -= n
        i += 1
    torch.save(sd, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--size-mb", type=int, default=300)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--settle", type=float, default=0.6)
    ap.add_argument("--wait-purge", type=float, default=0.0,
                    help="under memshim, also wait up to this many seconds for a purge after each unload")
    ap.add_argument("--make-only", action="store_true")
    a = ap.parse_args()
    if a.make_only or not os.path.exists(a.path):
        if not os.path.exists(a.path):
            make_state_dict(a.path, a.size_mb)
        if a.make_only:
            return
        # The file was made in this process: its heap is no baseline. Measure in a fresh one.
        os.execv(sys.executable, [sys.executable] + sys.argv)

    t0 = time.monotonic()
    import torch
    gc.collect()
    time.sleep(a.settle)
    baseline = rss_mb()
    peak, at_unload, after_unload = baseline, [], []
    for _ in range(a.cycles):
        sd = torch.load(a.path)
        copy = {k: v.clone() for k, v in sd.items()}
        peak = max(peak, rss_mb())
        before = purges()
        del sd, copy
        gc.collect()
        at_unload.append(round(rss_mb(), 1))
        settle(a.settle, a.wait_purge, before)
        after_unload.append(round(rss_mb(), 1))
    finish({
        "name": "torch_cycles",
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_at_unload_mb": at_unload,
        "rss_after_unload_mb": after_unload,
        "final_rss_mb": after_unload[-1] if after_unload else round(rss_mb(), 1),
        "seconds": round(time.monotonic() - t0, 3),
    })


if __name__ == "__main__":
    main()
