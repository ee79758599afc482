#!/bin/bash
# E2E for sbx-vmm's virtio-mmio devices under /dev/kvm (PVM here: the guest is the freestanding
# test guest tests/vmmguest/virtio_devs.c, a few thousand instructions). One VM with every
# device: virtio-rng, virtio-blk on a sparse raw image, vsock (hybrid unix sockets: an echo
# server on <uds>_1234, nobody on _1235) and virtio-fs on a host directory; the guest finds
# them in the DSDT, drives each one's queues (the notifications go through ioeventfds, the
# interrupts through irqfds to the guest's local APIC) and prints one line per check; here we
# check those lines and the host side (the sector and the file the guest wrote). Then the
# process side: SIGTERM ends a running multi-vCPU VM with status 0 and one line, the vsock
# socket is removed, and bad device arguments get one line each. SKIPs without /dev/kvm.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/e2e/lib/sandbox.bash
. tests/e2e/lib/sandbox.bash
sbx_test_init sbx-vmm-dev-e2e

BUILD=${BUILD:-build}
VMM=${SBX_VMM:-$BUILD/sbx-vmm}
DEVS=$BUILD/vmmguest/virtio_devs.elf
DEVS_BZ=$BUILD/vmmguest/virtio_devs.bz
SPIN=$BUILD/vmmguest/pvh_spin.elf

if [[ ! -c /dev/kvm ]]; then
	echo "SKIP vmm-devices: no /dev/kvm"
	exit 0
fi
for f in "$VMM" "$DEVS" "$DEVS_BZ" "$SPIN"; do
	[[ -x $f || -f $f ]] || {
		fail vmm-dev-prereqs "missing $f (run make host tests)"
		exit 1
	}
done

# --- host side: an echo server for guest->host port 1234, a share, a sparse disk
cat >"$tmp/echo.py" <<'PY'
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(4)
open(path + ".ready", "w").close()
while True:
    c, _ = s.accept()
    while True:
        b = c.recv(4096)
        if not b:
            break
        c.sendall(b)
    c.close()
PY
mkdir -p "$tmp/share"
printf 'hello from the host\n' >"$tmp/share/hello.txt"
truncate -s 1M "$tmp/disk.img"
python3 "$tmp/echo.py" "$tmp/v.sock_1234" &
echo_pid=$!
for _ in $(seq 50); do [[ -e $tmp/v.sock_1234.ready ]] && break; sleep 0.1; done

timeout 120 "$VMM" --kernel "$DEVS" --mem 64 --timeout-ms 100000 --rng \
	--blk "$tmp/disk.img" --blk-serial sbx-state --vsock-uds "$tmp/v.sock" --fs-path "$tmp/share" --fs-tag work \
	--stats >"$tmp/serial" 2>"$tmp/stderr"
st=$?
kill "$echo_pid" 2>/dev/null
expect vmm-dev-status 48 $st
while read -r res dev what; do
	name="vmm-dev-${dev%:}-$(echo "$what" | tr ' ' '-' | tr -cd 'a-z0-9-')"
	if [[ $res == ok ]]; then pass "$name"; else fail "$name" "guest said FAIL"; fi
done < <(grep -E '^(ok|FAIL) ' "$tmp/serial")
expect vmm-dev-checks 25 "$(grep -cE '^(ok|FAIL) ' "$tmp/serial")"
expect vmm-dev-slots "virtio slots 4" "$(grep '^virtio slots' "$tmp/serial")"
expect vmm-dev-fs-tag "fs tag work" "$(grep '^fs tag' "$tmp/serial")"
expect vmm-dev-blk-capacity "blk capacity 2048" "$(grep '^blk capacity' "$tmp/serial")"
expect vmm-dev-blk-serial "blk id sbx-state" "$(grep '^blk id' "$tmp/serial")"
expect vmm-dev-guest-file "written by the guest" "$(cat "$tmp/share/guest.txt" 2>&1)"
want=$(python3 -c 'import sys; sys.stdout.write(bytes((i*7+1)&255 for i in range(512)).hex())')
expect vmm-dev-blk-sector "$want" "$(dd if="$tmp/disk.img" bs=512 skip=1 count=1 2>/dev/null | od -An -v -tx1 | tr -d ' \n')"
expect vmm-dev-ioeventfds "4 devices, 7 ioeventfds, 4 irqfds" \
	"$(grep -o '[0-9]* devices, [0-9]* ioeventfds, [0-9]* irqfds' "$tmp/stderr")"
expect vmm-dev-sock-removed no "$([[ -e $tmp/v.sock ]] && echo yes || echo no)"
if [[ $st != 48 ]]; then
	echo "--- serial"; cat "$tmp/serial"; echo "--- stderr"; cat "$tmp/stderr"
fi

# --- the same guest entered through the 64-bit boot protocol (bzImage), read-only disk: the
# write is refused (IOERR) and the image stays as it was
cp "$tmp/disk.img" "$tmp/before.img"
timeout 120 "$VMM" --kernel "$DEVS_BZ" --mem 64 --timeout-ms 100000 --rng \
	--blk "$tmp/disk.img" --blk-ro >"$tmp/serial2" 2>"$tmp/stderr2"
expect vmm-dev-bz-status 49 $?
expect vmm-dev-bz-fails "FAIL blk: write sector 1" "$(grep '^FAIL' "$tmp/serial2")"
expect vmm-dev-bz-rng-ok 4 "$(grep -c '^ok rng' "$tmp/serial2")"
expect vmm-dev-bz-ro-unchanged same "$(cmp -s "$tmp/disk.img" "$tmp/before.img" && echo same)"

# --- SIGTERM ends a running 4-vCPU VM (vCPU threads in KVM_RUN, device thread in epoll):
# status 0, one line, sockets gone
timeout 60 "$VMM" --kernel "$SPIN" --cpus 4 --rng --vsock-uds "$tmp/t.sock" \
	--timeout-ms 50000 >/dev/null 2>"$tmp/err" &
pid=$!
for _ in $(seq 50); do [[ -S $tmp/t.sock ]] && break; sleep 0.1; done
sleep 0.3
kill -TERM "$pid"
wait "$pid"
expect vmm-dev-sigterm-status 0 $?
expect vmm-dev-sigterm-line "sbx-vmm: stopped by signal 15" "$(cat "$tmp/err")"
expect vmm-dev-sigterm-sock no "$([[ -e $tmp/t.sock ]] && echo yes || echo no)"

# --- bad device arguments: one line each
bad vmm-dev-fs-no-tag "no --fs-tag after it" timeout 20 "$VMM" --kernel "$SPIN" \
	--fs-path "$tmp/share"
bad vmm-dev-fs-tag-first "give it after the --fs-path" timeout 20 "$VMM" --kernel "$SPIN" \
	--fs-tag x
bad vmm-dev-fs-missing "$tmp/nope" timeout 20 "$VMM" --kernel "$SPIN" --fs-path "$tmp/nope" \
	--fs-tag x
bad vmm-dev-cid-alone "give --vsock-uds PATH too" timeout 20 "$VMM" --kernel "$SPIN" --cid 5
bad vmm-dev-vsock-dir "cannot listen" timeout 20 "$VMM" --kernel "$SPIN" \
	--vsock-uds "$tmp/nodir/v.sock"
bad vmm-dev-blk-missing "$tmp/nope.img" timeout 20 "$VMM" --kernel "$SPIN" --blk "$tmp/nope.img"
bad vmm-dev-blk-ro-first "give it after the --blk" timeout 20 "$VMM" --kernel "$SPIN" --blk-ro

exit $((fails > 0))
