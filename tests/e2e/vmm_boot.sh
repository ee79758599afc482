#!/bin/bash
# E2E for sbx-vmm's first slice: boot the freestanding PVH test guest on /dev/kvm (PVM here, so
# the guest is a few hundred instructions), check its serial lines (start_info magic, cmdline,
# memmap, initrd size, the ACPI RSDP behind start_info.rsdp_paddr) and its debug-exit status;
# ACPI poweroff by a guest that finds the sleep control register through RSDP -> XSDT -> FADT
# (status 0, nothing on stderr); the one-line errors for a missing kernel, a
# non-PVH ELF and too little memory; and the --timeout-ms watchdog ending a spinning guest
# with 124. Every run is under `timeout`. SKIPs (exit 0) without /dev/kvm.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/e2e/lib/sandbox.bash
. tests/e2e/lib/sandbox.bash
sbx_test_init sbx-vmm-e2e

BUILD=${BUILD:-build}
VMM=${SBX_VMM:-$BUILD/sbx-vmm}
HELLO=$BUILD/vmmguest/pvh_hello.elf
SPIN=$BUILD/vmmguest/pvh_spin.elf
ACPI_OFF=$BUILD/vmmguest/pvh_acpi_off.elf

if [[ ! -c /dev/kvm ]]; then
	echo "SKIP vmm: no /dev/kvm"
	exit 0
fi
for f in "$VMM" "$HELLO" "$SPIN" "$ACPI_OFF"; do
	[[ -x $f ]] || {
		fail vmm-prereqs "missing $f (run make host tests)"
		exit 1
	}
done

# --- the guest boots through PVH, reads start_info and exits with its own status
head -c 12345 /dev/urandom >"$tmp/initrd"
timeout 60 "$VMM" --kernel "$HELLO" --initrd "$tmp/initrd" --cmdline "console=ttyS0 sbx=1" \
	--mem 64 --timeout-ms 30000 >"$tmp/serial" 2>"$tmp/stderr"
expect vmm-hello-status 16 $?
expect vmm-hello-serial "sbx-vmm guest: pvh ok
cmdline: console=ttyS0 sbx=1
memmap 3
initrd 12345
acpi RSD PTR ok" "$(cat "$tmp/serial")"
expect vmm-hello-stderr "" "$(cat "$tmp/stderr")"

# --- no initrd, empty cmdline, two vCPUs, console to a file
timeout 60 "$VMM" --kernel "$HELLO" --cpus 2 --console "$tmp/console" --timeout-ms 30000 \
	>"$tmp/out" 2>&1
expect vmm-plain-status 16 $?
expect vmm-plain-serial "sbx-vmm guest: pvh ok
cmdline: 
memmap 3
acpi RSD PTR ok" "$(cat "$tmp/console")"
expect vmm-plain-stdout "" "$(cat "$tmp/out")"

# --- ACPI poweroff as Linux does it, from the tables: status 0, no stderr line (normal end);
# with --stats, only the stats line. 0x21 would mean the write did not end the VM, 0x22 a
# table the guest could not follow.
for cpus in 1 4; do
	timeout 60 "$VMM" --kernel "$ACPI_OFF" --cpus "$cpus" --timeout-ms 30000 \
		>"$tmp/serial" 2>"$tmp/stderr"
	expect "vmm-acpi-off-status-$cpus" 0 $?
	expect "vmm-acpi-off-serial-$cpus" \
		"sbx-vmm guest: acpi poweroff through the FADT's sleep control register" \
		"$(cat "$tmp/serial")"
	expect "vmm-acpi-off-stderr-$cpus" "" "$(cat "$tmp/stderr")"
done
timeout 60 "$VMM" --kernel "$ACPI_OFF" --stats --timeout-ms 30000 >/dev/null 2>"$tmp/stderr"
expect vmm-acpi-off-stats-status 0 $?
expect vmm-acpi-off-stats-lines 1/1 "$(grep -c '^sbx-vmm: stats: ' "$tmp/stderr")/$(wc -l <"$tmp/stderr")"

# --- bad input: one line naming the thing and what to do
bad vmm-no-kernel "--kernel: missing" timeout 60 "$VMM"
bad vmm-kernel-absent "--kernel $tmp/nope: No such file" timeout 60 "$VMM" --kernel "$tmp/nope"
bad vmm-not-pvh "no PVH entry" timeout 60 "$VMM" --kernel /bin/true
bad vmm-not-elf "not an ELF" timeout 60 "$VMM" --kernel "$tmp/initrd"
bad vmm-mem-small "memory too small" timeout 60 "$VMM" --kernel "$HELLO" --mem 1
truncate -s 5M "$tmp/big"
bad vmm-initrd-big "initrd: 5242880 bytes do not fit" timeout 60 "$VMM" --kernel "$HELLO" \
	--mem 4 --initrd "$tmp/big"

