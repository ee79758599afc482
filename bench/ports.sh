#!/usr/bin/env bash
# bench/ports.sh — issue 6's numbers in one run: a published port beside plain loopback on the
# host, with the same client and server program (build/guest/netpump) on both paths:
#   1. throughput: a SIZE_MB (default 256) stream from a server to a host client — the server on
#      the host's 127.0.0.1 (plain loopback) beside the server inside the sandbox on its
#      127.0.0.1, reached through a published port (sbxd -> vsock -> sbx-init's relay);
#      MiB/s and the ratio, median of 3 interleaved runs.
#   2. connect latency: N (default 200) sequential new connections, each a 1-byte echo round
#      trip; ms per connection on each path and the difference.
# Under TCG (this machine) the guest's emulated CPU dominates the published path; on hardware
# KVM the ratio is the forwarder's own cost. Uses SBX_CACHE_DIR (default /var/tmp/sbx-test-cache).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
export SBX_HOME=$(mktemp -d /tmp/sbx-bench.XXXXXX)
sbx=$top/build/sbx
np=$top/build/guest/netpump
size_mb=${SIZE_MB:-256}
n=${N:-200}
srv=
cleanup() {
	[[ -n $srv ]] && kill "$srv" 2>/dev/null
	"$sbx" reset -f >/dev/null 2>&1 || true
	[[ -f $SBX_HOME/run/sbxd.pid ]] && kill "$(cat "$SBX_HOME/run/sbxd.pid")" 2>/dev/null || true
	rm -rf "$SBX_HOME"
}
trap cleanup EXIT
[[ -x $np ]] || { echo "bench/ports.sh: build first (make)" >&2; exit 1; }

mkdir -p "$SBX_HOME/ws"
cp "$np" "$SBX_HOME/ws/netpump"
# the host server on a free loopback port
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$np" serve "$hport" 127.0.0.1 &
srv=$!

"$sbx" create -q --name bench -m 1g shell "$SBX_HOME/ws" >/dev/null
"$sbx" exec -d bench "$SBX_HOME/ws/netpump" serve 7000 127.0.0.1 >/dev/null
gport=$("$sbx" ports bench --publish 7000 | sed -n 's/^Published 127\.0\.0\.1:\([0-9]*\) .*/\1/p')
[[ -n $gport ]] || { echo "bench/ports.sh: publishing failed" >&2; exit 1; }
for _ in $(seq 100); do "$np" ping 127.0.0.1 "$gport" 1 >/dev/null 2>&1 && break; sleep 0.2; done

bytes=$((size_mb << 20))
rate() { # port -> MiB/s
	local s e
	s=$(date +%s%N)
	"$np" get 127.0.0.1 "$1" "$bytes" 1 >/dev/null
	e=$(date +%s%N)
	awk -v m="$size_mb" -v ns=$((e - s)) 'BEGIN { printf "%.0f", m / (ns / 1e9) }'
}
med() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
d=() p=()
for _ in 1 2 3; do
	d+=("$(rate "$hport")")
	p+=("$(rate "$gport")")
done
dm=$(med "${d[@]}") pm=$(med "${p[@]}")
printf 'stream %d MiB    loopback %6d MiB/s   published port %6d MiB/s   ratio %.2fx\n' \
	"$size_mb" "$dm" "$pm" "$(awk -v a="$pm" -v b="$dm" 'BEGIN { print a / b }')"
dl=$("$np" ping 127.0.0.1 "$hport" "$n")
pl=$("$np" ping 127.0.0.1 "$gport" "$n")
printf 'new connection + 1-byte echo   loopback %.3f ms   published port %.3f ms   added %.3f ms\n' \
	"$dl" "$pl" "$(awk -v a="$pl" -v b="$dl" 'BEGIN { print a - b }')"
