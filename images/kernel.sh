#!/bin/bash
# images/kernel.sh CACHE_DIR - fetch Debian's cloud kernel into CACHE_DIR/kernel/<kver>/
# ({vmlinux, modules/, version}) and print that directory on stdout.
# Owns the kernel part of the cache. Never installs anything on the host (apt-get download +
# dpkg -x only); never leaves a half-made directory (temp dir + rename, under flock).
# Progress: "@@step I N text" / "@@msg text" lines on stderr; everything else is log.
set -euo pipefail
export LC_ALL=C

# die WHY (WHAT TO DO): the one error line, "<what failed>: <why> (<what to do>)"
die() {
	echo "@@error fetching the guest kernel: $*" >&2
	exit 1
}

nospace() {
	local avail
	rm -rf "$tmp" # what it is free without our partial copy
	avail=$(df -Pk "$base" 2>/dev/null | awk 'NR==2 {print int($4 / 1024)}')
	die "no space left on device in $base (${avail:-?} MiB free, ~250 MiB needed; free some space)"
}

[ $# -eq 1 ] || die "usage: kernel.sh CACHE_DIR"
cache=$1
base=$cache/kernel
meta=${SBX_KERNEL_PACKAGE:-linux-image-cloud-amd64}
mkdir -p "$base" || die "cannot create $base (check permissions and free space)"

# newest kernel already in the cache, if any
newest_cached() {
	local d best=""
	for d in "$base"/*/; do
		d=${d%/}
		[ -s "$d/vmlinux" ] && [ -s "$d/version" ] && [ -d "$d/modules" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$(basename "$d")" | sed '/^$/d' | sort -V | tail -n1)
	done
	[ -n "$best" ] && echo "$base/$best"
}

# The versioned package linux-image-cloud-amd64 depends on: linux-image-<kver>.
resolve_kver() {
	local cand dep
	cand=$(apt-cache policy "$meta" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
		return 1
	fi
	dep=$(apt-cache depends "$meta" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$dep" ] || return 1
	dep=${dep#linux-image-}
	echo "$dep"
}

# Fast path: a kernel is already cached (SBX_KERNEL_REFRESH=1 checks apt for a newer one).
if [ -z "${SBX_KERNEL_REFRESH:-}" ] && have=$(newest_cached); then
	echo "$have"
	exit 0
fi

echo "@@step 1 5 Resolving kernel version" >&2
if ! kver=$(resolve_kver); then
	if have=$(newest_cached); then
		echo "$have"
		exit 0
	fi
	die "package $meta is not in the apt lists (run apt-get update as root)"
fi

out=$base/$kver
if [ -s "$out/vmlinux" ] && [ -d "$out/modules" ]; then
	echo "$out"
	exit 0
fi

exec 9>"$base/.lock"
flock -w 600 9 || die "another fetch holds $base/.lock for 10 minutes (wait for it or remove a stale lock)"
if [ -s "$out/vmlinux" ] && [ -d "$out/modules" ]; then
	echo "$out"
	exit 0
fi

tmp=$(mktemp -d "$base/.tmp-$kver.XXXXXX") || die "cannot create a temp dir in $base (check permissions and free space)"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # apt-get download drops to _apt and must write here

echo "@@step 2 5 Downloading linux-image-$kver" >&2
(cd "$tmp" && apt-get download -q "linux-image-$kver") >&2 ||
	die "apt-get download linux-image-$kver failed (check network access to the Debian mirror, or run apt-get update)"
deb=$(ls "$tmp"/linux-image-"$kver"_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download produced no .deb for linux-image-$kver (see the log)"

echo "@@step 3 5 Unpacking" >&2
mkdir "$tmp/x" "$tmp/out"
# (its errors are kept in memory: on a full disk a file could not hold them)
if ! err=$(dpkg -x "$deb" "$tmp/x" 2>&1); then
	printf '%s\n' "$err" | tail -n 20 >&2
	case $err in *"No space left"*) nospace ;; esac
	die "dpkg -x $deb failed (see the log)"
fi
rm -f "$deb"
bz=$tmp/x/boot/vmlinuz-$kver
[ -f "$bz" ] || die "package linux-image-$kver has no boot/vmlinuz-$kver (set SBX_KERNEL_PACKAGE to a Debian kernel package)"

echo "@@step 4 5 Extracting vmlinux" >&2
# bzImage header: setup_sects @0x1f1 (u8, 0 means 4), payload_offset @0x248 and
# payload_length @0x24c (u32 LE); the protected-mode part starts at (setup_sects+1)*512.
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 --endian=little "$1" | tr -d ' '; }
sects=$(u8 "$bz" $((0x1f1)))
[ "$sects" -eq 0 ] && sects=4
poff=$(u32 "$bz" $((0x248)))
plen=$(u32 "$bz" $((0x24c)))
start=$(((sects + 1) * 512 + poff))
size=$(stat -c %s "$bz")
[ "$plen" -gt 0 ] && [ $((start + plen)) -le "$size" ] ||
	die "vmlinuz-$kver has a bad bzImage header (payload $start+$plen beyond $size bytes) (report a bug)"
magic=$(od -An -tx1 -j "$start" -N4 "$bz" | tr -d ' ')
case $magic in
02214c18) tail -c +$((start + 1)) "$bz" | head -c "$plen" | lz4 -dc >"$tmp/out/vmlinux" 2>/dev/null || true ;;
1f8b*) tail -c +$((start + 1)) "$bz" | head -c "$plen" | gzip -dc >"$tmp/out/vmlinux" 2>/dev/null || true ;;
28b52ffd) tail -c +$((start + 1)) "$bz" | head -c "$plen" | zstd -dc >"$tmp/out/vmlinux" 2>/dev/null || true ;;
fd377a58) tail -c +$((start + 1)) "$bz" | head -c "$plen" | xz -dc >"$tmp/out/vmlinux" 2>/dev/null || true ;;
*) die "vmlinuz-$kver uses an unknown payload compression, magic $magic (report a bug)" ;;
esac
[ "$(head -c4 "$tmp/out/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
	die "the vmlinuz-$kver payload did not decompress to an ELF vmlinux (check free space, lz4 installed)"
# PVH entry: ELF note "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY)
readelf -n "$tmp/out/vmlinux" 2>/dev/null | grep -q -E 'Xen .*(0x00000012|PHYS32_ENTRY|Unknown note type: \(0x00000012\))' ||
	die "vmlinux-$kver has no Xen PVH entry note, so it cannot boot with PVH (use a kernel built with CONFIG_PVH)"

echo "@@step 5 5 Indexing modules" >&2
[ -d "$tmp/x/lib/modules/$kver" ] || die "package linux-image-$kver has no lib/modules/$kver (set SBX_KERNEL_PACKAGE to a Debian kernel package)"
depmod -b "$tmp/x" "$kver" >&2 || die "depmod for $kver failed (see the log)"
mv "$tmp/x/lib/modules/$kver" "$tmp/out/modules"
echo "$kver" >"$tmp/out/version"
rm -rf "$tmp/x"
chmod 755 "$tmp/out"
mv -T "$tmp/out" "$out" || die "cannot move the kernel into $out (check permissions)"
echo "@@msg kernel $kver ready" >&2
echo "$out"
