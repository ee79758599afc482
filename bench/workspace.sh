#!/usr/bin/env bash
# bench/workspace.sh — the workspace numbers issue 3 asks for, in one run, ours beside the host:
#   1. git clone (file://, pack protocol) of a local repo with 10k small files, then git status
#   2. a small C build: make -j1 of 20 generated .c files
#   3. sequential write (dd bs=1M conv=fsync) and read of 256 MiB, in MiB/s
# Each workload runs three times with the same script: in the sandbox on the workspace share
# (our virtio-fs), in the sandbox on the guest's own disk (/home/agent, the overlay on virtio-blk)
# and on the host. Under TCG the guest CPU is emulated, so share vs host mixes the share's cost with
# TCG's; share vs guest disk is the share's own cost. Timing is taken inside the guest (no exec
# round trip counted). Uses SBX_CACHE_DIR (default /var/tmp/sbx-test-cache). Run after `make`.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
tmp=$(mktemp -d /tmp/sbx-wsbench.XXXXXX)
export SBX_HOME=$tmp/h
sbx=$top/build/sbx
name=wsbench
files=${FILES:-10000}
ws=$tmp/ws
cleanup() {
	[[ -S $SBX_HOME/run/sbxd.sock ]] && timeout 120 "$sbx" rm -f "$name" >/dev/null 2>&1 || true
	[[ -f $SBX_HOME/run/sbxd.pid ]] && kill "$(cat "$SBX_HOME/run/sbxd.pid")" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$ws/.bench" "$tmp/host"

# ---- inputs, made on the host and placed in the share (the guest copies what it needs) ----
python3 - "$tmp/src" "$files" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write("file %d\n%s\n" % (i, "x" * (i % 200)))
EOF
git -C "$tmp/src" init -q
git -C "$tmp/src" add -A
git -C "$tmp/src" -c user.email=b@b -c user.name=b commit -qm "$files files"
git clone -q --bare "$tmp/src" "$ws/.bench/src.git"
git -C "$ws/.bench/src.git" repack -adq
git -C "$ws/.bench/src.git" prune
mkdir -p "$tmp/cproj"
for i in $(seq -w 1 20); do
	{
		echo "#include <stdint.h>"
		for j in $(seq 1 8); do
			printf 'uint64_t f%s_%d(uint64_t x) { for (int i = 0; i < %d; i++) x = x * 6364136223846793005ULL + %d; return x ^ (x >> %d); }\n' \
				"$i" "$j" "$((j * 3))" "$j" "$j"
		done
	} >"$tmp/cproj/m$i.c"
done
{
	echo "#include <stdint.h>"
	echo "#include <stdio.h>"
	for i in $(seq -w 1 20); do echo "uint64_t f${i}_1(uint64_t);"; done
	echo "int main(void) { uint64_t x = 1;"
	for i in $(seq -w 1 20); do echo "x = f${i}_1(x);"; done
	echo 'printf("%llu\n", (unsigned long long)x); return 0; }'
} >"$tmp/cproj/main.c"
printf 'OBJS := $(patsubst %%.c,%%.o,$(wildcard *.c))\nprog: $(OBJS)\n\tcc -o $@ $^\n%%.o: %%.c\n\tcc -O2 -c $<\n' \
	>"$tmp/cproj/Makefile"
tar -C "$tmp/cproj" -cf "$ws/.bench/cproj.tar" .

# the workload, the same script everywhere: work.sh SRC_GIT CPROJ_TAR DIR DROP
# prints "key milliseconds" lines; DROP=1 drops the page cache (guest: via sudo) before reading
cat >"$ws/.bench/work.sh" <<'EOF'
#!/bin/bash
set -e
src=$1 cproj=$2 dir=$3 drop=$4
now() { date +%s%N; }
t() { echo "$1 $((($3 - $2) / 1000000))"; }
rm -rf "$dir"
mkdir -p "$dir"
a=$(now); git clone -q "file://$src" "$dir/clone"; b=$(now); t clone "$a" "$b"
a=$(now); git -C "$dir/clone" status --porcelain >/dev/null; b=$(now); t status "$a" "$b"
a=$(now); git -C "$dir/clone" status --porcelain >/dev/null; b=$(now); t status2 "$a" "$b"
mkdir "$dir/cproj"
tar -C "$dir/cproj" -xf "$cproj"
a=$(now); make -s -C "$dir/cproj" -j1 >/dev/null; b=$(now); t make "$a" "$b"
"$dir/cproj/prog" >/dev/null
a=$(now); dd if=/dev/zero of="$dir/seq" bs=1M count=256 conv=fsync status=none; b=$(now)
t write "$a" "$b"
if [ "$drop" = 1 ]; then sync; echo 3 | sudo -n tee /proc/sys/vm/drop_caches >/dev/null; fi
a=$(now); dd if="$dir/seq" of=/dev/null bs=1M status=none; b=$(now); t read "$a" "$b"
rm -rf "$dir"
EOF
chmod +x "$ws/.bench/work.sh"

# ---- the sandbox ----
"$sbx" create shell "$ws" --name "$name" -m 1g -q >/dev/null
fstype=$(timeout -k 10 300 "$sbx" exec "$name" awk -v p="$ws" '$2 == p { print $3 }' /proc/mounts)
if [[ $fstype != virtiofs ]]; then
	echo "bench/workspace.sh: the workspace is not a virtio-fs mount in the guest ('$fstype'):" \
		"shares are not wired yet" >&2
	exit 1
fi
accel=$("$sbx" ls --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("accel") or "tcg")')
gx() { timeout -k 10 1800 "$sbx" exec "$name" "$@"; }
gx cp -r "$ws/.bench/src.git" /home/agent/src.git
gx cp "$ws/.bench/cproj.tar" /home/agent/cproj.tar

echo "# running on the share ($ws, virtio-fs)..." >&2
gx "$ws/.bench/work.sh" /home/agent/src.git /home/agent/cproj.tar "$ws/run" 1 >"$tmp/share.txt"
echo "# running on the guest's own disk (/home/agent, overlay on virtio-blk)..." >&2
gx "$ws/.bench/work.sh" /home/agent/src.git /home/agent/cproj.tar /home/agent/run 1 >"$tmp/disk.txt"
echo "# running on the host ($tmp/host)..." >&2
"$ws/.bench/work.sh" "$ws/.bench/src.git" "$ws/.bench/cproj.tar" "$tmp/host/run" 0 >"$tmp/host.txt"

val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
mbs() { awk -v ms="$1" 'BEGIN { printf "%.0f", 256 / (ms / 1000) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
row() { # <label> <share> <disk> <host> <higher-is-better>
	local rh rd
	if [[ $5 == 1 ]]; then
		rh=$(ratio "$4" "$2") rd=$(ratio "$3" "$2")
	else
		rh=$(ratio "$2" "$4") rd=$(ratio "$2" "$3")
	fi
	printf '%-34s %10s %10s %10s %11s %11s\n' "$1" "$2" "$3" "$4" "$rh" "$rd"
}

echo "accelerator: $accel; $files files in the repo; columns: share = our virtio-fs in the sandbox,"
echo "guest disk = /home/agent in the same sandbox (overlay on virtio-blk), host = the host's disk."
echo "Ratios are slowdowns (>1x = slower than host / than the guest's own disk)."
printf '%-34s %10s %10s %10s %11s %11s\n' metric share "guest disk" host share/host share/disk
for k in clone status status2 make write read; do
	s=$(val "$tmp/share.txt" $k) d=$(val "$tmp/disk.txt" $k) h=$(val "$tmp/host.txt" $k)
	case $k in
	clone) row "git clone, $files files (ms)" "$s" "$d" "$h" 0 ;;
	status) row "git status, first (ms)" "$s" "$d" "$h" 0 ;;
	status2) row "git status, again (ms)" "$s" "$d" "$h" 0 ;;
	make) row "make -j1, 21 .c files (ms)" "$s" "$d" "$h" 0 ;;
	write | read) row "seq $k 256 MiB (MiB/s)" "$(mbs "$s")" "$(mbs "$d")" "$(mbs "$h")" 1 ;;
	esac
done
echo "write: dd bs=1M conv=fsync (the fsync reaches the host disk in every column)."
echo "read: the guest's page cache is dropped first (sudo, /proc/sys/vm/drop_caches); the host's"
echo "is not (a shared machine), so share and host reads both come from host memory: the share"
echo "column is the transport's cost, not the disk's."
[[ $accel == tcg ]] && echo "TCG: guest CPU work (git, cc) is emulated; compare share with guest disk" \
	"for the share's own cost." || true
