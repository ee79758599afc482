#!/bin/bash
# tests/nested/bed.sh — the nested test bed (DESIGN.md, "Our machines"): a Linux under real KVM
# on hosts whose /dev/kvm cannot run one (PVM). L2 is QEMU TCG with an SVM-capable CPU running
# the Debian cloud kernel; its init loads kvm_amd, so L2 has a working /dev/kvm, then runs a
# given script. L2's initramfs carries busybox, QEMU (with its libraries and microvm firmware),
# sbx-vmm, and the L3 guest: the same kernel plus a busybox initramfs whose init prints a
# marker and its uptime and does `reboot -f`. Owns building and caching those images and
# running L2; never touches the host's /dev/kvm and never runs anything without a timeout.
#
#   bed.sh build            build (or reuse) the images; print their directory
#   bed.sh run SCRIPT [S]   boot L2 and run SCRIPT (sh, busybox) in it, serial to stdout;
#                           S: timeout in seconds (default 240). Exit status: SCRIPT's, 124
#                           on timeout, 3 if L2 never reached its init.
#   bed.sh check            exit 0 if this host can run the bed, else print why and exit 2
#
# Inside L2, SCRIPT sees: /l3/vmlinux, /l3/initrd.cpio, /l3/cmdline (the L3 command line
# without reboot=), qemu-system-x86_64 and sbx-vmm on PATH, /dev/kvm. L3's init prints
# "L3-INIT-OK uptime <s>" twice: through /dev/kmsg (the kernel's console, written synchronously)
# and on its tty (interrupt-driven). SCRIPT's output lines go to L2's serial (stdout here).
#
# Inputs (env): SBX_CACHE_DIR (kernel source, read only: $SBX_CACHE_DIR/kernel/*/, as the
# suite prepares it), SBX_NESTED_KDIR or SBX_KERNEL_DIR (tests/run's; a kernel dir with vmlinux
# and modules/ instead),
# SBX_VMM (default build/sbx-vmm), SBX_NESTED_DIR (where the images are cached, default
# build/nested; one subdirectory keyed by the hash of every input, older ones removed).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
VMM=${SBX_VMM:-$top/build/sbx-vmm}
QEMU=$(command -v qemu-system-x86_64 || true)
BUSYBOX=$(command -v busybox || true)
# shellcheck source=tests/nested/lib.sh
. "$top/tests/nested/lib.sh"

die() {
	echo "bed: $*" >&2
	exit 2
}

