# Podman for tests that build and run the examples' images, sourced after common.sh (which sets
# MS_TMP and the EXIT trap that removes it). Everything stays private to the test: its own
# containers.conf and storage.conf, host network only, containers under the test's own cgroup.
# Why each setting (measured on the CI hosts):
# - runtime runc: crun refuses hosts with hybrid cgroups v1/v2;
# - default_ulimits: without CAP_SYS_RESOURCE a container cannot get more than the host's hard
#   nofile limit, and podman's default asks for more;
# - netns host and --network=host everywhere: podman's default bridge network adds a private address
#   range and iptables rules, which these hosts do not allow;
# - --cgroup-parent: the containers count against the test's own cgroup, not a new top-level one.
# No registry is reachable: the base image is `debootstrap --variant=minbase` from the mirror apt
# already uses, imported and tagged as every FROM name the examples use. It is cached (with its
# tarball) in MS_PODMAN_CACHE, keyed by suite, mirror, debootstrap version and month, so a warm run
# reuses it and a stale one is rebuilt.

MS_PODMAN_CACHE=${MEMSHIM_PODMAN_CACHE:-/var/cache/memshim-test/podman}
MS_PODMAN_SUITE=bookworm
# The names the examples' FROM lines use; all are the same minbase root.
MS_PODMAN_BASE_TAGS=(docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim)
# What the test created, removed by ms_podman_cleanup.
MS_PODMAN_CONTAINERS=()
MS_PODMAN_IMAGES=()

# The Debian mirror apt uses on this host (deb822 sources first, then sources.list).
ms_podman_mirror() {
  local m
  m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -v security | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}

# The cgroup this shell is in, for --cgroup-parent: the memory controller's path on cgroup v1
# (hybrid hosts), else the unified path. Empty when it is the root.
ms_podman_cgroup() {
  local cg
  cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
  [ -n "$cg" ] || cg=$(awk -F: '$1 == "0" {print $3; exit}' /proc/self/cgroup)
  [ "$cg" = / ] && cg=
  echo "$cg"
}

# Check the tools, write the private configuration, export CONTAINERS_CONF and
# CONTAINERS_STORAGE_CONF, install the cleanup trap. Skips (77) only when a tool is absent.
ms_podman_setup() {
  local t
  for t in podman runc debootstrap; do
    command -v "$t" >/dev/null || ms_skip "$t is not installed (scripts/lib/deps.sh, group test)"
  done
  [ "$(id -u)" -eq 0 ] || ms_skip "podman builds need root here (rootless needs subuid set-up)"
  mkdir -p "$MS_PODMAN_CACHE/storage" "$MS_PODMAN_CACHE/base" || ms_fail "cannot create $MS_PODMAN_CACHE"
  # One test at a time on the cache: the prune at exit must not see another run's build half done.
  exec 9>"$MS_PODMAN_CACHE/lock"
  flock -w 3600 9 || ms_fail "another run held $MS_PODMAN_CACHE/lock for an hour"
  local nofile
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  MS_PODMAN_ULIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=32768:32768)
  cat >"$MS_TMP/containers.conf" <<EOF
[containers]
netns = "host"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$MS_TMP/podman-events.log"
EOF
  # runroot must stay the same from run to run: podman's database records it.
  cat >"$MS_TMP/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$MS_PODMAN_CACHE/storage"
