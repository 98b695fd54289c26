# Own growth leak: a memo dict keyed by request id, which never repeats, so every entry stays;
# lookup() creates them. Argument: seconds to run (default 2.5). Leak; lookup.
import sys
import time

memo = {}

def lookup(request_id):
    if request_id not in memo:
        memo[request_id] = bytearray(2048) + str(request_id).encode()
    return memo[request_id]

def main():
    end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 2.5)
    n = 0
    while time.monotonic() < end:
        for _ in range(4):
            lookup(n)
            n += 1
        time.sleep(0.001)
    print("requests", n)

main()
