#!/bin/bash
# images/initramfs.sh KERNEL_DIR SBX_INIT OUT.cpio - build the guest's initramfs: /init = sbx-init,
# the kernel modules the guest needs (+ dependencies) under /lib/modules/, /etc/sbx/modules listing
# those loaded at boot and /etc/sbx/modules-late those loaded after "ready" (Docker's), each in load
# order. Owns the initramfs layout; never touches anything but OUT.cpio
# (written to a temp file and renamed, so a reader never sees a partial archive).
set -euo pipefail
export LC_ALL=C

# Modules the guest needs, in the order sbx-init should load them (deps are added first).
# Optional ones are skipped if the kernel lacks them (or has them built in).
MODULES="virtio_mmio virtio_blk vmw_vsock_virtio_transport fuse virtiofs overlay erofs"
# Egress (issue 4): the dummy interface sbx0, and what iptables-nft needs for sbx-init's
# "nat OUTPUT -p tcp -j REDIRECT" rule (the guest root has no modules: nothing autoloads).
MODULES="$MODULES dummy nf_tables nft_compat nft_chain_nat xt_REDIRECT"
OPTIONAL="virtio_rng ${SBX_EXTRA_MODULES:-}"
# Docker (issue 5), loaded by sbx-init in the background after "ready", before it starts dockerd:
# overlay2 (overlay is above), the bridge network (bridge stp llc br_netfilter veth), docker's
# iptables rules through iptables-nft (nf_nat nf_conntrack(+netlink) nf_defrag_ipv4/6 libcrc32c
# x_tables, the xt_ matches and targets it uses via nft_compat, nft_ct for its ctstate rules),
# and xfrm for encrypted overlay networks. Those the boot set already has stay in the boot set.
LATE="br_netfilter bridge stp llc veth nf_tables nfnetlink nft_compat nft_chain_nat nf_nat"
LATE="$LATE nf_conntrack nf_conntrack_netlink nf_defrag_ipv4 nf_defrag_ipv6 libcrc32c x_tables"
LATE="$LATE xt_MASQUERADE xt_addrtype xt_conntrack xt_nat xt_tcpudp nft_ct xfrm_algo xfrm_user"

# die WHY (WHAT TO DO): the one error line, "<what failed>: <why> (<what to do>)"
die() {
	echo "@@error building the guest initramfs: $*" >&2
	exit 1
}

[ $# -eq 3 ] || die "usage: initramfs.sh KERNEL_DIR SBX_INIT OUT.cpio"
kdir=$1
init=$2
out=$3
[ -d "$kdir/modules" ] && [ -s "$kdir/version" ] ||
	die "kernel directory $kdir is incomplete, no modules/ or version (delete it and build again)"
[ -f "$init" ] && [ -x "$init" ] || die "sbx-init not found or not executable at $init (run make)"
kver=$(cat "$kdir/version")
outdir=$(dirname "$out")
mkdir -p "$outdir" || die "cannot create $outdir (check permissions and free space)"

tmp=$(mktemp -d "$outdir/.tmp-initramfs.XXXXXX") || die "cannot create a temp dir in $outdir (check permissions and free space)"
trap 'rm -rf "$tmp"' EXIT

echo "@@step 1 2 Resolving guest kernel modules" >&2
# modprobe wants <root>/lib/modules/<kver>; point one at the cached tree.
mkdir -p "$tmp/root/lib/modules"
ln -s "$(cd "$kdir/modules" && pwd -P)" "$tmp/root/lib/modules/$kver"
mroot=$tmp/root/lib/modules/$kver/

resolve() { # $1 module, $2 required(1)/optional(0)
	local line
	if ! line=$(modprobe -d "$tmp/root" -S "$kver" --show-depends "$1" 2>&1); then
		[ "$2" = 1 ] && die "kernel $kver has no module $1: ${line##*: } (delete $kdir and try again)"
		return 0
	fi
	printf '%s\n' "$line" | while read -r verb path _; do
		[ "$verb" = insmod ] || continue # "builtin x" needs nothing
		path=${path#"$mroot"}
		# CPU-specific crypto (crc32c-intel via a softdep) may not load under TCG; the
		# generic versions are built in.
		case $path in kernel/arch/x86/crypto/*) continue ;; esac
		echo "$path"
	done
}

list=$tmp/modules.list
: >"$list"
for m in $MODULES; do resolve "$m" 1 >>"$list" || exit 1; done
for m in $OPTIONAL; do resolve "$m" 0 >>"$list" || exit 1; done
# keep the first occurrence of each: dependencies come before their users
awk '!seen[$0]++' "$list" >"$list.u"
: >"$list.late"
for m in $LATE; do resolve "$m" 1 >>"$list.late" || exit 1; done
# the late list: what the boot list does not load already, again deps first
awk 'NR == FNR { seen[$0] = 1; next } !seen[$0]++' "$list.u" "$list.late" >"$list.lu"

echo "@@step 2 2 Packing initramfs" >&2
r=$tmp/cpio
mkdir -p "$r"/{dev,proc,sys,mnt,run,newroot,etc/sbx,lib/modules}
install -m 0755 "$init" "$r/init"
n=0
while read -r path; do
	[ -f "$kdir/modules/$path" ] || die "module file $path missing from $kdir/modules (delete $kdir and try again)"
	mkdir -p "$r/lib/modules/$(dirname "$path")"
	cp "$kdir/modules/$path" "$r/lib/modules/$path"
	n=$((n + 1))
done < <(cat "$list.u" "$list.lu")
cp "$list.u" "$r/etc/sbx/modules"
cp "$list.lu" "$r/etc/sbx/modules-late"
echo "$kver" >"$r/etc/sbx/kernel"
(cd "$r" && find . -mindepth 1 | sort | cpio -o -H newc --owner=0:0 --reproducible --quiet) \
	>"$tmp/out.cpio" || die "cpio failed writing into $outdir (free some space)"
chmod 644 "$tmp/out.cpio"
mv -f "$tmp/out.cpio" "$out" || die "cannot move the initramfs into $out (check permissions)"
echo "@@msg initramfs with $n modules ($(wc -l <"$list.lu") loaded late) for $kver" >&2
echo "$out"
