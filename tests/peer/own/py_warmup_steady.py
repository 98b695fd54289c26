# Own clean program: a warm-up that loads a 20 MB lookup dict during the first fifth of the run,
# then steady request handling whose garbage is freed. Argument: seconds to run (default 2.5).
# Clean.
import sys
import time

table = {}

def handle(i):
    parts = [str(i)] * 64
    return len("-".join(parts)) + len(table.get(i % 5000, b""))

def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.5
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        frac = (time.monotonic() - t0) / seconds
        if frac < 0.2:
            want = int(5000 * frac / 0.2)
            while len(table) < want:
                table[len(table)] = bytes(4096)
        for _ in range(16):
            handle(n)
            n += 1
        time.sleep(0.001)
    print("requests", n, "table", len(table))

main()
