#!/bin/bash
# tests/nested/stack.sh — the whole sbx stack under real KVM in the nested test bed (see bed.sh
# and DESIGN.md, "Our machines"): L2 is QEMU TCG with an SVM CPU whose init loads kvm_amd, and
# inside it sbx, sbxd, sbx-vmm and sbx-vhost (from build/, with their shared libraries) run the
# e2e core with the kvm engine — create from the shell template with a workspace, exec, the
# workspace both ways, egress allowed and denied through sbxd's proxy, stop, rm — then time
# `sbx exec NAME true` on the qemu engine (QEMU -accel kvm in L2) in the same run, for the ratio.
# Owns building and caching its two images; never writes to SBX_CACHE_DIR (it is only read, once,
# into build/nested-stack/cache-*.img) and never runs anything without a timeout.
#
#   stack.sh build           build (or reuse) the images; print their directory
#   stack.sh run [SECONDS]   boot L2 and run the checks, serial to stdout (default 900 s).
#                            Exit status: 0 all PASS, 1 a FAIL, 124 timeout, 2/3 bed problems.
#   stack.sh check           exit 0 if this host can run it, else print why and exit 2
#
# Images (SBX_STACK_DIR, default build/nested-stack; older keys removed):
#   l2-KEY.cpio   busybox, kvm modules, QEMU (+libs, firmware), sbx/sbxd/sbx-vmm/sbx-vhost
#                 (+libs), build/lib/sbx, mkfs.ext4, GNU date; keyed by every binary's hash
#   cache-KEY.img ext4 holding an sbx cache (kernel/, initramfs/, templates/shell/), built once
#                 from SBX_CACHE_DIR and attached to L2 as a virtio-blk disk with snapshot=on
#                 (writes vanish), so a rerun copies nothing big
# Env: SBX_CACHE_DIR (default /var/tmp/sbx-test-cache), SBX_STACK_QEMU=0 skips the qemu engine
# part, SBX_STACK_EXECS (timed `exec true` runs per engine, default 10),
# SBX_STACK_SETTLE=0 times them without first waiting for the guest's dockerd (up to 180 s),
# SBX_STACK_SMP (L2 vCPUs, default 1), SBX_STACK_MEM (L2 MiB, default 3072).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
B=${BUILD:-build}
QEMU=$(command -v qemu-system-x86_64 || true)
BUSYBOX=$(command -v busybox || true)
# shellcheck source=tests/nested/lib.sh
. "$top/tests/nested/lib.sh"
MKFS=$(command -v mkfs.ext4 || true)
GDATE=$(command -v date)
BINS=(sbx sbxd sbx-vmm sbx-vhost)

die() {
	echo "stack: $*" >&2
	exit 2
}

stack_dir() { echo "${SBX_STACK_DIR:-$top/build/nested-stack}"; }

