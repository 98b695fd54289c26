# Scenario of memray's TestLeaks.test_allocations_that_are_freed_do_not_appear_as_leaks
# (bloomberg/memray, Apache-2.0): three valloc(1024)/free pairs, written as a script with ctypes.
# Clean.
import ctypes

libc = ctypes.CDLL(None)
libc.valloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]


def allocate(size):
    return libc.valloc(size)


for _ in range(3):
    libc.free(allocate(1024))