runroot = "$MS_PODMAN_CACHE/run"
EOF
  export CONTAINERS_CONF=$MS_TMP/containers.conf CONTAINERS_STORAGE_CONF=$MS_TMP/storage.conf
  MS_PODMAN_CGROUP=$(ms_podman_cgroup)
  # Podman (cgroupfs) makes the parent path in every v1 controller and a conmon group under it:
  # note which parents are new, to remove them and the conmon groups again at exit.
  MS_PODMAN_NEW_CGROUPS=()
  local c p comp
  if [ -n "$MS_PODMAN_CGROUP" ]; then
    for c in /sys/fs/cgroup/*; do
      [ -e "$c/cgroup.procs" ] || continue
      p=$c
      for comp in ${MS_PODMAN_CGROUP//\// }; do
        p=$p/$comp
        [ -d "$p" ] || { MS_PODMAN_NEW_CGROUPS+=("$p"); break; }
      done
    done
  fi
  MS_PODMAN_RUN_OPTS=(--network=host --runtime=runc "${MS_PODMAN_ULIMITS[@]}")
  [ -n "$MS_PODMAN_CGROUP" ] && MS_PODMAN_RUN_OPTS+=(--cgroup-parent="$MS_PODMAN_CGROUP")
  trap 'ms_podman_cleanup; rm -rf "$MS_TMP"' EXIT
  podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' >"$MS_TMP/podman-info" 2>&1 \
    || ms_fail "podman info: $(cat "$MS_TMP/podman-info")"
}

# Remove what the test created: its containers (running or not) and the per-run image tags.
ms_podman_cleanup() {
  local c i
  for c in "${MS_PODMAN_CONTAINERS[@]}"; do
    podman rm -f -t 5 "$c" >/dev/null 2>&1 || true
  done
  for i in "${MS_PODMAN_IMAGES[@]}"; do
    podman rmi "$i" >/dev/null 2>&1 || true
  done
  # Images of earlier runs that no :cache tag keeps (a rebuilt layer, a stale base).
  podman image prune -f >/dev/null 2>&1 || true
  # Empty cgroups podman made (rmdir removes only empty ones; a group in use stays).
  if [ -n "$MS_PODMAN_CGROUP" ]; then
    for c in /sys/fs/cgroup/*; do
      rmdir "$c$MS_PODMAN_CGROUP/conmon" "$c$MS_PODMAN_CGROUP/memshim-build-$$" 2>/dev/null || true
    done
    for c in "${MS_PODMAN_NEW_CGROUPS[@]}"; do
      [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  fi
}

# The base image: reuse it from storage, else import the cached tarball, else debootstrap.
ms_podman_base() {
  local mirror key tar root
  mirror=$(ms_podman_mirror)
  key=$(printf '%s\n' "v1 $(date +%Y-%m) $MS_PODMAN_SUITE minbase $mirror $(dpkg-query -W -f='${Version}' debootstrap)" | sha256sum | cut -c1-16)
  MS_PODMAN_BASE=localhost/memshim-test-base:$key
  if ! podman image exists "$MS_PODMAN_BASE"; then
    tar=$MS_PODMAN_CACHE/base/$MS_PODMAN_SUITE-$key.tar
    if [ ! -s "$tar" ]; then
      rm -f "$MS_PODMAN_CACHE"/base/*.tar  # another key: stale
      root=$MS_PODMAN_CACHE/base/root.$$
      echo "podman: debootstrap --variant=minbase $MS_PODMAN_SUITE from $mirror (cold cache)"
      debootstrap --variant=minbase "$MS_PODMAN_SUITE" "$root" "$mirror" >"$MS_TMP/debootstrap.log" 2>&1 \
        || { tail -20 "$MS_TMP/debootstrap.log" >&2; rm -rf "$root"; ms_fail "debootstrap $MS_PODMAN_SUITE from $mirror"; }
      # Smaller image: no package lists or caches (apt-get update runs in every Dockerfile).
      rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
      tar -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar" || ms_fail "tar of the debootstrap root"
      rm -rf "$root"
    fi
    # Earlier bases lose their tag; the :cache images built on them keep them until rebuilt.
    local old
    for old in $(podman images --format '{{.Repository}}:{{.Tag}}' localhost/memshim-test-base); do
      [ "$old" = "$MS_PODMAN_BASE" ] || podman untag "$old" "$old" >/dev/null 2>&1 || true
    done
    podman import --change 'CMD ["/bin/bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "$tar" "$MS_PODMAN_BASE" >"$MS_TMP/import.log" 2>&1 || ms_fail "podman import: $(cat "$MS_TMP/import.log")"
  fi
  local t
  for t in "${MS_PODMAN_BASE_TAGS[@]}"; do
    podman tag "$MS_PODMAN_BASE" "$t" || ms_fail "podman tag $t"
  done
}

# ms_podman_build NAME DOCKERFILE [podman build options...]: build with the source tree (or
# $MS_PODMAN_CONTEXT) as context,
# host network, no pulls, tagged localhost/memshim-test/NAME:<pid> (MS_PODMAN_TAG; untagged at exit)
# and NAME:cache, which keeps the layers for the next run (a rebuild moves the tag; what no tag
# keeps any more is pruned at exit). The log goes to $MS_TMP/build-NAME.log, its tail to stderr on
# failure.
ms_podman_build() {
  local name=$1 df=$2 log=$MS_TMP/build-$1.log
  shift 2
  MS_PODMAN_TAG=localhost/memshim-test/$name:$$
  # buildah runs each RUN step in the --cgroup-parent path itself (and removes it after), so the
  # build gets a child of the test's cgroup, never the test's own.
  local cg=()
  [ -n "$MS_PODMAN_CGROUP" ] && cg=(--cgroup-parent="$MS_PODMAN_CGROUP/memshim-build-$$")
  MS_PODMAN_IMAGES+=("$MS_PODMAN_TAG")
  podman build --pull=never --network=host --runtime=runc "${MS_PODMAN_ULIMITS[@]}" "${cg[@]}" \
    -f "$df" -t "$MS_PODMAN_TAG" -t "localhost/memshim-test/$name:cache" "$@" "${MS_PODMAN_CONTEXT:-$SRC_DIR}" >"$log" 2>&1 \
    || { tail -40 "$log" >&2; ms_fail "podman build -f ${df#"$SRC_DIR"/} (log above)"; }
}

# ms_podman_run NAME [podman run options...] IMAGE [command...]: a detached container of the test.
ms_podman_run() {
  local name=$1
  shift
  MS_PODMAN_CONTAINERS+=("$name")
  podman run -d --name "$name" "${MS_PODMAN_RUN_OPTS[@]}" "$@" >/dev/null
}
