# Python call sites' worst case: every allocation made 24 Python calls deep (a recursive walk of
# nested handlers), blocks above pymalloc's 512-byte limit so that each one reaches malloc.
import sys

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


def handler(depth, i, out):
    if depth:
        return handler(depth - 1, i, out)
    for k in range(8):
        out.append(b"x" * (600 + (i * 37 + k * 101) % 3000))
    return len(out)


total = 0
for i in range(steps):
    out = []
    total += handler(24, i, out)
print("py_deep", steps, total)
