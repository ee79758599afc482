#!/usr/bin/env bash
# sbx-init in a real VM, through the real vsock path: QEMU TCG microvm + our sbx-vhost device,
# an initramfs from images/initramfs.sh (sbx-init as /init), a busybox base disk (erofs) and
# an ext4 state disk. Checks exec (status, stdout/stderr apart, hostname, user), SHUTDOWN ending
# QEMU, and a file written under / surviving a second boot with the same state disk.
# Cleans up every process and file it starts (trap), also on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
B=${BUILD:-build}
KDIR=${SBX_KERNEL_DIR:-/tmp/kdir}
CLIENT=$B/tests/agent_exec_test
fails=0
pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1${2:+: $2}"
	fails=$((fails + 1))
}

work=$(mktemp -d /tmp/sbx-agent-vm.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

for f in "$B/lib/sbx/sbx-init" "$B/sbx-vhost" "$CLIENT" "$KDIR/vmlinux"; do
	if [[ ! -e $f ]]; then
		fail setup "missing $f (run make all tests; kernel from SBX_KERNEL_DIR)"
		exit 1
	fi
done

# --- images ---
bash images/initramfs.sh "$KDIR" "$B/lib/sbx/sbx-init" "$work/initrd.cpio" >"$work/initramfs.log" 2>&1 ||
	{ fail initramfs "$(tail -n 3 "$work/initramfs.log")"; exit 1; }
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,run,tmp,root,home/agent,usr/bin,usr/sbin}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[[ -e $root/bin/$a ]] || ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nusers:x:100:agent\nagent:x:1000:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/agent"
mkfs.erofs "$work/base.img" "$root" >"$work/mkfs.log" 2>&1 ||
	{ fail base-image "$(tail -n 3 "$work/mkfs.log")"; exit 1; }
truncate -s 64M "$work/state.img"
mkfs.ext4 -q -F "$work/state.img" >>"$work/mkfs.log" 2>&1 || { fail state-image; exit 1; }

K=$(awk '/cpu MHz/{printf "%d", $4*1000; exit}' /proc/cpuinfo)
vm=0
# boot N: start sbx-vhost and QEMU, wait for the agent. Sets qpid, U (hybrid socket).
boot() {
	vm=$((vm + 1))
	local vs=$work/vhost$vm.sock
	U=$work/vm$vm.vsock
	mkfifo "$work/ready$vm"
	"$B/sbx-vhost" --vsock-socket "$vs" --uds "$U" --ready-fd 3 3>"$work/ready$vm" \
		>"$work/vhost$vm.log" 2>&1 &
	pids+=($!)
	local line=""
	read -r -t 10 line <"$work/ready$vm"
	if [[ $line != READY ]]; then
		fail "boot$vm-vhost" "sbx-vhost not ready: $(tail -n 3 "$work/vhost$vm.log")"
		return 1
	fi
	timeout 180 qemu-system-x86_64 -M microvm,acpi=on -accel tcg -m 512 -smp 1 -nodefaults \
		-no-user-config -nographic -serial "file:$work/console$vm.log" -no-reboot \
		-kernel "$KDIR/vmlinux" -initrd "$work/initrd.cpio" \
		-append "console=ttyS0 reboot=t panic=-1 pci=off tsc_early_khz=$K lpj=$((K * 4)) tsc=reliable quiet sbx.name=agentvm sbx.time=$(date +%s)" \
		-global virtio-mmio.force-legacy=false \
		-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
		-drive file="$work/base.img",if=none,id=d0,format=raw,readonly=on \
		-device virtio-blk-device,drive=d0,serial=sbx-base \
		-drive file="$work/state.img",if=none,id=d1,format=raw \
		-device virtio-blk-device,drive=d1,serial=sbx-state \
		-chardev socket,id=vs0,path="$vs" -device vhost-user-vsock-device,chardev=vs0 \
		>"$work/qemu$vm.log" 2>&1 &
	qpid=$!
	pids+=($qpid)
	local t0=$SECONDS
	if ! "$CLIENT" --wait "$U" 90000; then
		fail "boot$vm" "agent not ready; console tail: $(tail -n 5 "$work/console$vm.log" | tr '\n' '|')"
		return 1
	fi
	pass "boot$vm (agent ready in $((SECONDS - t0)) s)"
}

