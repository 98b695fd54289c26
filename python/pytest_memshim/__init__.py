"""pytest-memshim: the markers limit_leaks and limit_memory, measured per call site by the
libmemshim.so the test process runs under (docs/pytest.md).

    MEMSHIM_SAMPLE_BYTES=1 memshim run --profile -- python3 -m pytest -p pytest_memshim tests/

    @pytest.mark.limit_leaks("1 MB")    # live heap growth over repeated runs of the test
    @pytest.mark.limit_memory("24 MB")  # peak live heap during the test, above its start

A marked test fails, with a "memshim: ..." message saying how to run it, when the process
cannot measure (no library, profiling off): a limit is never passed without a measurement.
"""
from __future__ import annotations

import functools
import gc
import inspect
import os
import shutil
import tempfile
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from ._memshim import (Change, Key, Library, NotMeasured, Site, fmt_bytes, growth, parse_size,
                       peak_rise, read_sites)

__all__ = ["parse_size"]

_TOP = 5  # sites named in a failure


class _State:
    """What one pytest process knows: the library (or why not) and a private report directory."""

    def __init__(self, leak_runs: int) -> None:
        self.leak_runs = leak_runs
        self.lib: Optional[Library] = None
        self.error = ""
        try:
            self.lib = Library()
        except NotMeasured as e:
            self.error = str(e)
        self.dir = tempfile.mkdtemp(prefix="memshim-pytest-")
        self.n = 0

    def report_path(self) -> str:
        self.n += 1
        return os.path.join(self.dir, f"report.{self.n}.json")

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


_KEY = pytest.StashKey[_State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memshim", "memory limits measured by libmemshim.so (docs/pytest.md)")
    group.addoption("--memshim-leak-runs", type=int, default=5, metavar="K",
                    help="limit_leaks: runs of the test measured after its warm-up run (default 5)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "limit_leaks(size): fail when live heap bytes grow by more than size "
                            "over --memshim-leak-runs runs of the test after a warm-up run (memshim)")
    config.addinivalue_line("markers", "limit_memory(size): fail when the live heap peaks more than size "
                            "above its level at the test's start (memshim)")
    runs = config.getoption("memshim_leak_runs")
    if runs < 1:
        raise pytest.UsageError("--memshim-leak-runs must be at least 1")
    config.stash[_KEY] = _State(runs)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_KEY, None)
    if state is not None:
        state.close()


def pytest_report_header(config: pytest.Config) -> str:
    state = config.stash[_KEY]
    if state.lib is None:
        return state.error.replace("memshim: ", "memshim: marked tests will fail: ", 1)
    lib = state.lib
    mode = "exact" if lib.exact else (f"sampling every {fmt_bytes(lib.sample_bytes)} (per-site noise floor "
                                      f"{fmt_bytes(lib.noise_floor(0))} and more; MEMSHIM_SAMPLE_BYTES=1 is exact)")
    return f"memshim {lib.version}: profiling, {mode}; limit_leaks runs: 1 warm-up + {state.leak_runs}"


def _limit(item: pytest.Item, name: str) -> Optional[int]:
    mark = item.get_closest_marker(name)
    if mark is None:
        return None
    if len(mark.args) != 1 or mark.kwargs:
        pytest.fail(f"memshim: @pytest.mark.{name} takes one size, e.g. {name}(\"1 MB\")", pytrace=False)
    try:
        return parse_size(mark.args[0])
    except ValueError as e:
        pytest.fail(str(e), pytrace=False)


def _sites_message(title: str, changes: List[Change], per: int = 0) -> str:
    lines = [title]
    shown = [c for c in changes[:_TOP] if c.amount * 100 >= changes[0].amount]  # not the crumbs
    for c in shown:
        each = f" ({fmt_bytes(c.amount / per)} per run)" if per else ""
        lines.append(f"  +{fmt_bytes(c.amount)}{each} at {c.where()}")
    if len(changes) > len(shown):
        lines.append(f"  ... and {len(changes) - len(shown)} smaller call sites")
    return "\n".join(lines)


