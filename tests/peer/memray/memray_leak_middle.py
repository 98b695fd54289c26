# Scenario of memray's TestLeaks.test_leak_that_happens_in_the_middle_is_detected
# (bloomberg/memray, Apache-2.0): valloc/free pairs around one valloc(2048) that is never freed;
# written as a script with ctypes. Leak; allocated in leak_middle.
import ctypes

libc = ctypes.CDLL(None)
libc.valloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]


def churn():
    libc.free(libc.valloc(1024))


def leak_middle():
    return libc.valloc(2048)


churn()
leaked = leak_middle()
churn()
churn()
leaked = None
