# fork: parent and child each allocate in a named function; each process's own report (exit,
# exact mode: sites by bytes allocated) names its function.
import os
import sys

kept = []


def parent_work():
    kept.append(bytearray(2100001))  # @fork.parent


def child_work():
    kept.append(bytearray(2200001))  # @fork.child


parent_work()
pid = os.fork()
if pid == 0:
    child_work()
    sys.exit(0)
_, status = os.waitpid(pid, 0)
print("child", pid, "status", status)
sys.exit(0 if status == 0 else 1)