def _noise_note(lib: Library) -> str:
    return "exact" if lib.exact else f"sampling every {fmt_bytes(lib.sample_bytes)}: below-noise growth not counted"


def _second_report(lib: Library, paths: List[str]) -> Tuple[Dict[Key, Site], Dict[Key, Site]]:
    """Takes the report into paths[1], then reads both and removes them. Both are taken before
    either is read: the parsed first report is not in the second's figures."""
    try:
        lib.report(paths[1])
        return read_sites(paths[0]), read_sites(paths[1])
    finally:
        for p in paths:
            if os.path.exists(p):
                os.unlink(p)


def _leak_checked(func: Callable, state: _State, lib: Library, limit: int) -> Callable:
    """func run 1 + K times with the same arguments; reports after the warm-up and after the K."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        paths = [state.report_path(), state.report_path()]
        for i in range(1 + state.leak_runs):
            if i == 1:  # after the warm-up run: caches filled on first use are in the start
                gc.collect()
                lib.report(paths[0])
            func(*args, **kwargs)  # one line for every run: the same Python call sites each time
        gc.collect()
        before, after = _second_report(lib, paths)
        changes = [c for c in growth(lib, before, after) if c.counted]
        total = sum(c.amount for c in changes)
        if total > limit:
            pytest.fail(_sites_message(
                f"memshim: live heap grew by {fmt_bytes(total)} over {state.leak_runs} runs after a warm-up run "
                f"(limit_leaks {fmt_bytes(limit)}; {_noise_note(lib)}); growing call sites:",
                changes, state.leak_runs), pytrace=False)

    return run


def _peak_checked(func: Callable, state: _State, lib: Library, limit: int) -> Callable:
    """func run once between a peak reset with a report and a second report."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        paths = [state.report_path(), state.report_path()]
        lib.peak_reset()
        lib.report(paths[0])
        func(*args, **kwargs)
        thread_peak = lib.stat("heap.thread_peak")
        before, after = _second_report(lib, paths)
        rises = [c for c in peak_rise(lib, before, after) if c.counted]
        site_peak = max((c.amount - c.noise for c in rises), default=0)
        peak = max(thread_peak, site_peak)
        if peak > limit:
            pytest.fail(_sites_message(
                f"memshim: live heap peaked {fmt_bytes(peak)} above the test's start (limit_memory "
                f"{fmt_bytes(limit)}; the test thread's peak {fmt_bytes(thread_peak)}, the largest call site's "
                f"{fmt_bytes(site_peak)}; {_noise_note(lib)}); call sites by peak:", rises), pytrace=False)

    return run


def _unmeasured(message: str) -> Callable:
    def run(*args, **kwargs):
        pytest.fail(message, pytrace=False)

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A marked test's function is replaced for its call by one that measures it (and fails it
    when the limit is exceeded or nothing can be measured); failures are raised by the test
    call itself, as the test's own would be."""
    leak_limit = _limit(item, "limit_leaks")
    memory_limit = _limit(item, "limit_memory")
    original = getattr(item, "obj", None)
    if (leak_limit is None and memory_limit is None) or original is None:
        yield
        return
    state = item.config.stash[_KEY]
    lib = state.lib
    if lib is None:  # no library or no profiling: the marked test fails, never passes unmeasured
        item.obj = _unmeasured(state.error)
    elif inspect.iscoroutinefunction(original):
        item.obj = _unmeasured("memshim: limit_leaks and limit_memory need a plain (not async) test function")
    else:
        func = original
        if leak_limit is not None:
            func = _leak_checked(func, state, lib, leak_limit)
        if memory_limit is not None:
            func = _peak_checked(func, state, lib, memory_limit)
        item.obj = func
    try:
        yield
    finally:
        item.obj = original