# --- a guest that never ends is stopped by the watchdog with 124 and one line
start=$(date +%s%N)
timeout 60 "$VMM" --kernel "$SPIN" --timeout-ms 1000 >"$tmp/out" 2>"$tmp/err"
st=$?
ms=$((($(date +%s%N) - start) / 1000000))
expect vmm-timeout-status 124 $st
expect vmm-timeout-serial "." "$(cat "$tmp/out")"
expect vmm-timeout-lines 1 "$(wc -l <"$tmp/err")"
if grep -q "timed out" "$tmp/err" && ((ms >= 1000 && ms < 10000)); then
	pass vmm-timeout-line
else
	fail vmm-timeout-line "after ${ms} ms: $(cat "$tmp/err")"
fi

# --- the C runtime (tests/vmmguest/rt/) through both entries: PVH (32-bit, the runtime
# switches to long mode) and a bzImage through the 64-bit boot protocol (boot_params); both
# read the same boot data through rt_boot() and walk the ACPI tables in long mode.
RT_ELF=$BUILD/vmmguest/boot_info.elf
RT_BZ=$BUILD/vmmguest/boot_info.bz
for k in "$RT_ELF" "$RT_BZ"; do
	[[ -f $k ]] || fail vmm-rt-prereqs "missing $k (run make tests)"
done
for via in pvh bzimage; do
	k=$RT_ELF
	[[ $via == bzimage ]] && k=$RT_BZ
	timeout 60 "$VMM" --kernel "$k" --initrd "$tmp/initrd" --cmdline "console=ttyS0 rt=$via" \
		--mem 64 --cpus 3 --timeout-ms 30000 >"$tmp/serial" 2>"$tmp/stderr"
	expect "vmm-rt-$via-status" 32 $?
	expect "vmm-rt-$via-serial" "sbx-vmm guest: $via ok, long mode
cmdline: console=ttyS0 rt=$via
memmap 3: 0+a0000/1 a0000+60000/2 100000+3f00000/1
initrd 12345
acpi RSD PTR ok
lapics 3" "$(head -n 6 "$tmp/serial")"
	# the slot count follows main.c's device set; the line must be there and well-formed
	slots='^virtio-mmio [0-9]+( [0-9a-f]+\+[0-9a-f]+@[0-9]+)*$'
	expect "vmm-rt-$via-virtio" 1 "$(grep -cE "$slots" "$tmp/serial")"
	expect "vmm-rt-$via-stderr" "" "$(cat "$tmp/stderr")"
done
timeout 60 "$VMM" --kernel "$RT_BZ" --timeout-ms 30000 >"$tmp/serial" 2>&1
expect vmm-rt-bz-plain-status 32 $?
expect vmm-rt-bz-plain-lines "cmdline: |initrd 0" \
	"$(grep -E '^(cmdline|initrd)' "$tmp/serial" | paste -sd'|')"

# --- bzImage header refusals: one line naming --kernel
cp "$RT_BZ" "$tmp/old.bz"
printf '\x0b\x02' | dd of="$tmp/old.bz" bs=1 seek=$((0x206)) conv=notrunc status=none
bad vmm-bz-old "--kernel $tmp/old.bz: boot protocol 2.11, need 2.12" timeout 60 "$VMM" \
	--kernel "$tmp/old.bz"
cp "$RT_BZ" "$tmp/no64.bz"
printf '\x00' | dd of="$tmp/no64.bz" bs=1 seek=$((0x236)) conv=notrunc status=none
bad vmm-bz-no64 "--kernel $tmp/no64.bz: no 64-bit entry" timeout 60 "$VMM" --kernel "$tmp/no64.bz"
bad vmm-bz-cmdline "--cmdline: 3000 bytes, the kernel takes at most 2047" timeout 60 "$VMM" \
	--kernel "$RT_BZ" --cmdline "$(head -c 3000 /dev/zero | tr '\0' x)"

# --- RAM past 3 GiB continues above the 4 GiB boundary (a fourth memory-map entry), both
# entries; the memfd is sparse, so this costs nothing
for kind in elf bz; do
	timeout 60 "$VMM" --kernel "$BUILD/vmmguest/boot_info.$kind" --mem 5120 --timeout-ms 30000 \
		>"$tmp/serial" 2>"$tmp/stderr"
	expect "vmm-high-ram-$kind-status" 32 $?
	expect "vmm-high-ram-$kind-memmap" \
		"memmap 4: 0+a0000/1 a0000+60000/2 100000+bff00000/1 100000000+80000000/1" \
		"$(grep '^memmap' "$tmp/serial")"
done

exit $((fails > 0))
