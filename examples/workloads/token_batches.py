#!/usr/bin/python3
"""A stand-in for a tokenizer-heavy encode worker (seed 000). HF tokenizers cannot be installed
on the machines that test memshim, so this reproduces the allocation pattern memshim acts on,
not tokenizers itself: batches of long texts turned into per-text buffers of varied sizes (ids,
offsets, attention masks as numpy arrays and lists), a small share of them kept in a bounded
cache across batches (as tokenizers' cache and the model's outputs do), the rest freed when the
batch ends. The freed, interleaved buffers are what stays resident in the allocator.

Prints RSS after each 10 batches and the final line `memshim-workload: {json}`."""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import finish, rss_mb  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--max-tokens", type=int, default=12000, help="longest text, in tokens")
    ap.add_argument("--cache", type=int, default=200, help="entries kept across batches")
    ap.add_argument("--settle", type=float, default=1.5, help="idle seconds before the final reading")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    cache, rss = [], []
    t0 = time.monotonic()
    peak = rss_mb()
    for b in range(a.batches):
        batch = []
        for _ in range(a.batch_size):
            n = int(rng.integers(a.max_tokens // 20, a.max_tokens))
            ids = rng.integers(0, 32000, n, dtype=np.int64)
            offsets = np.stack([np.arange(n), np.arange(n) + 4])  # (start, end) per token
            mask = np.ones(n, dtype=np.int64)
            words = ids[: n // 4].tolist()  # Python-side lists, as the bindings build them
            batch.append((ids, offsets, mask, words))
        width = max(len(t[0]) for t in batch)
        padded = np.zeros((len(batch), width), dtype=np.int64)  # the padded batch tensor
        for i, t in enumerate(batch):
            padded[i, : len(t[0])] = t[0]
        cache.append(batch[int(rng.integers(len(batch)))][0].copy())
        if len(cache) > a.cache:
            cache.pop(int(rng.integers(len(cache))))
        del batch, padded
        peak = max(peak, rss_mb())
        if (b + 1) % 10 == 0:
            rss.append(round(rss_mb(), 1))
    busy_rss = rss_mb()
    time.sleep(a.settle)
    finish({
        "name": "token_batches",
        "rss_every_10_batches_mb": rss,
        "peak_rss_mb": round(peak, 1),
        "rss_at_end_of_work_mb": round(busy_rss, 1),
        "rss_after_idle_mb": round(rss_mb(), 1),
        "cache_mb": round(sum(c.nbytes for c in cache) / 2**20, 1),
        "seconds": round(time.monotonic() - t0, 3),
    })


if __name__ == "__main__":
    main()
