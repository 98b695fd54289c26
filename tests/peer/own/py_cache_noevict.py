# Own growth leak: pages rendered per request are kept in a module-level list that nothing
# evicts; render() allocates them (line 9). Argument: seconds to run (default 2.5). Leak; render.
import sys
import time

cache = []

def render(request_id):
    cache.append(("<li>item %d</li>" % request_id) * 150)
    return len(cache)

def main():
    end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 2.5)
    n = 0
    while time.monotonic() < end:
        for _ in range(4):
            render(n)
            n += 1
        time.sleep(0.001)
    print("rendered", n)

main()
