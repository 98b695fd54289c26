# Fork from a non-main thread while memshim's thread runs; the child makes its own (64 MiB live),
# starts and joins a thread, and leaves normally: its forking thread returns, CPython ends it
# with pthread_exit and glibc ends the process after its last thread. Must not hang.
import os, sys, threading, time

def threads():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("Threads:")).split()[1])

def wait_threads(want, what):
    deadline = time.monotonic() + 90  # generous: both cores may be busy
    while threads() != want:
        if time.monotonic() > deadline:
            print("FAIL: %s: %d threads, want %d" % (what, threads(), want), flush=True)
            os._exit(3)
        bytearray(2 << 20)
        time.sleep(0.01)

hold = bytearray(64 << 20)
wait_threads(2, "parent: main + memshim's")
print("parent threads before fork:", threads(), flush=True)
child = []

def forker():
    pid = os.fork()
    if pid:
        child.append(pid)
        return
    mine = bytearray(64 << 20)
    t = threading.Thread(target=time.sleep, args=(0.05,))
    t.start()
    t.join()
    wait_threads(2, "child: its thread + memshim's")
    print("child threads before leaving:", threads(), flush=True)
    # returning ends this thread, the child's only one of its own: a normal exit

t = threading.Thread(target=forker)
t.start()
t.join()
pid = child[0]
deadline = time.monotonic() + 90  # a hang, not a slow machine
while True:
    r, status = os.waitpid(pid, os.WNOHANG)
    if r == pid:
        break
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.exit("FAIL: the child forked from a thread did not exit within 90 s")
    time.sleep(0.01)
print("child exit status", os.waitstatus_to_exitcode(status), "after", round(time.monotonic() - deadline + 90, 2), "s")
