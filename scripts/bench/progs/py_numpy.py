# Python + numpy: many short-lived arrays of mixed sizes (malloc through numpy's allocator),
# Python lists and dicts (pymalloc arenas, larger blocks via malloc).
import sys
import numpy as np

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
acc = 0.0
keep = []
for i in range(steps):
    a = np.arange(64 + (i * 37) % 4000, dtype=np.float64)
    b = a * 2.0 + 1.0
    d = {str(k): a[k % a.size] for k in range(20)}
    acc += float(b[-1]) + len(d)
    keep.append(b[: (i % 50) + 1].copy())
    if len(keep) > 200:
        keep = keep[100:]
print("py_numpy", steps, round(acc, 3))
