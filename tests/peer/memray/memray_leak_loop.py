# Scenario of memray's TestLeaks.test_leaks_that_happen_in_the_same_function_are_aggregated
# (bloomberg/memray, Apache-2.0): foo() leaks one valloc(1024) block per call, ten calls; written
# as a script with ctypes. Leak; allocated in foo.
import ctypes

libc = ctypes.CDLL(None)
libc.valloc.restype = ctypes.c_void_p
kept = []


def foo():
    kept.append(libc.valloc(1024))


for _ in range(10):
    foo()
kept.clear()  # the addresses are dropped: nothing can free the blocks now
