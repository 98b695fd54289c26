// Many threads allocating and freeing concurrently: heaptrack's tests/manual/threaded.cpp scenario,
// whose source lives with the peer leak suite (tests/peer/heaptrack/threaded.cc); built here so
// that prof_threads_sigpipe.sh finds it in PROGS. Argument: rounds of 8 threads (default 100).
#include "../../peer/heaptrack/threaded.cc"
