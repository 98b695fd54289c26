"""libmemshim.so seen from inside the process: the C API (include/memshim.h) through ctypes,
and the JSON reports it writes (docs/report-format.md) reduced to what the markers compare."""
from __future__ import annotations

import ctypes
import json
import math
import os
import re
from typing import Dict, List, Tuple

HOW_TO_RUN = ("run pytest under the library with profiling on, in exact mode for exact figures: "
              "`MEMSHIM_SAMPLE_BYTES=1 memshim run --profile -- python3 -m pytest ...` or "
              "`MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 LD_PRELOAD=/path/to/libmemshim.so python3 -m pytest ...`")

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}


def parse_size(text: str) -> int:
    """"1 MB", "512KiB", "10M", "4096": binary units, as memshim's own options and pytest-memray."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"memshim: cannot read {text!r} as a size (say \"1 MB\", \"512 KiB\", \"4096\")")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def fmt_bytes(n: float) -> str:
    """"52.4 MiB", "812 B": as the library's reports write sizes."""
    sign, n = ("-" if n < 0 else ""), abs(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{sign}{n / size:.1f} {unit}"
    return f"{sign}{int(n)} B"


class NotMeasured(Exception):
    """The process cannot measure: no library, or profiling off. The message says how to run."""


class Library:
    """The preloaded libmemshim.so, found by symbol in the process itself (ctypes.CDLL(None))."""

    def __init__(self) -> None:
        self._lib = ctypes.CDLL(None, use_errno=True)
        try:
            self._version = self._lib.memshim_version
            self._stat = self._lib.memshim_stat
            self._report = self._lib.memshim_report_json
            self._peak_reset = self._lib.memshim_peak_reset
        except AttributeError as e:
            if not hasattr(self._lib, "memshim_version"):
                raise NotMeasured("memshim: libmemshim.so is not loaded in this process; " + HOW_TO_RUN) from None
            raise NotMeasured(f"memshim: the loaded libmemshim.so is too old for this plugin ({e}); "
                              "use the library built with it") from None
        self._version.restype = ctypes.c_char_p
        self._stat.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64)]
        self._report.argtypes = [ctypes.c_char_p]
        self._peak_reset.restype = None
        self.sample_bytes = self.stat("profile.sample_bytes")
        if not self.sample_bytes:
            raise NotMeasured("memshim: libmemshim.so is loaded but profiling is off, so no call site is "
                              "recorded; " + HOW_TO_RUN)

    @property
    def version(self) -> str:
        return self._version().decode()

    @property
    def exact(self) -> bool:
        return self.sample_bytes <= 1

    def stat(self, name: str) -> int:
        v = ctypes.c_uint64()
        if self._stat(name.encode(), ctypes.byref(v)) != 0:
            raise NotMeasured(f"memshim: the loaded libmemshim.so has no statistic {name!r}; "
                              "use the library built with this plugin")
        return v.value

    def peak_reset(self) -> None:
        self._peak_reset()

    def report(self, path: str) -> None:
        """A JSON report of this process now, into path (which must not exist)."""
        if self._report(os.fsencode(path)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"memshim: memshim_report_json: {os.strerror(err)}", path)

    def noise_floor(self, level: int) -> int:
        """Sampling noise of a site's estimate, as the leak gate has it (src/profile/leak.c):
        2*sqrt(live*R), at least two samples' worth 2R; 0 in exact mode."""
        r = self.sample_bytes
        if r <= 1:
            return 0
        return max(int(2 * math.sqrt(max(level, 0) * r)), 2 * r)


# ---- reports ----

Key = Tuple[str, ...]


def frame_label(f: dict) -> str:
    """A frame as every memshim format names it: Python "file:LINE function", native "function"
    or "module+0xoffset" when the symbol is unknown."""
    if f.get("kind") == "python":
        return f"{f.get('file', '?')}:{f.get('line', 0)} {f.get('function', '??')}"
    fn = f.get("function", "??")
    if fn != "??" or "module" not in f:
        return fn
    return f"{os.path.basename(f['module'])}+{f.get('offset', '?')}"


def frame_key(f: dict) -> str:
    """What sites are matched by across reports: never an address (a native frame by its
    function, an unknown one by its module's name)."""
    if f.get("kind") == "python":
        return frame_label(f)
    fn = f.get("function", "??")
    return fn if fn != "??" else "??@" + os.path.basename(f.get("module", "?"))


def _user_code(f: dict) -> bool:
    path = f.get("file", "")
    return not (path.startswith("<") or "site-packages/" in path or "dist-packages/" in path
                or re.search(r"/lib/python3[^/]*/", path))


def site_where(frames: List[dict]) -> str:
    """A call site in one line, named as the library's leak lines name it: its innermost Python
    frame in the user's code, then the Python frame and native function it went through."""
    if not frames:
        return "(no stack)"
    py = [f for f in frames if f.get("kind") == "python"]
    if not py:
        return frame_label(frames[0])
    named = next((f for f in py if _user_code(f)), py[0])
    parts = []
    if py[0] is not named:
        parts.append("via " + frame_label(py[0]))
    if frames[0].get("kind") != "python":
        parts.append("from " + frame_label(frames[0]))
    return frame_label(named) + (f" ({', '.join(parts)})" if parts else "")


class Site:
    """One call site (all sites with the same frame key, summed) in one report."""

    def __init__(self, frames: List[dict]) -> None:
        self.frames = frames
        self.live = 0
        self.peak = 0

    def add(self, heap: dict) -> None:
        self.live += int(heap.get("live_bytes", 0))
        self.peak += int(heap.get("peak_live_bytes", 0))


def read_sites(path: str) -> Dict[Key, Site]:
    """The heap call sites of one JSON report, by frame key. A site the report does not list
    holds no live bytes (reports list every site that does)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if doc.get("format") != "memshim-report":
        raise ValueError(f"memshim: {path} is not a memshim report")
    sites: Dict[Key, Site] = {}
    for s in doc.get("sites", []):
        heap = s.get("memory", {}).get("heap")
        if heap is None:
            continue
        key = tuple(frame_key(f) for f in s.get("frames", []))
        sites.setdefault(key, Site(s.get("frames", []))).add(heap)
    return sites


class Change:
    """A site's change between two reports: growth of live bytes, or peak above the start."""

    def __init__(self, key: Key, frames: List[dict], amount: int, noise: int) -> None:
        self.key, self.frames, self.amount, self.noise = key, frames, amount, noise

    @property
    def counted(self) -> bool:
        return self.amount > self.noise

    def where(self) -> str:
        return site_where(self.frames)


def _rises(lib: Library, before: Dict[Key, Site], after: Dict[Key, Site], level: str) -> List[Change]:
    """Sites whose `level` ("live" or "peak") in after is above their live bytes in before,
    largest first, each with its noise floor at that level."""
    out = []
    for key, site in after.items():
        start = before[key].live if key in before else 0
        now = getattr(site, level)
        if now > start:
            out.append(Change(key, site.frames, now - start, lib.noise_floor(now)))
    return sorted(out, key=lambda c: -c.amount)


def growth(lib: Library, before: Dict[Key, Site], after: Dict[Key, Site]) -> List[Change]:
    """Sites whose live bytes grew, largest first."""
    return _rises(lib, before, after, "live")


def peak_rise(lib: Library, before: Dict[Key, Site], after: Dict[Key, Site]) -> List[Change]:
    """Sites whose peak since memshim_peak_reset rose above their live bytes at the start."""
    return _rises(lib, before, after, "peak")
