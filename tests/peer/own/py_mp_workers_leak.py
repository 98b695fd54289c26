# Own growth leak in forked workers: a multiprocessing pool whose workers keep every result in a
# per-process list; handle() allocates them. The workers end with _exit. Argument: seconds to run
# (default 3). Leak; handle.
import multiprocessing as mp
import sys
import time

seen = []

def handle(i):
    seen.append(bytes(4096) + str(i).encode())
    time.sleep(0.001)
    return len(seen)

def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    end = time.monotonic() + seconds
    with mp.get_context("fork").Pool(2) as pool:
        n = 0
        while time.monotonic() < end:
            pool.map(handle, range(n, n + 50), chunksize=5)
            n += 50
    print("tasks", n)

if __name__ == "__main__":
    main()
