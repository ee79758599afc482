#!/usr/bin/env bash
# bench/vmm.sh — issue 8's VMM numbers, ours beside the anchor, in ONE nested-bed run (here
# /dev/kvm is PVM and cannot run a stock kernel; tests/nested/bed.sh gives L2 a real KVM):
#   1. VMM start -> L3 init: sbx-vmm beside QEMU `-M microvm,acpi=on -accel kvm`, the same
#      Debian kernel, the same busybox initramfs (init prints a marker, then `reboot -f`), the
#      same 256 MiB and one vCPU, alternating, RUNS times each (default 3); medians and ratio.
#      Timed inside L2: the serial goes to a FIFO whose reader stamps the first marker line
#      with L2's /proc/uptime (10 ms steps); start = just before the VMM is exec'd.
#   2. RSS beyond guest RAM: guest RAM is a memfd on both (sbx-vmm always; QEMU through
#      -object memory-backend-memfd), so in /proc/PID/smaps it is exactly the mappings named
#      /memfd:*; the VMM's own memory is the Pss of every other mapping (its heap, stacks,
#      kvm_run pages, and the pages of its binary and libraries it touched: in L2 those live in
#      the initramfs, i.e. shmem, so VmRSS - RssShmem would miss them). Reported with its
#      anonymous part; sbx-vmm's figure is its supervisor plus the jailed VMM process, summed as
#      Pss (their shared library and binary pages counted once, not twice). Sampled
#      every 0.2 s in separate runs (sampling costs L2 CPU); the last
#      sample before the guest's reboot (steady state, as Firecracker measures its overhead).
# Nested figures are slow in absolute terms (everything runs under QEMU TCG); the ratio is the
# number. Anchors: Firecracker's spec (<=125 ms to init, <=5 MiB overhead); targets (DESIGN.md):
# <=0.5x QEMU microvm's start, <=3 MiB. Run from the repo after `make build/sbx-vmm`.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
bed=tests/nested/bed.sh
if ! why=$("$bed" check); then
	echo "bench/vmm.sh: cannot run the nested bed: $why" >&2
	exit 1
