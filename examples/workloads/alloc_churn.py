#!/usr/bin/python3
"""Allocation churn with numpy (seed 003: "del model; gc.collect() and the memory never comes
back"). Each cycle builds a model-sized set of numpy arrays (16 KiB .. 1 MiB, the sizes of
biases, norms and small weights) interleaved with small long-lived objects, as a real program
keeps caches and results while it loads; then drops the arrays, calls gc.collect() and waits
--settle seconds. The survivors pin heap pages, so under glibc the freed memory stays resident
(the seed's symptom); jemalloc returns it only after its decay time; memshim purges it.

Prints RSS after import (baseline), the peak, RSS after each unload, and the final line
`memshim-workload: {json}`. --path and --make-only are accepted for the demo's calling
convention (this workload needs no data file)."""
import argparse
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import finish, rss_mb  # noqa: E402


def load_model(total_mb, keep, rng):
    import numpy as np
    arrays, left, i = [], total_mb << 20, 0
    sizes = [1 << 20, 512 << 10, 256 << 10, 128 << 10, 64 << 10, 16 << 10]
    while left > 0:
        n = sizes[i % len(sizes)]
        arrays.append(rng.random(n // 8))
        if i % 16 == 0:
            # Something small outlives the model: a cached result, a log record.
            keep.append((str(i) * 8, rng.random(32)))
        left -= n
        i += 1
    return arrays


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", help="unused (the demo passes one to every workload)")
    ap.add_argument("--make-only", action="store_true", help="nothing to make; exit")
    ap.add_argument("--size-mb", type=int, default=400, help="bytes of arrays per cycle")
    ap.add_argument("--cycles", type=int, default=4)
    ap.add_argument("--settle", type=float, default=1.5, help="seconds to wait after each unload")
    a = ap.parse_args()
    if a.make_only:
        return
    t0 = time.monotonic()
    import numpy as np
    rng = np.random.default_rng(0)
    gc.collect()
    baseline = rss_mb()
    keep, peak, after_unload = [], baseline, []
    for _ in range(a.cycles):
        model = load_model(a.size_mb, keep, rng)
        peak = max(peak, rss_mb())
        checksum = float(sum(float(x[0]) for x in model))
        del model
        gc.collect()
        time.sleep(a.settle)
        after_unload.append(round(rss_mb(), 1))
    finish({
        "name": "alloc_churn",
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_after_unload_mb": after_unload,
        "final_rss_mb": after_unload[-1],
        "survivors": len(keep),
        "checksum": round(checksum, 3),
        "seconds": round(time.monotonic() - t0, 3),
    })


if __name__ == "__main__":
    main()
