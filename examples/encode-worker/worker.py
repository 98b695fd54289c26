"""A minimal embedding worker: reads one text per line on stdin, writes one vector per line.

Stands in for your own worker; nothing in it knows about memshim (LD_PRELOAD does the work).
With sentence-transformers installed it encodes with the model named by its first argument; without
it (the image built with PYTHON_PACKAGES=debian, no PyPI) a torch stand-in does the same kind of
work: it tokenizes each batch, embeds the tokens and pools them, one vector per line.
"""
import json
import sys
import zlib

try:
    from sentence_transformers import SentenceTransformer
except ImportError:
    SentenceTransformer = None


class StandIn:
    """Hashed tokens -> EmbeddingBag (mean pooling): a batch allocates like a small encoder."""

    def __init__(self, dim=384, buckets=1 << 16):
        import torch

        self.torch = torch
        torch.manual_seed(0)
        self.bag = torch.nn.EmbeddingBag(buckets, dim, mode="mean")
        self.buckets = buckets

    def encode(self, texts):
        torch = self.torch
        ids, offsets = [], []
        for text in texts:
            offsets.append(len(ids))
            ids.extend(zlib.crc32(tok.encode()) % self.buckets for tok in (text.split() or [""]))
        with torch.no_grad():
            return self.bag(torch.tensor(ids), torch.tensor(offsets)).numpy()


if SentenceTransformer is not None:
    model = SentenceTransformer(sys.argv[1] if len(sys.argv) > 1 else "cl-nagoya/ruri-v3-30m")
else:
    print("worker: sentence-transformers is not installed, encoding with the torch stand-in", file=sys.stderr)
    model = StandIn()
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
