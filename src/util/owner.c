#include "owner.h"

#include "sys.h"

static pid_t ms_owner_pid;

void ms_owner_set(void) { ms_owner_pid = ms_sys_getpid(); }
bool ms_is_owner(void) { return ms_sys_getpid() == ms_owner_pid; }
