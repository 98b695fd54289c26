/* Small readers of /proc/self, without stdio or allocation. */
#ifndef MEMSHIM_PROC_H
#define MEMSHIM_PROC_H

#include <stdint.h>

/* A small file (under /proc, /sys) read whole into buf with raw system calls, NUL-terminated;
 * returns its length, or -1. */
long ms_read_small(const char *path, char *buf, unsigned long len);
/* Resident set size in bytes (from /proc/self/statm), 0 if unreadable. */
uint64_t ms_proc_rss(void);
/* File-backed and shared resident bytes (RssFile + RssShmem, /proc/self/statm field 3), 0 if unreadable. */
uint64_t ms_proc_rss_shared(void);
/* Page faults (minor + major) the process has taken so far (getrusage): one system call, no
 * descriptor. */
uint64_t ms_proc_page_faults(void);
/* Number of threads of this process (/proc/self/stat field 20), 0 if unreadable. */
int ms_proc_threads(void);
/* Threads of this process still running: the count above, less a leader that has ended
 * (main called pthread_exit: the process shows as a zombie until its other threads end);
 * 0 if unreadable. */
int ms_proc_live_threads(void);
/* Program name (/proc/self/comm) into buf; "" if unreadable. */
void ms_proc_comm(char *buf, unsigned long len);

#endif
