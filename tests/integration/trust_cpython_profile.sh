#!/usr/bin/env bash
# ctest-label: slow
# Issue 12: CPython's own regression tests (the ten of trust_cpython_defaults) preloaded with
# MEMSHIM_PROFILE=1: every Python process of the run profiles (our thread in each, a report at
# each exit) and all ten test modules still pass. About 3.5 minutes on 2 cores; a separate ctest
# test so that ctest -j2 overlaps it with the defaults run.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/trust_cpython.sh"
trust_cpython_run profiling MEMSHIM_PROFILE=1
