"""Run by tests/integration/py_pytest_plugin.sh through the pytest_memshim plugin: each test's
expected outcome is in its name's comment. MS_SAMPLE_LEAK_KB sets the leak per run."""
import functools
import os

import pytest

LEAK_BYTES = int(os.environ.get("MS_SAMPLE_LEAK_KB", "512")) * 1024
LEAKED = []


@pytest.mark.limit_leaks("1 MB")
def test_leaks():  # fails: LEAK_BYTES more live bytes each run, named by the next line
    LEAKED.append(bytes(LEAK_BYTES))  # @leak


@functools.lru_cache(maxsize=None)
def table():
    return [bytes(64 * 1024) for _ in range(64)]  # 4 MiB, once: the warm-up run fills it


@pytest.mark.limit_leaks("1 MB")
def test_cache_warmup():  # passes: the cache is filled by the warm-up run, then stays
    assert len(table()) == 64
    scratch = [bytes(256 * 1024) for _ in range(8)]  # 2 MiB freed before the run ends
    assert len(scratch) == 8


def allocate_big():
    buf = bytearray(50 * 1024 * 1024)  # @peak
    buf[-1] = 1
    return len(buf)


@pytest.mark.limit_memory("10 MB")
def test_peak_over_limit():  # fails: 50 MiB held for a moment, freed before the test ends
    assert allocate_big() == 50 * 1024 * 1024


@pytest.mark.limit_memory("100 MB")
def test_peak_under_limit():  # passes
    assert allocate_big() == 50 * 1024 * 1024


def test_unmarked():  # passes, measured or not
    assert True
