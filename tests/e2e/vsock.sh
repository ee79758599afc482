#!/bin/bash
# E2E for our virtio-vsock device: boots QEMU (TCG) with sbx-vhost as vhost-user-vsock backend and
# a busybox initramfs, then checks in one boot: echo both ways, CONNECT/OK, RST both ways, 64 MiB
# each way with checksum, 200 concurrent streams each way, and sbx-vhost's clean exit.
# Cleans up every process and temp file it starts (trap), even on failure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
KDIR=${SBX_KERNEL_DIR:-/tmp/kdir}
VHOST=${SBX_VHOST:-$BUILD/sbx-vhost}
HELPER=${VSOCK_TEST:-$BUILD/guest/vsock_test}
FAILS=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; FAILS=$((FAILS + 1)); }

T=$(mktemp -d /tmp/sbx-vsock-e2e.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT INT TERM

for f in "$KDIR/vmlinux" "$VHOST" "$HELPER" /bin/busybox; do
	[ -e "$f" ] || { fail vsock_prereqs "missing $f (run make; kernel dir via SBX_KERNEL_DIR)"; exit 1; }
done

# --- initramfs: busybox, vsock modules, the helper, an init script
R=$T/root
mkdir -p "$R/bin" "$R/lib/modules" "$R/proc" "$R/sys" "$R/dev"
cp /bin/busybox "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
MODS="virtio_ring virtio virtio_mmio vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"
for m in $MODS; do
	f=$(find "$KDIR/modules" -name "$m.ko*" | head -n1)
	[ -n "$f" ] && cp "$f" "$R/lib/modules/"
done
cp "$HELPER" "$R/vsock_test"
cat > "$R/init" <<INIT
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in $MODS; do
	for f in /lib/modules/\$m.ko*; do [ -e "\$f" ] && /bin/busybox insmod "\$f"; done
done
exec /vsock_test guest
INIT
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet) > "$T/initrd.cpio"

# --- host side: listeners for guest->host ports, then sbx-vhost
UDS=$T/v.sock
"$HELPER" host-serve "$UDS" > "$T/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q HOST-SERVE-READY "$T/serve.log" && break; sleep 0.1; done

mkfifo "$T/ready"
"$VHOST" --vsock-socket "$T/vhost.sock" --uds "$UDS" --cid 3 --ready-fd 3 --log "$T/vhost.log" \
	3>"$T/ready" &
VPID=$!
PIDS+=($VPID)
if read -r -t 5 line < "$T/ready" && [ "$line" = READY ]; then pass vhost_ready_fd; else
	fail vhost_ready_fd "no READY within 5 s"; cat "$T/vhost.log" 2>/dev/null; exit 1; fi

K=$(awk '/cpu MHz/{printf "%d", $4*1000; exit}' /proc/cpuinfo)
timeout 120 qemu-system-x86_64 -M microvm,acpi=on -accel tcg -m 512 -smp 1 -nodefaults \
	-no-user-config -nographic -serial "file:$T/console.log" -no-reboot \
	-kernel "$KDIR/vmlinux" -initrd "$T/initrd.cpio" \
	-append "console=ttyS0 reboot=t panic=-1 pci=off tsc_early_khz=$K lpj=$((K * 4)) tsc=reliable quiet" \
	-global virtio-mmio.force-legacy=false \
	-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
	-chardev socket,id=vs0,path="$T/vhost.sock" -device vhost-user-vsock-device,chardev=vs0 \
	> "$T/qemu.log" 2>&1 &
QPID=$!
PIDS+=($QPID)

wait_console() { # pattern seconds
	local i
	for i in $(seq $(($2 * 10))); do
		grep -q "$1" "$T/console.log" 2>/dev/null && return 0
		kill -0 $QPID 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

if wait_console GUEST-SERVERS-READY 60; then pass guest_booted_with_vsock; else
	fail guest_booted_with_vsock "see console"; tail -n 30 "$T/console.log" "$T/qemu.log" "$T/vhost.log"; exit 1; fi

timeout 90 "$HELPER" host-suite "$UDS" 2> "$T/suite.err" | tee "$T/suite.out"
[ -s "$T/suite.err" ] && sed 's/^/  host: /' "$T/suite.err"
FAILS=$((FAILS + $(grep -c '^FAIL' "$T/suite.out")))
for n in host_to_guest_connect_ok_reply host_to_guest_echo host_connect_no_listener_closed \
	host_bad_handshake_closed host_to_guest_64mib_checksum host_to_guest_200_streams; do
	grep -q "^PASS $n\$\|^FAIL $n\$" "$T/suite.out" || fail "$n" "did not run"
done

wait_console GUEST-DONE 90 || fail guest_suite_finished "no GUEST-DONE on the console"
tr -d '\r' < "$T/console.log" | grep -E '^(PASS|FAIL) ' > "$T/guest.out"
cat "$T/guest.out"
tr -d '\r' < "$T/console.log" | grep -E '^(guest|host)->' | sed 's/^/  guest: /'
FAILS=$((FAILS + $(grep -c '^FAIL' "$T/guest.out")))
for n in guest_to_host_echo guest_connect_no_listener_gets_rst guest_to_host_64mib_checksum \
	guest_to_host_200_streams; do
	grep -q "^PASS $n\$\|^FAIL $n\$" "$T/guest.out" || fail "$n" "did not run"
done

# QEMU going away must make sbx-vhost exit 0 and remove its sockets
kill $QPID 2>/dev/null
wait $QPID 2>/dev/null
rc=
for _ in $(seq 50); do kill -0 $VPID 2>/dev/null || { wait $VPID; rc=$?; break; }; sleep 0.1; done
if [ "$rc" = 0 ] && [ ! -e "$UDS" ] && [ ! -e "$T/vhost.sock" ]; then pass vhost_exits_when_qemu_exits
else fail vhost_exits_when_qemu_exits "rc=${rc:-still running}"; fi
grep -q 'virtqueue.*stopped' "$T/vhost.log" && fail vhost_no_broken_queue "$(grep virtqueue "$T/vhost.log" | head -1)"

if [ $FAILS -ne 0 ]; then
	echo "--- sbx-vhost log (tail)"; tail -n 20 "$T/vhost.log"
	echo "--- console (tail)"; tail -n 20 "$T/console.log"
fi
exit $((FAILS > 0))
