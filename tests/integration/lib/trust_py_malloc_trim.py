# Seed 003's workaround: ctypes.CDLL(None).malloc_trim(0) after freeing 500 MB of 100 KB blocks
# (one malloc'd object allocated after them stays live, so glibc's heap top cannot shrink on its
# own). Prints the return value and RSS (KiB) before, at the peak, after the free, after the trim.
import ctypes, gc

def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4

libc = ctypes.CDLL(None)
libc.malloc_trim.argtypes = [ctypes.c_size_t]
gc.collect()
before = rss_kib()
blocks = [bytearray(100_000) for _ in range(5000)]
pin = bytearray(2000)  # > 512 bytes: malloc'd, not from CPython's small-object arenas
peak = rss_kib()
del blocks
gc.collect()
freed = rss_kib()
r = libc.malloc_trim(0)
print("malloc_trim(0) = %d" % r)
print("rss_kib before %d peak %d freed %d trimmed %d" % (before, peak, freed, rss_kib()))
