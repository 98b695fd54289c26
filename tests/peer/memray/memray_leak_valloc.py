# Scenario of memray's TestLeaks.test_leaks_allocations_are_detected (bloomberg/memray,
# Apache-2.0): one valloc(1024) block that is never freed, written as a script with ctypes
# instead of memray's test extension. Leak; allocated in allocate.
import ctypes

libc = ctypes.CDLL(None)
libc.valloc.restype = ctypes.c_void_p


def allocate(size):
    return libc.valloc(size)


kept = allocate(1024)
kept = None  # the address is dropped: nothing can free the block now
