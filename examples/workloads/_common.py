"""Helpers shared by the workloads: /proc readings and the final result line."""
import ctypes
import json
import os
import resource

PAGE = os.sysconf("SC_PAGE_SIZE")


def status_kb(field):
    """A field of /proc/self/status in kB (VmRSS, RssFile, RssAnon, VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def memshim_stats():
    """memshim's counters when libmemshim.so is preloaded, else None."""
    lib = ctypes.CDLL(None)
    try:
        stat = lib.memshim_stat
    except AttributeError:
        return None
    stat.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64)]
    out = {}
    for name in ("purge.count", "purge.bytes", "mmap.tracked", "mmap.resident", "mmap.dropped"):
        v = ctypes.c_uint64()
        if stat(name.encode(), ctypes.byref(v)) == 0:
            out[name] = v.value
    return out


def finish(result):
    """The last line every workload prints: scripts parse it."""
    result["cpu_seconds"] = round(cpu_seconds(), 3)
    result["memshim"] = memshim_stats()
    print("memshim-workload: " + json.dumps(result, sort_keys=True), flush=True)
