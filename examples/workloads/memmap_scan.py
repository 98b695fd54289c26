#!/usr/bin/python3
"""Single pass over a large file through np.memmap, blocks in shuffled order (seed 000 / 003:
an encode worker scanning a dataset). Generates the file when it does not exist.

Prints per run: checksum, peak RssFile above the pre-map baseline (sampled after every block),
the read rate, and the final line `memshim-workload: {json}`."""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_seconds, finish, rss_mb, status_kb  # noqa: E402


def make_file(path, size_mb):
    rng = np.random.default_rng(1234)
    chunk = 16 << 20
    with open(path + ".tmp", "wb") as f:
        for _ in range((size_mb << 20) // chunk):
            f.write(rng.integers(0, 2**63, chunk // 8, dtype=np.uint64).tobytes())
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--size-mb", type=int, default=256, help="size when the file is generated")
    ap.add_argument("--block-kb", type=int, default=1024)
    ap.add_argument("--mode", default="r", help="np.memmap mode (r = PROT_READ, MAP_SHARED)")
    ap.add_argument("--rate-mb-s", type=float, default=0,
                    help="pace the scan like a worker that processes what it reads (0 = as fast as possible)")
    ap.add_argument("--idle-s", type=float, default=0,
                    help="after the scan, sleep this long with the file still mapped; report the CPU used meanwhile")
    ap.add_argument("--make-only", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.path):
        make_file(a.path, a.size_mb)
    if a.make_only:
        return

    base_file_kb = status_kb("RssFile")
    t0 = time.monotonic()
    m = np.memmap(a.path, dtype=np.uint64, mode=a.mode)
    per_block = (a.block_kb << 10) // 8
    nblocks = len(m) // per_block
    order = np.random.default_rng(7).permutation(nblocks)
    checksum = np.uint64(0)
    peak_file_kb = 0
    peak_rss = rss_mb()
    with np.errstate(over="ignore"):
        for i, b in enumerate(order):
            if a.rate_mb_s > 0:  # sleep until this block is due at the requested rate
                due = t0 + i * a.block_kb / 1024 / a.rate_mb_s
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
            checksum += m[b * per_block:(b + 1) * per_block].sum(dtype=np.uint64)
            peak_file_kb = max(peak_file_kb, status_kb("RssFile") - base_file_kb)
            peak_rss = max(peak_rss, rss_mb())
    seconds = time.monotonic() - t0
    nbytes = nblocks * per_block * 8
    idle_cpu = None
    if a.idle_s > 0:  # a worker waiting for its next shard: what does memshim cost meanwhile?
        c0 = cpu_seconds()
        time.sleep(a.idle_s)
        idle_cpu = round(cpu_seconds() - c0, 4)
    del m
    finish({
        "name": "memmap_scan",
        "checksum": str(int(checksum)),
        "file_mb": round(nbytes / 2**20, 1),
        "peak_rss_file_mb": round(peak_file_kb / 1024, 1),
        "peak_rss_mb": round(peak_rss, 1),
        "final_rss_mb": round(rss_mb(), 1),
        "read_mb_per_s": round(nbytes / 2**20 / seconds, 1),
        "seconds": round(seconds, 3),
        "idle_s": a.idle_s,
        "idle_cpu_seconds": idle_cpu,
    })


if __name__ == "__main__":
    main()
