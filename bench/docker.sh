#!/usr/bin/env bash
# bench/docker.sh — issue 5's numbers (point 7) in one run, with one sandbox:
#   1. create + first exec (what `sbx run shell` does before the shell), then until dockerd answers
#      (`docker version` from the host's point of view) and the guest's own "dockerd is up" line;
#   2. inside the sandbox, N times (default 5) each, median: `docker run --rm IMAGE true` (default
#      bridge, and --network none) beside the same container started by the engine directly —
#      `ctr run --rm` (containerd) and `runc run` (an OCI bundle of the same rootfs) — and a plain
#      `chroot ROOT /bin/true`.
# The image is a busybox-static rootfs made here (offline). Uses SBX_CACHE_DIR (default
# /var/tmp/sbx-test-cache) for the kernel and template. Under TCG every number is the emulator's.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
SBX_HOME=$(mktemp -d /tmp/sbx-bench.XXXXXX)
export SBX_HOME
sbx=$top/build/sbx
runs=${N:-5}
cleanup() {
	"$sbx" reset -f >/dev/null 2>&1 || true
	[[ -f $SBX_HOME/run/sbxd.pid ]] && kill "$(cat "$SBX_HOME/run/sbxd.pid")" 2>/dev/null || true
	rm -rf "$SBX_HOME"
}
trap cleanup EXIT
[[ -x /bin/busybox ]] || {
	echo "sbx: bench/docker.sh: /bin/busybox missing (apt-get install busybox-static)" >&2
	exit 1
}

ws=$SBX_HOME/ws
mkdir -p "$ws/root/bin"
cp /bin/busybox "$ws/root/bin/"
for a in sh true; do ln -s busybox "$ws/root/bin/$a"; done
tar -C "$ws/root" --owner=0 --group=0 -cf "$ws/rootfs.tar" .

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

t0=$(now)
"$sbx" create -q --name bench -m 2g shell "$ws" >/dev/null
"$sbx" exec bench true
first=$(since "$t0")
"$sbx" exec bench sh -c 'for i in $(seq 600); do /usr/bin/docker version >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1'
ready=$(since "$t0")
console=$SBX_HOME/data/sandboxes/bench/console.log
boot_ready=$(sed -n 's/.*sbx-init: ready (\([0-9.]*\) s after boot).*/\1/p' "$console" | tail -n 1)
boot_docker=$(sed -n 's/.*sbx-init: docker: dockerd is up (\([0-9.]*\) s after boot).*/\1/p' "$console" | tail -n 1)
printf '%-44s %8s s\n' "create + first exec (host)" "$first"
printf '%-44s %8s s\n' "create -> docker version answers (host)" "$ready"
printf '%-44s %8s s\n' "guest: boot -> sbx-init ready" "${boot_ready:-?}"
printf '%-44s %8s s\n' "guest: boot -> /run/docker.sock" "${boot_docker:-?}"

# Inside: the same rootfs as a docker image, a containerd image and an OCI bundle; then time each.
"$sbx" exec -u root bench sh -c "
set -e
cd /tmp && mkdir -p b/rootfs && tar -C b/rootfs -xf $ws/rootfs.tar
docker import $ws/rootfs.tar bench/bb >/dev/null
docker save bench/bb -o /tmp/bb.tar && ctr -n bench images import --base-name bench/bb /tmp/bb.tar >/dev/null
cd b && runc spec && python3 - <<'EOF'
import json
c = json.load(open('config.json'))
c['process']['terminal'] = False
c['process']['args'] = ['/bin/true']
json.dump(c, open('config.json', 'w'))
EOF
docker run --rm bench/bb true  # warm
"
cat >"$ws/time.sh" <<'EOF'
# time.sh N NAME CMD...: run CMD N times, print NAME and the median and mean wall time
n=$1 name=$2
shift 2
ts=""
for i in $(seq "$n"); do
	a=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "$name: failed: $*"; exit 1; }
	ts="$ts $(( ($(date +%s%N) - a) / 1000000 ))"
done
echo "$ts" | tr ' ' '\n' | grep . | sort -n |
	awk -v name="$name" '{ v[NR] = $1; s += $1 } END { printf "%-44s %8.3f s  (mean %.3f, n=%d)\n", name, v[int((NR + 1) / 2)] / 1000, s / NR / 1000, NR }'
EOF
"$sbx" exec -u root bench sh -c "
cd /tmp/b
sh $ws/time.sh $runs 'docker run --rm IMAGE true' docker run --rm bench/bb true
sh $ws/time.sh $runs 'docker run --rm --network none IMAGE true' docker run --rm --network none bench/bb true
sh $ws/time.sh $runs 'ctr run --rm IMAGE true (containerd)' sh -c 'ctr -n bench run --rm docker.io/bench/bb:latest c\$\$ /bin/true'
sh $ws/time.sh $runs 'runc run BUNDLE (/bin/true)' sh -c 'runc run r\$\$'
sh $ws/time.sh $runs 'chroot ROOT /bin/true' chroot /tmp/b/rootfs /bin/true
"
