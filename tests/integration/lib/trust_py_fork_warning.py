# CPython 3.12+ warns (DeprecationWarning) when os.fork() runs in a process with several threads.
# With 64 MiB live and a job for memshim's thread (the script passes a metrics file; under the
# defaults no thread starts), its thread shown in /proc/self/status first, 20 forks must
# record no such warning; with "control", a sleeping Python thread makes every fork warn (the
# check itself works). Warnings are recorded, not printed: under -W error CPython clears the
# error it raises there, so only a recording filter sees it.
import os, sys, threading, time, warnings

def threads():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("Threads:")).split()[1])

control = len(sys.argv) > 1 and sys.argv[1] == "control"
if control:
    # sleeps past the 20 forks however slow they are (a daemon: it does not delay the exit)
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
hold = bytearray(64 << 20)
want = 3 if control else 2
warned = 0
for i in range(20):
    deadline = time.monotonic() + 90  # generous: both cores may be busy
    while threads() != want:  # our thread back (it stays away briefly after each fork)
        if time.monotonic() > deadline:
            sys.exit("FAIL: fork %d: %d threads, want %d (memshim's thread never came)" % (i, threads(), want))
        bytearray(2 << 20)
        time.sleep(0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pid = os.fork()
    if pid == 0:
        os._exit(0)
    warned += sum(issubclass(w.category, DeprecationWarning) for w in caught)
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit("FAIL: child status")
print("forks 20 with %d threads each, DeprecationWarnings %d" % (want, warned))
