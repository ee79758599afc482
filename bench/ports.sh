#!/usr/bin/env bash
# bench/ports.sh — issue 6's numbers in one run: a published port beside plain loopback on the
# host, with the same client and server program (build/guest/netpump) on both paths:
#   1. throughput: a SIZE_MB (default 256) stream from a server to a host client — the server on
#      the host's 127.0.0.1 (plain loopback) beside the server inside the sandbox on its
#      127.0.0.1, reached through a published port (sbxd -> vsock -> sbx-init's relay);
#      MiB/s and the ratio, median of 3 interleaved runs.
#   2. connect latency: N (default 200) sequential new connections, each a 1-byte echo round
#      trip; ms per connection on each path and the difference.
#   Each also through the same software path without a VM (build/bench/ports_path: sbxd's
#   forwarder and sbx-init's relay on the host, a copying shim in place of the vsock device):
#   under TCG (this machine) the emulated guest dominates the published path, so that row is
#   the closest to what hardware KVM shows. Uses SBX_CACHE_DIR (default /var/tmp/sbx-test-cache).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
export SBX_HOME=$(mktemp -d /tmp/sbx-bench.XXXXXX)
sbx=$top/build/sbx
np=$top/build/guest/netpump
size_mb=${SIZE_MB:-256}
n=${N:-200}
srv= pp=
cleanup() {
	[[ -n $srv ]] && kill "$srv" 2>/dev/null
	[[ -n $pp ]] && kill "$pp" 2>/dev/null
	"$sbx" reset -f >/dev/null 2>&1 || true
	[[ -f $SBX_HOME/run/sbxd.pid ]] && kill "$(cat "$SBX_HOME/run/sbxd.pid")" 2>/dev/null || true
	rm -rf "$SBX_HOME"
}
trap cleanup EXIT
[[ -x $np && -x $top/build/bench/ports_path ]] ||
	{ echo "bench/ports.sh: build first (make all tests)" >&2; exit 1; }

mkdir -p "$SBX_HOME/ws"
cp "$np" "$SBX_HOME/ws/netpump"
# the host server on a free loopback port
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$np" serve "$hport" 127.0.0.1 &
srv=$!
# the same path without a VM, to that host server
mkdir -p "$SBX_HOME/pp"
"$top/build/bench/ports_path" "$SBX_HOME/pp" "$hport" >"$SBX_HOME/pp/port" 2>/dev/null &
pp=$!
for _ in $(seq 50); do [[ -s $SBX_HOME/pp/port ]] && break; sleep 0.1; done
nport=$(cat "$SBX_HOME/pp/port")

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
d=() p=() h=()
for _ in 1 2 3; do
	d+=("$(rate "$hport")")
	h+=("$(rate "$nport")")
	p+=("$(rate "$gport")")
done
dm=$(med "${d[@]}") hm=$(med "${h[@]}") pm=$(med "${p[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf 'stream %d MiB: loopback %d MiB/s | published, no VM %d MiB/s (%sx) | published, guest %d MiB/s (%sx)\n' \
	"$size_mb" "$dm" "$hm" "$(ratio "$hm" "$dm")" "$pm" "$(ratio "$pm" "$dm")"
dl=$("$np" ping 127.0.0.1 "$hport" "$n")
hl=$("$np" ping 127.0.0.1 "$nport" "$n")
pl=$("$np" ping 127.0.0.1 "$gport" "$n")
printf 'new connection + 1-byte echo: loopback %.3f ms | published, no VM %.3f ms | published, guest %.3f ms\n' \
	"$dl" "$hl" "$pl"
