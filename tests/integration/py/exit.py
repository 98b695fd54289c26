# Exit while daemon threads allocate (from Python and from C with the GIL released) and an
# atexit handler allocates: no crash, the exit report is written and names the handler.
import atexit
import ctypes
import threading
import time

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
kept = []


def at_exit_work():
    kept.append(bytearray(2300001))  # @atexit


def daemon_python():
    while True:
        x = [bytearray(5000) for _ in range(20)]
        del x


def daemon_c():
    while True:
        libc.free(libc.malloc(70000))


atexit.register(at_exit_work)
for target in (daemon_python, daemon_c, daemon_c):
    threading.Thread(target=target, daemon=True).start()
time.sleep(0.3)
print("exiting with daemon threads running")