kdir() {
	local d
	d=$(ls -d "$SBX_CACHE_DIR"/kernel/*/vmlinux 2>/dev/null | tail -n 1)
	[[ -n $d ]] && dirname "$d"
}

# The initramfs name sbx computes for this build (assets_initramfs_name(): FNV-1a 64 over
# sbx-init, NUL, the kernel release, NUL, images/initramfs.sh).
initramfs_name() { # <kernel release>
	python3 - "$top/$B/lib/sbx/sbx-init" "$1" "$top/$B/lib/sbx/images/initramfs.sh" <<-'EOF'
		import sys
		h, M = 0xcbf29ce484222325, (1 << 64) - 1
		def f(h, b):
		    for x in b:
		        h = ((h ^ x) * 0x100000001b3) & M
		    return h
		h = f(h, open(sys.argv[1], 'rb').read()); h = f(h, b'\0')
		h = f(h, sys.argv[2].encode()); h = f(h, b'\0')
		h = f(h, open(sys.argv[3], 'rb').read())
		print('%016x.cpio' % h)
	EOF
}

why_not() {
	local k b
	"$top/tests/nested/bed.sh" check >/dev/null 2>&1 || {
		SBX_VMM=$top/$B/sbx-vmm "$top/tests/nested/bed.sh" check || true
		return
	}
	for b in "${BINS[@]}"; do
		[[ -x $top/$B/$b ]] || { echo "$top/$B/$b missing (run make)"; return; }
	done
	[[ -f $top/$B/lib/sbx/sbx-init ]] || { echo "$top/$B/lib/sbx/sbx-init missing (run make)"; return; }
	k=$(kdir || true)
	[[ -n $k ]] || { echo "no kernel in $SBX_CACHE_DIR/kernel (run the suite's cache step)"; return; }
	[[ -f $SBX_CACHE_DIR/templates/shell/rootfs.img && -f $SBX_CACHE_DIR/templates/shell/meta.json ]] ||
		{ echo "no shell template in $SBX_CACHE_DIR/templates (run: sbx template build shell)"; return; }
	[[ -n $MKFS ]] || { echo "no mkfs.ext4 (install e2fsprogs)"; return; }
	command -v python3 >/dev/null || echo "no python3 (needed to name the initramfs)"
}

build_l2() { # <kernel dir> <out cpio>
	local k=$1 r m f b
	r=$(mktemp -d)
	mkdir -p "$r"/{bin,sbin,proc,sys,dev,tmp,run,mod,cache,root,etc,usr/bin,usr/lib,usr/share/qemu}
	cp "$BUSYBOX" "$r/bin/busybox"
	for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko \
		drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_mmio.ko \
		drivers/block/virtio_blk.ko; do
		[[ -f $k/modules/kernel/$m ]] && cp "$k/modules/kernel/$m" "$r/mod/"
	done
	copy_with_libs "$QEMU" "$r"
	for f in bios-microvm.bin qboot.rom pvh.bin linuxboot_dma.bin kvmvapic.bin; do
		[[ -f /usr/share/qemu/$f ]] && cp -L "/usr/share/qemu/$f" "$r/usr/share/qemu/"
	done
	for b in "${BINS[@]}"; do
		copy_with_libs "$top/$B/$b" "$r"
		mv "$r$top/$B/$b" "$r/usr/bin/$b"
	done
	rm -rf "${r:?}$top"
	cp -a "$top/$B/lib/sbx" "$r/usr/lib/sbx"
	copy_with_libs "$MKFS" "$r"
	[[ -f /etc/mke2fs.conf ]] && cp /etc/mke2fs.conf "$r/etc/"
	copy_with_libs "$GDATE" "$r"
	mv "$r$GDATE" "$r/usr/bin/gdate"
	echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$r/etc/hosts"
	cat >"$r/init" <<-'EOF'
		#!/bin/busybox sh
		/bin/busybox --install -s /bin
		export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
		mount -t proc proc /proc
		mount -t sysfs sys /sys
		mount -t devtmpfs dev /dev
		mount -t tmpfs tmp /tmp
		mount -t tmpfs run /run
		read -r up _ </proc/uptime
		echo "L2-INIT-OK uptime $up"
		for m in irqbypass kvm kvm-amd virtio_ring virtio virtio_mmio virtio_blk; do
			[ -f /mod/$m.ko ] && { insmod /mod/$m.ko || echo "L2: insmod $m failed"; }
		done
		if [ -c /dev/kvm ]; then echo "L2-KVM-OK"; else echo "L2-KVM-MISSING"; fi
		ip link set lo up
		for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.5; done
		mount -t ext4 /dev/vda /cache || echo "L2: cannot mount the cache disk"
		cd /tmp
		if [ -f /bed/script.sh ]; then sh /bed/script.sh; rc=$?; else rc=0; fi
		echo "L2-SCRIPT-EXIT $rc"
		reboot -f
	EOF
	chmod +x "$r/init"
	mkcpio "$r" "$2"
	rm -rf "$r"
}

build_cache() { # <kernel dir> <initramfs name> <out img>
	local k=$1 name=$2 out=$3 s kver mib
	kver=$(basename "$k")
	s=$(mktemp -d "$(stack_dir)/stage.XXXXXX")
	mkdir -p "$s/kernel/$kver/modules" "$s/initramfs" "$s/templates/shell"
	cp "$k/vmlinux" "$k/version" "$s/kernel/$kver/"
	if [[ -f $SBX_CACHE_DIR/initramfs/$name ]]; then
		cp "$SBX_CACHE_DIR/initramfs/$name" "$s/initramfs/"
	else # this build's sbx-init is not in the suite's cache yet: build it here
		timeout 300 bash "$top/$B/lib/sbx/images/initramfs.sh" "$k" "$top/$B/lib/sbx/sbx-init" \
			"$s/initramfs/$name" >/dev/null || die "building the initramfs failed"
	fi
	cp "$SBX_CACHE_DIR/templates/shell/meta.json" "$s/templates/shell/"
	cp --sparse=always "$SBX_CACHE_DIR/templates/shell/rootfs.img" "$s/templates/shell/"
	mib=$(($(du -sm --apparent-size "$s" | cut -f1) * 11 / 10 + 64))
	rm -f "$out.tmp"
	truncate -s "${mib}M" "$out.tmp"
	timeout 300 "$MKFS" -q -F -L sbx-cache -d "$s" "$out.tmp" || die "mkfs.ext4 -d failed"
	rm -rf "$s"
	mv "$out.tmp" "$out"
}

# Build what changed; print "DIR L2CPIO CACHEIMG".
cmd_build() {
	local why k kver name d lkey ckey l2 img
	why=$(why_not)
	[[ -z $why ]] || die "cannot build the nested stack: $why"
	d=$(stack_dir)
	mkdir -p "$d"
	k=$(kdir)
	kver=$(basename "$k")
	name=$(initramfs_name "$kver")
	lkey=$({
		sha256sum "$0" "$BUSYBOX" "$QEMU" "$MKFS" "${BINS[@]/#/$top/$B/}" \
			"$k/modules/kernel/arch/x86/kvm/"{kvm,kvm-amd}.ko | awk '{print $1}'
		(cd "$top/$B/lib/sbx" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
		for b in "${BINS[@]}"; do ldd "$top/$B/$b"; done
	} | sha256sum | cut -c1-16)
	ckey=$({
		echo "$name"
		stat -c '%s %Y' "$k/vmlinux" "$SBX_CACHE_DIR/templates/shell/rootfs.img"
		sha256sum "$SBX_CACHE_DIR/templates/shell/meta.json"
	} | sha256sum | cut -c1-16)
	l2=$d/l2-$lkey.cpio
	img=$d/cache-$ckey.img
	if [[ ! -f $l2 ]]; then
		find "$d" -maxdepth 1 -name 'l2-*.cpio' -delete
		build_l2 "$k" "$l2"
	fi
	if [[ ! -f $img ]]; then
		find "$d" -maxdepth 1 \( -name 'cache-*.img*' -o -name 'stage.*' \) -exec rm -rf {} +
		build_cache "$k" "$name" "$img"
	fi
	echo "$d $l2 $img"
}

# The checks, run by L2's init (busybox sh). Lines: PASS/FAIL/INFO/TIME.
l2_script() {
	cat <<-'EOF'
		execs=__EXECS__
		settle=__SETTLE__
		want_qemu=__QEMU__
		fails=0
		T() { timeout "$@"; }
		ms() { gdate +%s%3N; }
		pass() { echo "PASS $1"; }
		fail() { echo "FAIL $1${2:+: $2}"; fails=$((fails + 1)); }
		expect() { if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi; }
		median() { sort -n "$1" | sed -n "$((($(wc -l <"$1") + 1) / 2))p"; }
		timed() { # <file> <cmd...>: run it, add its milliseconds to <file>; the status is its
			f=$1
			shift
			a=$(ms)
			"$@"
			r=$?
			echo $(($(ms) - a)) >>"$f"
			return $r
		}
		rss() { # <process name>: its resident set (guest pages it touched included)
			for p in $(pidof "$1"); do
				echo "INFO rss $1 $(sed -n 's/^VmRSS: *//p' /proc/$p/status)"
			done
		}
		settle() { # <name> <engine>: wait (bounded) for the guest's dockerd, so the timings
			# below do not race its start-up on the guest's one vCPU
			[ "$settle" = 1 ] || return 0
			n=0
			while [ $n -lt 90 ]; do
				T 60 sbx exec "$1" test -S /var/run/docker.sock 2>/dev/null && break
				sleep 2
				n=$((n + 1))
			done
			up=$(grep -o 'dockerd is up ([0-9.]* s after boot)' \
				"$SBX_HOME/data/sandboxes/$1/console.log" 2>/dev/null | head -n 1)
			echo "INFO $2 ${up:-dockerd not up after 180 s}"
		}
		logs() { # the sandbox's and sbxd's logs, on failure
			for f in $(find "$SBX_HOME" -name '*.log' 2>/dev/null); do
				echo "---- $f"; tail -n 25 "$f"
			done
		}
		[ -c /dev/kvm ] || { echo "FAIL l2-kvm: no /dev/kvm in L2"; exit 1; }
		[ -f /cache/templates/shell/rootfs.img ] || { echo "FAIL l2-cache: cache disk not mounted"; exit 1; }
		export SBX_HOME=/tmp/sbxh SBX_CACHE_DIR=/cache SBX_SECRET_STORE=file \
			SBX_BOOT_TIMEOUT_S=400 SBX_HOSTS_FILE=/tmp/hosts
		mkdir -p /tmp/ws /tmp/www
		echo "from L2 host" >/tmp/ws/from-host.txt
		echo "hello from L2" >/tmp/www/hello.txt
		echo "127.0.0.1 allowed.test denied.test" >/tmp/hosts
		httpd -p 127.0.0.1:8080 -h /tmp/www
		# 1. create from the shell template, engine kvm, with the workspace
		t0=$(ms)
		got=$(T 120 sbx create -q --name st -m 1g --cpus 1 --engine kvm shell /tmp/ws 2>/tmp/err)
		expect create st "$got$(head -c 300 /tmp/err)"
		T 30 sbx version 2>&1 | sed 's/^/INFO version: /'
		T 60 sbx policy allow network -g allowed.test >/dev/null 2>/tmp/err ||
			fail policy-allow "$(cat /tmp/err)"
		# 2. boot: the first exec starts it
		got=$(T 600 sbx exec st echo ok 2>/tmp/err)
		t1=$(ms)
		expect boot-exec ok "$got$(head -c 300 /tmp/err)"
		echo "TIME kvm create-to-first-exec $((t1 - t0)) ms"
		grep -o 'sandbox st running after [0-9]* ms' "$SBX_HOME"/data/sbxd.log 2>/dev/null |
			sed 's/^/INFO kvm /'
		eng=$(T 30 sbx ls --json 2>&1 | grep -o '"engine": *"[a-z]*"' | head -n 1 | grep -o '"[a-z]*"$')
		expect ls-engine-kvm '"kvm"' "$eng"
		settle st kvm
		rss sbx-vmm
		expect exec-status 3 "$(T 120 sbx exec st sh -c 'exit 3'; echo $?)"
		# 3. workspace both ways
		expect ws-read "from L2 host" "$(T 120 sbx exec st cat /tmp/ws/from-host.txt 2>&1)"
		T 120 sbx exec st sh -c 'echo from L3 guest >/tmp/ws/from-guest.txt' || fail ws-write-exec
		expect ws-write "from L3 guest" "$(cat /tmp/ws/from-guest.txt 2>&1)"
		# 4. egress through sbxd's proxy to a server in L2
		expect egress-allowed "hello from L2" \
			"$(T 120 sbx exec st curl -sS --max-time 60 http://allowed.test:8080/hello.txt 2>&1)"
		expect egress-denied 403 \
			"$(T 120 sbx exec st curl -s --max-time 60 -o /dev/null -w '%{http_code}' http://denied.test:8080/ 2>&1)"
		[ $fails -eq 0 ] || logs
		# 5. the qemu engine (QEMU -accel kvm in L2) beside it, for the ratios
		if [ "$want_qemu" = 1 ]; then
			t0=$(ms)
			got=$(T 120 sbx create -q --name sq -m 1g --cpus 1 --engine qemu shell /tmp/ws 2>/tmp/err)
			expect qemu-create sq "$got$(head -c 300 /tmp/err)"
			got=$(T 600 sbx exec sq echo ok 2>/tmp/err)
			t1=$(ms)
			expect qemu-boot-exec ok "$got$(head -c 300 /tmp/err)"
			echo "TIME qemu create-to-first-exec $((t1 - t0)) ms"
			grep -o 'sandbox sq running after [0-9]* ms' "$SBX_HOME"/data/sbxd.log 2>/dev/null |
				sed 's/^/INFO qemu /'
			settle sq qemu
			rss qemu-system-x86_64
			rss sbx-vhost
		fi
		# 6. `exec true`, timed; with both engines running, interleaved, so both see the same load
		i=0
		while [ $i -lt "$execs" ]; do
			timed /tmp/t.kvm T 120 sbx exec st true || fail "exec-true-$i" "exit $?"
			if [ "$want_qemu" = 1 ]; then
				timed /tmp/t.qemu T 120 sbx exec sq true || fail "qemu-exec-true-$i" "exit $?"
			fi
			timed /tmp/t.cli T 60 sbx ls -q >/dev/null || fail "ls-$i" "exit $?"
			i=$((i + 1))
		done
		echo "TIME kvm exec-true $(tr '\n' ' ' </tmp/t.kvm)ms, median $(median /tmp/t.kvm) ms"
		echo "TIME cli-baseline (sbx ls -q) $(tr '\n' ' ' </tmp/t.cli)ms, median $(median /tmp/t.cli) ms"
		if [ "$want_qemu" = 1 ]; then
			echo "TIME qemu exec-true $(tr '\n' ' ' </tmp/t.qemu)ms, median $(median /tmp/t.qemu) ms"
			bk=$(sed -n 's/.*sandbox st running after \([0-9]*\) ms.*/\1/p' "$SBX_HOME/data/sbxd.log" | head -n 1)
			bq=$(sed -n 's/.*sandbox sq running after \([0-9]*\) ms.*/\1/p' "$SBX_HOME/data/sbxd.log" | head -n 1)
			echo "RATIO start-to-ready kvm/qemu ${bk:-?}/${bq:-?} ms = $(awk -v a="${bk:-0}" -v b="${bq:-0}" 'BEGIN{if (b > 0) printf "%.2f", a / b; else print "?"}')"
			mk=$(median /tmp/t.kvm)
			mq=$(median /tmp/t.qemu)
			echo "RATIO exec-true median kvm/qemu $mk/$mq ms = $(awk -v a="$mk" -v b="$mq" 'BEGIN{if (b > 0) printf "%.2f", a / b; else print "?"}')"
			T 200 sbx rm -f sq >/dev/null 2>&1 || fail qemu-rm
		fi
		# 7. stop, rm
		T 200 sbx stop st >/dev/null 2>/tmp/err || fail stop "$(cat /tmp/err)"
		st=$(T 30 sbx ls --json 2>&1 | grep -o '"status": *"[a-z]*"' | head -n 1)
		case $st in *stopped*) pass stopped ;; *) fail stopped "$st" ;; esac
		T 200 sbx rm st >/dev/null 2>/tmp/err || fail rm "$(cat /tmp/err)"
		expect rm-gone "" "$(T 30 sbx ls -q 2>&1)"
		pid=$(cat "$SBX_HOME/run/sbxd.pid" 2>/dev/null)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
		echo "SUMMARY fails=$fails"
		[ $fails -eq 0 ]
	EOF
}

