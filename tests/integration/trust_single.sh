#!/usr/bin/env bash
# Issue 22, items 3 and 4: in the default configuration no thread of ours exists, however much
# heap a process holds, and memory still comes back. progs/trust_single holds 200 MiB of mixed
# sizes, and while it holds it calls a raw unshare(CLONE_NEWUSER), pthread_create and
# posix_spawn; then it frees everything and goes idle 0.5 s.
# - as root: /proc/self/task never shows a second task, the raw unshare succeeds, RSS 0.5 s
#   after the frees is within 10% of what the heap added (the policy's unload purge runs on the
#   freeing thread); the same with a mapping cap on but nothing to cap (its thread not
#   running); progs/trust_single_map: a capped mapping with 2 MiB resident starts no thread (the
#   raw unshare works), the whole 64 MiB file read brings the thread and the 16M cap holds; the
#   same run with the policy off keeps that memory (not vacuous);
# - as an unprivileged user under prlimit --nproc=2: pthread_create and posix_spawn succeed
#   (the one spare task is the host's), and the raw unshare too where user namespaces are open;
# - in a child pids cgroup (v1 or v2) with pids.max=2: the same (skipped with a reason where no
#   child group can be made).
. "$(dirname "$0")/lib/common.sh"
prog="$PROGS/trust_single"
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

check() { # what, output, want_unshare (0 or "any")
  local what=$1 out=$2 want_unshare=$3
  [ -n "$out" ] || ms_fail "$what: no output"
  ms_assert_num "$(field "$out" tasks_max)" -eq 1 "$what: tasks seen in /proc/self/task ($out)"
  ms_assert_num "$(field "$out" thread)" -eq 0 "$what: pthread_create status ($out)"
  ms_assert_num "$(field "$out" spawn)" -eq 0 "$what: posix_spawn status ($out)"
  [ "$want_unshare" = any ] || ms_assert_num "$(field "$out" unshare)" -eq 0 "$what: raw unshare(CLONE_NEWUSER) errno ($out)"
  local base peak after
  base=$(field "$out" base_kb) peak=$(field "$out" peak_kb) after=$(field "$out" after_kb)
  ms_assert_num "$((peak - base))" -ge $((180 * 1024)) "$what: KiB the heap added"
  ms_assert_num "$((after - base))" -le "$(((peak - base) / 10))" "$what: KiB left 0.5 s after the frees ($out)"
  ms_pass "$what: one task, thread and spawn succeed, memory back 0.5 s after the frees ($out)"
}

if [ "$(id -u)" -eq 0 ] && unshare -U true 2>/dev/null; then
  for i in 1 2 3; do
    check "root, defaults, run $i" "$(ms_preload "$prog" unshare)" 0
  done
  # A mapping cap with no file mapping to watch: the feature is on, its thread is not running,
  # so the raw unshare must work too.
  check "root, MEMSHIM_MMAP_RESIDENT_MAX=64M, no mapping" "$(ms_preload MEMSHIM_MMAP_RESIDENT_MAX=64M "$prog" unshare)" 0
else
  for i in 1 2 3; do check "defaults, run $i" "$(ms_preload "$prog")" any; done
fi

# A capped mapping in a single-threaded host (Chromium's zygote maps resources.pak, then checks
# it is alone before it unshares): with little of it resident the cap's thread stays away and a
# raw unshare works; once the whole 64 MiB file is read the thread comes and holds the 16M cap.
head -c $((64 << 20)) /dev/urandom >"$MS_TMP/map.bin"
map_args=("$MS_TMP/map.bin")
[ "$(id -u)" -eq 0 ] && unshare -U true 2>/dev/null && map_args+=(unshare)
out=$(ms_preload MEMSHIM_MMAP_RESIDENT_MAX=16M "$PROGS/trust_single_map" "${map_args[@]}") ||
  ms_fail "trust_single_map: $out"
echo "$out"
ms_pass "a capped mapping: no thread while the cap has nothing to do, the thread and the cap once it has"

off=$(ms_preload MEMSHIM_RETAINED_MAX=0 MEMSHIM_IDLE_PURGE=0 "$prog")
ms_assert_num "$(($(field "$off" after_kb) - $(field "$off" base_kb)))" -gt \
  "$((($(field "$off" peak_kb) - $(field "$off" base_kb)) / 10))" "policy off: the allocator keeps the freed heap ($off)"
ms_pass "policy off: the freed heap stays ($off): the check above is not vacuous"

[ "$(id -u)" -eq 0 ] || ms_skip "the unprivileged and cgroup cases need root (setpriv, a child cgroup)"
command -v setpriv >/dev/null && command -v prlimit >/dev/null || ms_skip "setpriv or prlimit (util-linux) is not installed"
# A uid with no other task on this machine: RLIMIT_NPROC counts the user's tasks.
uid=54329
chmod 755 "$MS_TMP"
as_user() { prlimit --nproc=2 setpriv --reuid=$uid --regid=$uid --clear-groups env LD_PRELOAD="$MS_TEST_LIB" "$@"; }
if as_user unshare -U true 2>/dev/null; then
  check "uid $uid, prlimit --nproc=2" "$(as_user "$prog" unshare)" 0
else
  echo "note: unprivileged user namespaces are closed here; the raw unshare is not tried as uid $uid"
  check "uid $uid, prlimit --nproc=2" "$(as_user "$prog")" any
fi
# The limit is real: a second thread beside the one the host makes would not fit.
limit_hit=$(prlimit --nproc=1 setpriv --reuid=$uid --regid=$uid --clear-groups "$prog")
[ "$(field "$limit_hit" thread)" -ne 0 ] || ms_fail "prlimit --nproc=1 did not limit threads ($limit_hit)"
ms_pass "prlimit --nproc=1 refuses the host's own thread (errno $(field "$limit_hit" thread)): the limit is real"

# pids.max: a child of this test's own pids cgroup (v1 controller or the v2 tree).
own=$(awk -F: '$2 == "pids" { print $3 }' /proc/self/cgroup)
root=/sys/fs/cgroup/pids
if [ -z "$own" ]; then own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup); root=/sys/fs/cgroup; fi
grp="$root${own%/}/memshim-test-$$"
if ! mkdir "$grp" 2>/dev/null || ! echo 2 >"$grp/pids.max" 2>/dev/null; then
  rmdir "$grp" 2>/dev/null || true
  ms_pass "pids.max case skipped: no child pids cgroup can be made under $root$own here"
  exit 0
fi
trap 'rmdir "$grp" 2>/dev/null; rm -rf "$MS_TMP"' EXIT
out=$(sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec env LD_PRELOAD="$0" "$@"' "$MS_TEST_LIB" "$grp" "$prog")
check "cgroup pids.max=2" "$out" any
