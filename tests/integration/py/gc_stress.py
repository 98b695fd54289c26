# The collector on almost every allocation (gc.set_threshold(1)), in exact mode: finalizers,
# cycles, generators and closures run inside allocations the profiler is reading frames for.
import gc
import sys
import weakref

gc.set_threshold(1)
kept = []


class Node:
    def __init__(self, n):
        self.other = self
        self.payload = [n] * 20

    def __del__(self):
        kept.append(bytearray(300))  # a finalizer allocating during a collection


def gen(n):
    for i in range(n):
        yield Node(i)


def closure(n):
    def inner():
        return [Node(i) for i in range(n)]
    return inner


def work():
    for round_ in range(40):
        list(gen(30))
        closure(30)()
        r = weakref.ref(Node(round_), lambda _: kept.append(bytearray(200)))
        d = {str(i): Node(i) for i in range(20)}
        del d, r
    kept.append(bytearray(2400001))  # @gc.work


work()
gc.collect()
print("done", len(kept), file=sys.stderr)
