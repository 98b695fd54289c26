#!/usr/bin/env bash
# ctest-label: slow
# Issue 22: Debian's chromium as a host (puppeteer images, headless rendering, crawlers). As an
# unprivileged user, sandbox on (no --no-sandbox), `chromium --headless --dump-dom file://page |
# grep MARKER` must end within 120 s with the page's marker, and leave no process of that user
# behind, and print no memshim line, under: no preload, the defaults, MEMSHIM_PROFILE=1,
# MEMSHIM_RSS_SOFT_LIMIT=200M, MEMSHIM_MMAP_RESIDENT_MAX=8M, and both caps; each preloaded
# variant three times (the fork-lock hang is a race). memshim 0.1 hung (registry lock across another
# library's atfork prepare; a thread started in our atfork child handler) or aborted (rc 134,
# "Zygote process exited prematurely": our thread in the single-threaded zygote), and an earlier build still
# did under the mapping cap.
# Sandbox on: chromium on Linux refuses to start ("No usable sandbox!") when neither user
# namespaces nor its setuid helper work, unless told --no-sandbox, which is never passed here; the
# run without the preload comes first, so a host that cannot sandbox skips instead of failing.
# A hang is diagnosed (each process left: state, wchan, command) before its processes are killed.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI
[ "$(id -u)" -eq 0 ] || ms_skip "needs root (to run chromium as an unprivileged user)"
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || ms_skip "Debian's chromium is not installed (apt-get install chromium)"
command -v setpriv >/dev/null || ms_skip "setpriv (util-linux) is not installed"

# A user of our own, so that "no process of that user left" counts only what this test started.
USER_NAME=memshim-chromium
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME" 2>/dev/null ||
    id -u "$USER_NAME" >/dev/null 2>&1 || ms_fail "useradd $USER_NAME failed"
fi
UID_N=$(id -u "$USER_NAME")
GID_N=$(id -g "$USER_NAME")

# Leftovers of an earlier, killed run would count against this one: end them by their ids.
user_pids() { # live (non-zombie) processes of the user
  local p st
  for p in $(pgrep -u "$UID_N" 2>/dev/null || true); do
    st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) || continue
    if [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]; then echo "$p"; fi
  done
  return 0
}
kill_user_pids() {
  local p
  for p in $(user_pids); do kill -KILL "$p" 2>/dev/null || true; done
}
kill_user_pids
cleanup() { kill_user_pids; rm -rf "$MS_TMP"; }
trap cleanup EXIT

chmod 755 "$MS_TMP"
MARKER="memshim-marker-$$-$RANDOM"
cat >"$MS_TMP/page.html" <<HTML
<!DOCTYPE html>
<html><head><title>memshim</title></head>
<body><p id="m"></p>
<script>document.getElementById("m").textContent = "$MARKER";</script>
</body></html>
HTML
chmod 644 "$MS_TMP/page.html"
# The marker is written by the page's script, so the DOM proves a renderer ran it.

# render NAME [VAR=value...]: one render; on failure adds "NAME: hang|rc N|no marker|left N|
# memshim printed" to FAILED.
FAILED=()
render() {
  local name=$1
  shift
  local home="$MS_TMP/home-$name"
  mkdir -p "$home/tmp" && chown -R "$UID_N:$GID_N" "$home"
  local pre=()
  [ "$name" = none ] || pre=(LD_PRELOAD="$MS_TEST_LIB")
  # cwd: a directory the user cannot write ($MS_TMP), as a read-only root would be.
  (
    set +e
    cd "$MS_TMP"
    setpriv --reuid="$UID_N" --regid="$GID_N" --clear-groups \
      env -i PATH=/usr/bin:/bin HOME="$home" TMPDIR="$home/tmp" "${pre[@]}" "$@" \
      "$CHROMIUM" --headless --dump-dom --user-data-dir="$home/profile" "file://$MS_TMP/page.html" \
      2>"$MS_TMP/$name.err" | grep -c "$MARKER" >"$MS_TMP/$name.count"
    echo "${PIPESTATUS[0]}" >"$MS_TMP/$name.rc"
  ) &
  local pipeline=$! end=$((SECONDS + 120)) result=""
  while kill -0 "$pipeline" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      result="hang"
      echo "--- $name: the pipeline has not ended after 120 s; processes of $USER_NAME:" >&2
      local p
      for p in $(user_pids); do
        echo "  $p $(awk '$1 == "State:" { print $2 }' "/proc/$p/status" 2>/dev/null)" \
          "wchan=$(cat "/proc/$p/wchan" 2>/dev/null) $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160)" >&2
      done
      kill_user_pids
      break
    fi
    sleep 0.2
  done
  wait "$pipeline" 2>/dev/null || true
  if [ -z "$result" ]; then
    local rc count
    rc=$(cat "$MS_TMP/$name.rc" 2>/dev/null || echo "?")
    count=$(cat "$MS_TMP/$name.count" 2>/dev/null || echo 0)
    if [ "$rc" != 0 ]; then
      result="rc $rc"
    elif [ "$count" -lt 1 ]; then
      result="no marker"
    fi
  fi
  # Quiet: no line of ours on chromium's stderr (a fork warning, a report it could not write).
  if grep -q '^memshim\[' "$MS_TMP/$name.err"; then
    result="${result:+$result, }memshim printed"
    grep '^memshim\[' "$MS_TMP/$name.err" | head -3 >&2
  fi
  # Chromium's helpers (crashpad, zygotes) end shortly after the browser: wait for them.
  local left_end=$((SECONDS + 60))
  while [ -n "$(user_pids)" ] && [ "$SECONDS" -lt "$left_end" ]; do sleep 0.2; done
  local left
  left=$(user_pids | wc -l)
  if [ "$left" -gt 0 ]; then
    for p in $(user_pids); do echo "  left: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160)" >&2; done
    kill_user_pids
    result="${result:+$result, }left $left"
  fi
  if [ -z "$result" ]; then
    ms_pass "$name: rendered the page (marker in the DOM), no process left"
  else
    echo "--- $name: $result; its stderr (last lines, chromium's dbus noise left out):" >&2
    grep -v 'dbus' "$MS_TMP/$name.err" | tail -8 >&2 || true
    FAILED+=("$name: $result")
    return 1
  fi
}

# run_variant NAME [VAR=value...]: render three times (stop at the first failure).
run_variant() {
  local name=$1 i
  shift
  for i in 1 2 3; do
    render "$name.$i" "$@" || return 0
  done
}

# Without the preload first: if chromium cannot render here at all (no user namespaces and no
# setuid sandbox), that is this host, not memshim.
render none || true
if [ ${#FAILED[@]} -gt 0 ]; then
  grep -i 'sandbox' "$MS_TMP/none.err" | head -3 >&2 || true
  ms_skip "chromium does not render here even without memshim (${FAILED[0]}); see its stderr above"
fi
run_variant defaults
run_variant profile MEMSHIM_PROFILE=1
run_variant rss MEMSHIM_RSS_SOFT_LIMIT=200M
# The mapping cap in the zygote (single-threaded, it checks before it unshares): memshim's thread
# starts there only once the cap has work (mmap_cap.c), which a render does not give it.
run_variant mmapcap MEMSHIM_MMAP_RESIDENT_MAX=8M
run_variant bothcaps MEMSHIM_RSS_SOFT_LIMIT=200M MEMSHIM_MMAP_RESIDENT_MAX=8M

[ ${#FAILED[@]} -eq 0 ] || ms_fail "$(printf '%s; ' "${FAILED[@]}")"
