"""A minimal embedding worker: reads one text per line on stdin, writes one vector per line.

Stands in for your own worker; nothing in it knows about memshim (LD_PRELOAD does the work).
"""
import json
import sys

from sentence_transformers import SentenceTransformer

model = SentenceTransformer(sys.argv[1] if len(sys.argv) > 1 else "cl-nagoya/ruri-v3-30m")
batch = []
for line in sys.stdin:
    batch.append(line.rstrip("\n"))
    if len(batch) == 32:
        for vec in model.encode(batch):
            print(json.dumps(vec.tolist()))
        batch.clear()
if batch:
    for vec in model.encode(batch):
        print(json.dumps(vec.tolist()))
