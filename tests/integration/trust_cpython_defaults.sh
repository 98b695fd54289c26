#!/usr/bin/env bash
# ctest-label: slow
# Issue 12: CPython's own regression tests as a host (test_threading, test_os, test_signal,
# test_subprocess, test_multiprocessing_fork, test_concurrent_futures, test_gc, test_mmap,
# test_ctypes, test_fork1), preloaded with default settings: all pass, none hangs (an outer
# time-out of 840 s; memshim 0.1.0 hung in test_threading). About 3.5 minutes on 2 cores.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/trust_cpython.sh"
trust_cpython_run defaults
