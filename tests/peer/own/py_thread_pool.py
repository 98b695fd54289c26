# Own clean program: concurrent.futures.ThreadPoolExecutor with 4 threads; every task builds and
# drops a buffer, results are consumed as they come. Argument: seconds to run (default 2.5). Clean.
import concurrent.futures as cf
import sys
import time

def task(i):
    buf = bytearray(8192 + (i % 7) * 1024)
    buf[0] = i & 0xFF
    return len(buf)

def main():
    end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 2.5)
    n = total = 0
    with cf.ThreadPoolExecutor(max_workers=4) as pool:
        while time.monotonic() < end:
            total += sum(pool.map(task, range(n, n + 32)))
            n += 32
            time.sleep(0.001)
    print("tasks", n, total)

main()
