# A leak kept by one named Python function, through pure-Python objects (bytearray buffers, the
# interpreter's own allocator), ctypes malloc (GIL released), numpy arrays or torch tensors (GIL
# released in the op), beside a clean churn of the same kind.
# Usage: leak.py python|ctypes|numpy|torch SECONDS
import sys
import time

kind, seconds = sys.argv[1], float(sys.argv[2])
kept = []

if kind == "python":

    def keep_buffers():
        kept.append(bytearray(65536))  # @leak.python

    def churn():
        return len(bytes(100000))

    leak = keep_buffers
elif kind == "ctypes":
    import ctypes

    libc = ctypes.CDLL(None)  # CDLL: the call releases the GIL
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    def keep_blocks():
        kept.append(libc.malloc(65536))  # @leak.ctypes

    def churn():
        libc.free(libc.malloc(100000))

    leak = keep_blocks
elif kind == "numpy":
    import numpy as np

    def keep_arrays():
        kept.append(np.ones(8192))  # @leak.numpy

    def churn():
        return float((np.arange(12000) * 2.0).sum())

    leak = keep_arrays
elif kind == "torch":
    import torch

    torch.set_num_threads(1)

    def keep_tensors():
        kept.append(torch.ones(16384))  # @leak.torch

    def churn():
        return float((torch.arange(24000, dtype=torch.float32) * 2).sum())

    leak = keep_tensors
else:
    sys.exit("unknown kind " + kind)

t0 = time.monotonic()
while time.monotonic() - t0 < seconds:
    leak()
    churn()
    time.sleep(0.002)
print("kept", len(kept))
