# Own clean program: functools.lru_cache(maxsize=128) over a key space much larger than 128, so
# the cache fills early and then evicts; each value is a 16 KiB bytes object. Argument: seconds to
# run (default 2.5). Clean.
import functools
import sys
import time

@functools.lru_cache(maxsize=128)
def thumbnail(key):
    return bytes(16384) + str(key).encode()

def main():
    end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 2.5)
    n = 0
    while time.monotonic() < end:
        for _ in range(8):
            thumbnail((n * 7919) % 5000)
            n += 1
        time.sleep(0.001)
    print("calls", n, thumbnail.cache_info())

main()
