# The call shapes memshim must name (tests/integration/py/frames.sh). Every allocation to be
# found is a bytearray of its own size, kept alive in KEEP until memshim's signal report is
# written; the line that allocates carries a "# @case" marker the checker looks for.
import os
import signal
import sys
import threading
import time

KEEP = []


def outer_fn():
    def inner_fn():
        KEEP.append(bytearray(1100001))  # @nested
    inner_fn()  # @nested.caller


class Holder:
    def grab(self):
        KEEP.append(bytearray(1200001))  # @method


def gen_fn():
    for _ in range(2):
        yield bytearray(1300001)  # @generator


def comp_fn():
    KEEP.extend([bytearray(1400001) for _ in range(2)])  # @comprehension


def thread_fn():
    KEEP.append(bytearray(1500001))  # @thread


def grüße():
    KEEP.append(bytearray(1600001))  # @latin1


def 数据():
    KEEP.append(bytearray(1700001))  # @ucs2


def 𠀀x():
    KEEP.append(bytearray(1800001))  # @ucs4


def main():
    outer_fn()
    Holder().grab()
    KEEP.extend(gen_fn())  # @generator.caller
    comp_fn()
    t = threading.Thread(target=thread_fn)
    t.start()
    t.join()
    exec(compile("KEEP.append(bytearray(1900001))\n", "generated_by_exec.py", "exec"))  # @exec.caller
    grüße()
    数据()
    𠀀x()
    # A report now, while everything is alive; memshim's log says when it is written.
    log = os.environ["MEMSHIM_LOG"]
    os.kill(os.getpid(), signal.SIGRTMIN + 9)  # memshim's default report signal
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(log):  # memshim opens its log at the first line
            with open(log, encoding="utf-8", errors="replace") as f:
                if any("report (signal) written" in l and l.rstrip().endswith(".collapsed") for l in f):
                    break
        time.sleep(0.05)
    else:
        sys.exit("no signal report within 60 s")
    base = os.environ["MEMSHIM_REPORT_PATH"].replace("%p", str(os.getpid()))
    for ext in ("json", "txt", "collapsed"):
        os.rename(base + "." + ext, os.path.join(os.path.dirname(base), "signal." + ext))


main()