fi
work=$(mktemp -d /tmp/sbx-bench-vmm.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/l2.sh" <<EOF
RUNS=$runs
EOF
cat >>"$work/l2.sh" <<'EOF'
[ -c /dev/kvm ] || { echo "BENCH-ERR no /dev/kvm in L2"; exit 1; }
MEM=256
CMD=$(cat /l3/cmdline)
up() { read -r u _ </proc/uptime; echo "$u"; }
# start <kind>: exec the VMM for one L3 boot, serial into /tmp/fifo; sets $pid.
start() {
	case $1 in
	ours) sbx-vmm --kernel /l3/vmlinux --initrd /l3/initrd.cpio --mem $MEM --timeout-ms 120000 \
		--cmdline "$CMD reboot=acpi" --console /tmp/fifo 2>>/tmp/err </dev/null &
		pid=$! ;;
	qemu) qemu-system-x86_64 -M microvm,acpi=on,memory-backend=mem -accel kvm -cpu host \
		-object memory-backend-memfd,id=mem,size=${MEM}M -m ${MEM}M -smp 1 -nodefaults \
		-no-user-config -display none -no-reboot -serial file:/tmp/fifo \
		-kernel /l3/vmlinux -initrd /l3/initrd.cpio -append "$CMD reboot=t" 2>>/tmp/err \
		</dev/null &
		pid=$! ;;
	esac
}
# one <kind>: one timed boot; prints "T <kind> <seconds to init>" or "T <kind> fail".
one() {
	rm -f /tmp/fifo /tmp/tinit; mkfifo /tmp/fifo
	( while IFS= read -r l; do
		case $l in *L3-INIT-OK*) [ -f /tmp/tinit ] || up >/tmp/tinit ;; esac
	done </tmp/fifo ) &
	rd=$!
	t0=$(up)
	start "$1"
	timeout 150 sh -c "while kill -0 $pid 2>/dev/null; do sleep 1; done" || kill -9 $pid
	wait $pid; st=$?
	timeout 2 sh -c ': >/tmp/fifo' 2>/dev/null  # a VMM that never opened it: end the reader
	wait $rd
	if [ -f /tmp/tinit ] && [ $st -eq 0 ]; then
		echo "T $1 $(awk -v a="$t0" -v b="$(cat /tmp/tinit)" 'BEGIN { printf "%.2f", b - a }')"
	else
		echo "T $1 fail status $st"; tail -n 3 /tmp/err
	fi
}
# rss <kind>: one boot, /proc/PID/smaps sampled every 0.2 s; prints the last sample taken
# while the guest ran: "R <kind> <KiB beyond guest RAM> <of which anonymous> <guest RAM
# resident>". Not the peak: that is the moment sbx-vmm copies the kernel out of its mapping.
rss() {
	rm -f /tmp/fifo; mkfifo /tmp/fifo
	( cat /tmp/fifo >/dev/null ) &
	rd=$!
	start "$1"
	best=0; a=0; g=0
	while kill -0 $pid 2>/dev/null; do
		# the process and its children: sbx-vmm runs the VM in a child (its jail's pid
		# namespace) and stays as a small supervisor; both count
		files=/proc/$pid/smaps
		for c in $(cat /proc/$pid/task/*/children 2>/dev/null); do
			files="$files /proc/$c/smaps"
		done
		set -- $(awk '/^[0-9a-f]+-[0-9a-f]+ / { ram = ($6 ~ /^\/memfd:/) }
			/^Pss:/ { if (ram) g += $2; else o += $2 }
			/^Anonymous:/ { if (!ram) a += $2 }
			END { print o + 0, a + 0, g + 0 }' $files 2>/dev/null) 0 0 0
		if [ "$3" -gt 0 ]; then best=$1; a=$2; g=$3; fi
		sleep 0.2
	done
	wait $pid
	timeout 2 sh -c ': >/tmp/fifo' 2>/dev/null
	wait $rd
	echo "R $kind $best $a $g"
}
i=0
while [ $i -lt $RUNS ]; do
	one qemu
	one ours
	i=$((i + 1))
done
kind=qemu; rss qemu
kind=ours; rss ours
EOF

"$bed" run "$work/l2.sh" $((120 + runs * 100)) >"$work/serial" 2>"$work/bed.err" || {
	echo "bench/vmm.sh: the nested run failed: $(tail -n 3 "$work/bed.err")" >&2
	tail -n 20 "$work/serial" >&2
	exit 1
}
tr -d '\r' <"$work/serial" >"$work/log"
if grep -q '^T .* fail' "$work/log" || grep -q '^BENCH-ERR' "$work/log"; then
	echo "bench/vmm.sh: a boot failed:" >&2
	grep -E '^(T |BENCH-ERR)' "$work/log" >&2
	exit 1
fi
median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'; }
ours=$(awk '$1 == "T" && $2 == "ours" { print $3 }' "$work/log" | median)
qemu=$(awk '$1 == "T" && $2 == "qemu" { print $3 }' "$work/log" | median)
all_ours=$(awk '$1 == "T" && $2 == "ours" { printf "%s ", $3 }' "$work/log")
all_qemu=$(awk '$1 == "T" && $2 == "qemu" { printf "%s ", $3 }' "$work/log")
read -r _ _ rss_ours a_ours _ < <(grep '^R ours ' "$work/log")
read -r _ _ rss_qemu a_qemu _ < <(grep '^R qemu ' "$work/log")
l2=$(sed -n 's/^L2-INIT-OK uptime //p' "$work/log")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "nested bed: L2 = QEMU TCG (EPYC-Milan,+svm), L2 reached init at ${l2:-?} s; L3 = same kernel, busybox initramfs, 256 MiB, 1 vCPU"
echo "runs (s to L3 init): sbx-vmm: $all_ours| qemu microvm: $all_qemu"
printf '%-44s %10s %10s %8s\n' metric ours anchor ratio
printf '%-44s %10s %10s %8s\n' "start -> L3 init, median of $runs (s) vs qemu" "$ours" "$qemu" \
	"$(awk -v a="$ours" -v b="$qemu" 'BEGIN { printf "%.2fx", a / b }')"
printf '%-44s %10s %10s %8s\n' "Pss beyond guest RAM (MiB) vs qemu" "$(mib "$rss_ours")" \
	"$(mib "$rss_qemu")" "$(awk -v a="$rss_ours" -v b="$rss_qemu" 'BEGIN { printf "%.2fx", a / b }')"
printf '%-44s %10s %10s\n' "  of which anonymous (MiB)" "$(mib "$a_ours")" "$(mib "$a_qemu")"
echo "targets: start <= 0.5x qemu microvm; memory beyond guest RAM <= 3 MiB (Firecracker: <= 5 MiB)"