# x NAME WANT_STATUS WANT_STDOUT [client args...]: one exec, checked.
x() {
	local name=$1 want_st=$2 want_out=$3
	shift 3
	local out st
	out=$("$CLIENT" --exec "$U" "$@" 2>"$work/err")
	st=$?
	if [[ $st -eq $want_st && $out == "$want_out" ]]; then
		pass "$name"
	else
		fail "$name" "status $st (want $want_st), stdout '$out' (want '$want_out'), stderr '$(cat "$work/err")'"
	fi
}

shutdown_vm() {
	if ! "$CLIENT" --shutdown "$U"; then
		fail "shutdown$vm" "no ACK"
		return
	fi
	local i
	for i in $(seq 1 200); do
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$qpid" 2>/dev/null; then
		fail "shutdown$vm-ends-qemu" "QEMU still running 20 s after SHUTDOWN"
	else
		pass "shutdown$vm-ends-qemu"
	fi
}

if boot; then
	x exec-true 0 "" true
	x exec-exit-3 3 "" sh -c 'exit 3'
	x exec-killed 137 "" sh -c 'kill -9 $$'
	out=$("$CLIENT" --exec "$U" sh -c 'echo out; echo err >&2' 2>"$work/err2")
	[[ $out == out && $(cat "$work/err2") == err ]] && pass stdout-stderr-apart ||
		fail stdout-stderr-apart "stdout '$out' stderr '$(cat "$work/err2")'"
	x hostname 0 agentvm hostname
	x user-agent 0 "1000 /home/agent" -u agent sh -c 'echo $(id -u) $HOME'
	x cwd-env 0 "/tmp v" -w /tmp -e V=v sh -c 'echo $(pwd) $V'
	x stdin-eof 0 "hi" -i cat <<<"hi"
	out=$("$CLIENT" --exec "$U" -t sh -c 'tty; stty size' 2>&1)
	[[ $out == $'/dev/pts/0\r\n24 80\r' ]] && pass pty || fail pty "output '$out'"
	x missing-command 127 "" no-such-cmd
	x root-is-overlay 0 "overlay" sh -c "awk '\$2==\"/\"{print \$3}' /proc/mounts"
	x write-file 0 "" sh -c 'echo kept > /persist.txt' # no sync: SHUTDOWN must sync
	x clock-set 0 "ok" sh -c "[ \$(date +%s) -ge $(($(date +%s) - 600)) ] && echo ok"
	shutdown_vm
	wait "$qpid" 2>/dev/null
fi
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done

if boot; then
	x file-survives-reboot 0 "kept" cat /persist.txt
	shutdown_vm
fi

# the console shows only the expected sbx-init lines (no module, mount or disk errors)
bad=$(grep -h 'sbx-init: ' "$work"/console1.log "$work"/console2.log 2>/dev/null |
	grep -v -E 'sbx-init: (ready|shutting down|proxy CA)' | head -n 3)
[[ -z $bad ]] && pass console-clean || fail console-clean "$bad"

# no base disk: one clear console line, then the VM powers itself off
t0=$SECONDS
timeout 60 qemu-system-x86_64 -M microvm,acpi=on -accel tcg -m 256 -smp 1 -nodefaults \
	-no-user-config -nographic -serial "file:$work/console-nobase.log" -no-reboot \
	-kernel "$KDIR/vmlinux" -initrd "$work/initrd.cpio" \
	-append "console=ttyS0 reboot=t panic=-1 pci=off tsc_early_khz=$K lpj=$((K * 4)) tsc=reliable quiet" \
	-global virtio-mmio.force-legacy=false >"$work/qemu-nobase.log" 2>&1 &
qpid=$!
pids+=($qpid)
wait "$qpid"
st=$?
if [[ $st -ne 124 ]] && grep -q 'sbx-init: no base disk (serial sbx-base) found' "$work/console-nobase.log"; then
	pass "no-base-disk-powers-off (in $((SECONDS - t0)) s)"
else
	fail no-base-disk-powers-off "qemu status $st; console: $(tail -n 3 "$work/console-nobase.log" | tr '\n' '|')"
fi

if [[ $fails -ne 0 ]]; then
	for f in "$work"/console*.log; do
		echo "--- $f"
		tail -n 15 "$f"
	done
fi
exit $((fails != 0))