cmd_run() {
	local secs=${1:-900} d l2 img k khz run rc log
	read -r d l2 img < <(cmd_build)
	[[ -n $img ]] || exit 2
	k=$(kdir)
	khz=$(host_khz)
	[[ -n $khz && $khz -gt 0 ]] || die "cannot read the host's TSC rate from /proc/cpuinfo"
	run=$(mktemp -d /tmp/sbx-stack.XXXXXX)
	# shellcheck disable=SC2064 # the path, fixed now
	trap "rm -rf '$run'" EXIT
	mkdir -p "$run/root/bed"
	l2_script | sed -e "s/__EXECS__/${SBX_STACK_EXECS:-10}/" \
		-e "s/__SETTLE__/$([[ ${SBX_STACK_SETTLE:-1} == 0 ]] && echo 0 || echo 1)/" \
		-e "s/__QEMU__/$([[ ${SBX_STACK_QEMU:-1} == 0 ]] && echo 0 || echo 1)/" \
		>"$run/root/bed/script.sh"
	mkcpio "$run/root" "$run/script.cpio"
	cat "$l2" "$run/script.cpio" >"$run/initrd.cpio"
	log=$run/serial.log
	: >"$log"
	tail -s 0.2 -f "$log" --pid=$$ &
	local tail_pid=$!
	rc=0
	TMPDIR=$run setsid timeout -k 5 "$secs" "$QEMU" -M microvm,acpi=on -accel tcg \
		-cpu EPYC-Milan,+svm,+npt -m "${SBX_STACK_MEM:-3072}" -smp "${SBX_STACK_SMP:-1}" \
		-nodefaults -no-user-config -display none -no-reboot -serial "file:$log" \
		-drive "file=$img,format=raw,if=none,id=cache,snapshot=on" \
		-device virtio-blk-device,drive=cache \
		-kernel "$k/vmlinux" -initrd "$run/initrd.cpio" \
		-append "console=ttyS0 reboot=t panic=-1 quiet tsc_early_khz=$khz lpj=$((khz * 4)) tsc=reliable" \
		</dev/null 2>"$run/qemu.err" &
	local qpid=$!
	# shellcheck disable=SC2064 # the pid and path, fixed now: a killed run leaves no QEMU
	trap "kill -- -$qpid 2>/dev/null || true; kill $tail_pid 2>/dev/null || true; rm -rf '$run'" EXIT
	trap 'exit 130' INT TERM
	wait "$qpid" || rc=$?
	sleep 0.6 # tail's last look at the log
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
	l2_outcome stack "$rc" "$log" "$run/qemu.err" "$secs"
}

case ${1:-} in
build) cmd_build ;;
run)
	shift
	cmd_run "$@"
	;;
check)
	why=$(why_not)
	[[ -z $why ]] || {
		echo "$why"
		exit 2
	}
	;;
*) die "usage: stack.sh build | run [SECONDS] | check" ;;
esac
