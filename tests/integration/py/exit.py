# Exit while daemon threads allocate (from Python and from C with the GIL released) and an
# atexit handler allocates: no crash, the exit report is written and names the handler.
import atexit
import ctypes
import threading

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
kept = []


def at_exit_work():
    kept.append(bytearray(2300001))  # @atexit


def daemon_python(running):
    while True:
        x = [bytearray(5000) for _ in range(20)]
        del x
        running.set()


def daemon_c(running):
    while True:
        libc.free(libc.malloc(70000))
        running.set()


atexit.register(at_exit_work)
# exit once every daemon is seen allocating (an event, not a fixed pause: cores may be busy)
started = []
for target in (daemon_python, daemon_c, daemon_c):
    started.append(threading.Event())
    threading.Thread(target=target, args=(started[-1],), daemon=True).start()
for running in started:
    if not running.wait(60):
        raise SystemExit("a daemon thread never ran in 60 s")
print("exiting with daemon threads running")