kdir() {
	local d
	if [[ -n ${SBX_NESTED_KDIR:-${SBX_KERNEL_DIR:-}} ]]; then
		echo "${SBX_NESTED_KDIR:-$SBX_KERNEL_DIR}"
		return
	fi
	d=$(ls -d "$SBX_CACHE_DIR"/kernel/*/vmlinux 2>/dev/null | tail -n 1)
	[[ -n $d ]] && dirname "$d"
}

# Why this host cannot run the bed (empty: it can).
why_not() {
	local k
	k=$(kdir || true)
	[[ -n $QEMU ]] || { echo "no qemu-system-x86_64 (install qemu-system-x86)"; return; }
	if [[ -z $BUSYBOX || $(ldd "$BUSYBOX" 2>&1) != *"not a dynamic"* ]]; then
		echo "no static busybox (install busybox-static)"
		return
	fi
	[[ -n $k && -f $k/vmlinux ]] || { echo "no kernel in $SBX_CACHE_DIR/kernel (run the suite's cache step)"; return; }
	[[ -f $k/modules/kernel/arch/x86/kvm/kvm-amd.ko ]] || { echo "$k/modules lacks kvm-amd.ko"; return; }
	[[ -x $VMM ]] || { echo "$VMM missing (run make build/sbx-vmm)"; return; }
	command -v cpio >/dev/null || { echo "no cpio (install cpio)"; return; }
	qemu-system-x86_64 -cpu help 2>/dev/null | grep -q EPYC-Milan || echo "this QEMU lacks the EPYC-Milan CPU model"
}

cache_root() {
	echo "${SBX_NESTED_DIR:-$top/build/nested}"
}

L3_CMDLINE="console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 quiet"

build_l3() { # <out cpio>
	local r
	r=$(mktemp -d)
	mkdir -p "$r/bin" "$r/proc" "$r/dev"
	cp "$BUSYBOX" "$r/bin/busybox"
	cat >"$r/init" <<-'EOF'
		#!/bin/busybox sh
		/bin/busybox mount -t proc proc /proc
		/bin/busybox mount -t devtmpfs dev /dev
		read -r up _ </proc/uptime
		echo "<2>L3-INIT-OK uptime $up" >/dev/kmsg
		echo "L3-INIT-OK uptime $up"
		/bin/busybox reboot -f
	EOF
	chmod +x "$r/init"
	mkcpio "$r" "$1"
	rm -rf "$r"
}

build_l2() { # <kernel dir> <l3 cpio> <out cpio>
	local k=$1 r m f
	r=$(mktemp -d)
	mkdir -p "$r"/{bin,sbin,proc,sys,dev,tmp,run,l3,mod,usr/share/qemu}
	cp "$BUSYBOX" "$r/bin/busybox"
	for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko; do
		cp "$k/modules/kernel/$m" "$r/mod/"
	done
	copy_with_libs "$QEMU" "$r"
	for f in bios-microvm.bin qboot.rom pvh.bin linuxboot_dma.bin kvmvapic.bin; do
		[[ -f /usr/share/qemu/$f ]] && cp -L "/usr/share/qemu/$f" "$r/usr/share/qemu/"
	done
	mkdir -p "$r/usr/bin"
	copy_with_libs "$VMM" "$r"
	mv "$r$VMM" "$r/usr/bin/sbx-vmm"
	cp "$k/vmlinux" "$r/l3/vmlinux"
	cp "$2" "$r/l3/initrd.cpio"
	echo "$L3_CMDLINE" >"$r/l3/cmdline"
	cat >"$r/init" <<-'EOF'
		#!/bin/busybox sh
		/bin/busybox --install -s /bin
		export PATH=/bin:/sbin:/usr/bin
		mount -t proc proc /proc
		mount -t sysfs sys /sys
		mount -t devtmpfs dev /dev
		mount -t tmpfs tmp /tmp
		read -r up _ </proc/uptime
		echo "L2-INIT-OK uptime $up"
		for m in irqbypass kvm kvm-amd; do
			insmod /mod/$m.ko || echo "L2: insmod $m failed"
		done
		if [ -c /dev/kvm ]; then echo "L2-KVM-OK"; else echo "L2-KVM-MISSING"; fi
		cd /tmp
		if [ -f /bed/script.sh ]; then sh /bed/script.sh; rc=$?; else rc=0; fi
		echo "L2-SCRIPT-EXIT $rc"
		reboot -f
	EOF
	chmod +x "$r/init"
	mkcpio "$r" "$3"
	rm -rf "$r"
}

# Build the images if their inputs changed; print the directory holding l2.cpio.
cmd_build() {
	local k key dir why
	why=$(why_not)
	[[ -z $why ]] || die "cannot build the nested bed: $why"
	k=$(kdir)
	key=$({
		sha256sum "$0" "$k/vmlinux" "$k/modules/kernel/arch/x86/kvm/"{kvm,kvm-amd}.ko \
			"$BUSYBOX" "$QEMU" "$VMM" | awk '{print $1}'
		ldd "$QEMU" "$VMM"
	} | sha256sum | cut -c1-16)
	dir=$(cache_root)/$key
	if [[ ! -f $dir/l2.cpio ]]; then
		mkdir -p "$dir"
		find "$(cache_root)" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
		build_l3 "$dir/l3.cpio"
		build_l2 "$k" "$dir/l3.cpio" "$dir/l2.cpio"
	fi
	echo "$dir"
}

cmd_run() {
	local script=$1 secs=${2:-240} dir k khz run rc log
	[[ -f $script ]] || die "$script: no such script (give a file to run in L2)"
	dir=$(cmd_build)
	k=$(kdir)
	khz=$(host_khz)
	[[ -n $khz && $khz -gt 0 ]] || die "cannot read the host's TSC rate from /proc/cpuinfo"
	run=$(mktemp -d /tmp/sbx-bed.XXXXXX)
	# shellcheck disable=SC2064 # the path, fixed now
	trap "rm -rf '$run'" EXIT
	mkdir -p "$run/root/bed"
	cp "$script" "$run/root/bed/script.sh"
	mkcpio "$run/root" "$run/script.cpio"
	cat "$dir/l2.cpio" "$run/script.cpio" >"$run/initrd.cpio"
	log=$run/serial.log
	: >"$log"
	tail -s 0.2 -f "$log" --pid=$$ &
	local tail_pid=$!
	rc=0
	timeout -k 5 "$secs" "$QEMU" -M microvm,acpi=on -accel tcg \
		-cpu EPYC-Milan,+svm,+npt -m 2048 -smp 1 -nodefaults -no-user-config \
		-display none -no-reboot -serial "file:$log" -kernel "$k/vmlinux" \
		-initrd "$run/initrd.cpio" \
		-append "console=ttyS0 reboot=t panic=-1 quiet tsc_early_khz=$khz lpj=$((khz * 4)) tsc=reliable" \
		</dev/null 2>"$run/qemu.err" || rc=$?
	sleep 0.6 # tail's last look at the log
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
	l2_outcome bed "$rc" "$log" "$run/qemu.err" "$secs"
}

case ${1:-} in
build) cmd_build ;;
run)
	shift
	[[ $# -ge 1 ]] || die "run: give a script (bed.sh run SCRIPT [SECONDS])"
	cmd_run "$@"
	;;
check)
	why=$(why_not)
	[[ -z $why ]] || {
		echo "$why"
		exit 2
	}
	;;
*) die "usage: bed.sh build | run SCRIPT [SECONDS] | check" ;;
esac
