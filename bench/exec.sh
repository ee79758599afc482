#!/usr/bin/env bash
# bench/exec.sh — the numbers issue 2 asks for, in one run, ours beside the anchor:
#   1. create -> first exec (cached template; includes the VM boot)
#   2. `sbx exec NAME true` round trip, median of 50, beside spawning `true` on the host
#   2b. the same exec round trip against sbx-init serving on a host unix socket (same client and
#      agent code, no VM): the overhead our path adds, apart from the guest's own fork/exec
#   3. boot to a ready userspace: our initramfs (sbx-init: modules, disks, overlay, switch root,
#      agent answering) beside a bare busybox initramfs (init prints and powers off) on the same
#      kernel and engine/accelerator.
# Uses SBX_CACHE_DIR (default /var/tmp/sbx-test-cache) for the kernel and template; builds them if
# missing. Run from the repo after `make`.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
export SBX_HOME=$(mktemp -d /tmp/sbx-bench.XXXXXX)
sbx=$top/build/sbx
runs=${RUNS:-50}
cleanup() {
	"$sbx" reset -f >/dev/null 2>&1 || true
	[[ -f $SBX_HOME/run/sbxd.pid ]] && kill "$(cat "$SBX_HOME/run/sbxd.pid")" 2>/dev/null || true
	rm -rf "$SBX_HOME" "${bb:-}"
}
trap cleanup EXIT

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'; }

"$sbx" template build shell >/dev/null
work=$(mktemp -d)
t0=$(now)
"$sbx" create shell "$work" --name bench -q >/dev/null
"$sbx" exec bench true
t1=$(now)
create_exec=$(ms "$t0" "$t1")

ours=() host=()
for _ in $(seq "$runs"); do
	a=$(now); "$sbx" exec bench true; b=$(now); ours+=("$(ms "$a" "$b")")
	a=$(now); /bin/true; b=$(now); host+=("$(ms "$a" "$b")")
done
ours_med=$(printf '%s\n' "${ours[@]}" | median)
host_med=$(printf '%s\n' "${host[@]}" | median)

# 2b: our agent without the VM (sbx-init --serve-unix), driven by the same client code.
agent_sock=$SBX_HOME/agent.sock
"$top/build/lib/sbx/sbx-init" --serve-unix "$agent_sock" 2>/dev/null &
agent_pid=$!
"$top/build/tests/agent_exec_test" --wait "$agent_sock" 5000 >/dev/null
direct=()
for _ in $(seq "$runs"); do
	a=$(now); "$top/build/tests/agent_exec_test" --exec "$agent_sock" true; b=$(now)
	direct+=("$(ms "$a" "$b")")
done
kill "$agent_pid" 2>/dev/null || true
direct_med=$(printf '%s\n' "${direct[@]}" | median)

"$sbx" stop bench >/dev/null
a=$(now); "$sbx" exec bench true; b=$(now)
boot_ours=$(ms "$a" "$b")

# Anchor: a bare busybox initramfs on the same kernel, same QEMU flags minus our devices.
kdir=$(dirname "$(ls -d "$SBX_CACHE_DIR"/kernel/*/vmlinux | tail -n 1)")
bb=$(mktemp -d)
mkdir -p "$bb/root/bin" "$bb/root/proc"
cp /bin/busybox "$bb/root/bin/busybox"
printf '#!/bin/busybox sh\necho BENCH-INIT\n/bin/busybox poweroff -f\n' >"$bb/root/init"
chmod +x "$bb/root/init"
(cd "$bb/root" && find . | cpio -o -H newc 2>/dev/null) >"$bb/initrd.cpio"
accel=$("$sbx" ls --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("accel") or "tcg")')
K=$(awk '/cpu MHz/{printf "%d", $4*1000; exit}' /proc/cpuinfo)
extra=""
[[ $accel == tcg ]] && extra="tsc_early_khz=$K lpj=$((K * 4)) tsc=reliable"
a=$(now)
timeout 120 qemu-system-x86_64 -M microvm,acpi=on -accel "$accel" -m 512 -smp 1 -nodefaults \
	-no-user-config -nographic -no-reboot -serial "file:$bb/console.log" -kernel "$kdir/vmlinux" \
	-initrd "$bb/initrd.cpio" -append "console=ttyS0 reboot=t panic=-1 pci=off quiet $extra"
b=$(now)
grep -q BENCH-INIT "$bb/console.log" || { echo "busybox anchor did not reach init" >&2; exit 1; }
boot_bb=$(ms "$a" "$b")

echo "accelerator: $accel"
printf '%-44s %10s %10s %8s\n' metric ours anchor ratio
printf '%-44s %10s %10s %8s\n' "create -> first exec (ms)" "$create_exec" "-" "-"
printf '%-44s %10s %10s %8s\n' "exec true, median of $runs (ms) vs host true" "$ours_med" "$host_med" \
	"$(awk -v a="$ours_med" -v b="$host_med" 'BEGIN { printf "%.1fx", a / b }')"
printf '%-44s %10s %10s %8s\n' "exec true, no VM (sbx-init on host) vs host" "$direct_med" "$host_med" \
	"$(awk -v a="$direct_med" -v b="$host_med" 'BEGIN { printf "%.1fx", a / b }')"
printf '%-44s %10s %10s %8s\n' "boot to ready (ms) vs busybox init" "$boot_ours" "$boot_bb" \
	"$(awk -v a="$boot_ours" -v b="$boot_bb" 'BEGIN { printf "%.2fx", a / b }')"
