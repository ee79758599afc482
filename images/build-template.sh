#!/bin/bash
# images/build-template.sh NAME OUTDIR [--force] - build template NAME from the recipe
# images/templates/NAME.conf into OUTDIR/{rootfs.img,meta.json} (erofs, lz4hc) with mmdebstrap;
# an existing build is kept (and printed) unless --force.
# Owns template building. Never leaves partial output: it builds in a temp dir beside OUTDIR
# and renames it into place; never touches the host system (everything happens in the image).
# Progress: "@@step I N text", "@@count DONE TOTAL", "@@msg text", "@@error text" on stderr.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
NSTEPS=6

die() {
	echo "@@error $*" >&2
	exit 1
}

# --- in-image setup, called back by mmdebstrap's customize hook: --customize ROOT ----------
if [ "${1:-}" = --customize ]; then
	root=$2
	name=$SBX_TPL_NAME
	# shellcheck source=/dev/null
	. "$SBX_TPL_RECIPE"
	echo "@@step 5 $NSTEPS Setting up the image" >&2
	chroot "$root" groupadd -g 1000 agent &&
		chroot "$root" useradd -u 1000 -g 1000 -m -d /home/agent -s /bin/bash -c "sbx agent" agent ||
		die "building template $name: cannot create the user agent (see the log)"
	mkdir -p "$root/etc/sudoers.d"
	printf 'agent ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/agent"
	chmod 0440 "$root/etc/sudoers.d/agent"
	echo "sbx" >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
	printf 'LANG=C.UTF-8\n' >"$root/etc/default/locale"
	printf 'export LANG=C.UTF-8\n' >"$root/etc/profile.d/sbx-locale.sh"
	: >"$root/etc/machine-id"
	# no fsync was needed while building (the image is packed afterwards); a sandbox's dpkg
	# should sync again. The path-excludes stay: docs and man pages stay out later too.
	sed -i '/^force-unsafe-io$/d' "$root/etc/dpkg/dpkg.cfg.d/99mmdebstrap" 2>/dev/null || true
	rm -f "$root"/var/cache/apt/*.bin "$root"/var/log/apt/* "$root"/var/log/dpkg.log
	if declare -F template_setup >/dev/null; then
		template_setup "$root"
	fi
	# package versions for meta.json
	chroot "$root" dpkg-query -W -f '${Package}\t${Version}\n' "${META_PACKAGES[@]}" \
		>"$SBX_TPL_WORK/versions" 2>/dev/null || true
	echo "@@step 6 $NSTEPS Packing rootfs.img" >&2
	# pack a non-recursive bind mount of the root: the /proc, /sys and /dev/pts mmdebstrap
	# mounted in the chroot are not part of the image
	view=$SBX_TPL_WORK/view
	mkdir -p "$view"
	mount --bind "$root" "$view" || die "building template $name: cannot bind-mount the image root (see the log)"
	rc=0
	# mmdebstrap's own cleanup (apt lists and cache, its apt config) runs after this hook,
	# so leave those out of the image here
	mkfs.erofs -zlz4hc \
		--exclude-regex='^(proc|sys|dev|tmp|var/tmp)/.' \
		--exclude-regex='^var/cache/apt/(archives/.+\.deb|archives/partial/.|.*\.bin$)' \
		--exclude-regex='^var/lib/apt/lists/.' \
		--exclude-regex='^etc/apt/apt\.conf\.d/00mmdebstrap$' \
		--exclude-regex='^var/log/(dpkg\.log|alternatives\.log|apt/.)' \
		"$SBX_TPL_WORK/out/rootfs.img" "$view" >&2 || rc=$?
	umount "$view" || umount -l "$view" || true
	if [ "$rc" -ne 0 ]; then
		die "building template $name: mkfs.erofs failed with status $rc (see the log; free some space if the disk is full)"
	fi
	exit 0
fi

# --- main ---------------------------------------------------------------------------------
if [ $# -lt 2 ] || [ $# -gt 3 ] || { [ $# -eq 3 ] && [ "$3" != --force ]; }; then
	die "usage: build-template.sh NAME OUTDIR [--force]"
fi
name=$1
outdir=$2
force=${3:-}
case $name in
'' | *[!a-z0-9_-]*) die "building template '$name': invalid name (use lowercase letters, digits, - and _)" ;;
esac
recipe=$here/templates/$name.conf
[ -f "$recipe" ] || die "building template $name: no recipe $recipe (known: $(cd "$here/templates" && ls *.conf 2>/dev/null | sed 's/\.conf$//' | paste -sd ' '))"
# shellcheck source=/dev/null
. "$recipe"
[ "${#PACKAGES[@]}" -gt 0 ] || die "building template $name: recipe $recipe sets no PACKAGES"
for tool in mmdebstrap mkfs.erofs; do
	command -v "$tool" >/dev/null || die "building template $name: $tool not found (apt-get install mmdebstrap erofs-utils)"
done

parent=$(dirname "$outdir")
mkdir -p "$parent" || die "building template $name: cannot create $parent"
parent=$(cd "$parent" && pwd -P)
outdir=$parent/$(basename "$outdir")

if [ "$(id -u)" = 0 ]; then
	mode=root
else
	mode=unshare
	if ! command -v newuidmap >/dev/null; then
		die "building template $name: unprivileged builds need newuidmap (apt-get install uidmap, or build as root)"
	fi
	if ! grep -q "^$(id -un):" /etc/subuid 2>/dev/null; then
		die "building template $name: unprivileged builds need subordinate ids for $(id -un) in /etc/subuid and /etc/subgid (run: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un), or build as root)"
	fi
fi

exec 9>"$parent/.lock-$name"
flock -w 1800 9 || die "building template $name: another build holds $parent/.lock-$name (wait for it to finish)"
# another caller may have built it while we waited for the lock
if [ -z "$force" ] && [ -s "$outdir/rootfs.img" ] && [ -s "$outdir/meta.json" ]; then
	echo "$outdir"
	exit 0
fi

work=$(mktemp -d "$parent/.tmp-$name.XXXXXX") || die "building template $name: cannot create a temp dir in $parent (free some space)"
chmod 755 "$work"
cleanup() {
	# an interrupted mmdebstrap can leave /proc, /sys, /dev/pts mounted in its chroot:
	# unmount those first, and never let rm cross into another filesystem
	local m
	if [ "$mode" = root ]; then
		awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
	fi
	rm -rf --one-file-system "$work" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir "$work/out" "$work/tmp"
chmod 1777 "$work/tmp"

enospc() {
	local avail
	cleanup
	avail=$(df -Pk "$parent" 2>/dev/null | awk 'NR==2 {print int($4 / 1024)}')
	die "building template $name: no space left on device in $parent (${avail:-?} MiB free, about 1 GiB needed while building; free some space)"
}

start=$(date +%s)
echo "@@step 1 $NSTEPS Resolving packages" >&2
pkgs=$(
	IFS=,
	echo "${PACKAGES[*]}"
)
export SBX_TPL_NAME=$name SBX_TPL_RECIPE=$recipe SBX_TPL_WORK=$work
# mmdebstrap -v prints apt's and dpkg's lines; turn them into progress:
#   "N newly installed" starts a phase and gives its total, "Get:" counts downloads,
#   "Unpacking X" counts installs, "Setting up X" counts configuration.
set +e
TMPDIR=$work/tmp mmdebstrap --verbose --mode="$mode" --variant=minbase \
	--include="$pkgs" \
	--dpkgopt='force-unsafe-io' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--dpkgopt='path-exclude=/usr/share/lintian/*' \
	--aptopt='Acquire::Languages "none"' \
	--aptopt='APT::Install-Recommends "false"' \
	--customize-hook="bash \"$here/build-template.sh\" --customize \"\$1\"" \
	bookworm /dev/null 2>&1 | awk -v n="$NSTEPS" -v flag="$work/enospc" '
	function step(i, t) { if (i > cur) { cur = i; print "@@step " i " " n " " t; fflush() } }
	function count(d) { if (total) { print "@@count " d " " total; fflush() } }
	{ print; fflush() }
	# phase 1 is the essential set (apt downloads, dpkg installs), phase 2 the rest
	/newly installed/ { phase++; total = $3 + 0; got = unp = set = 0 }
	phase == 1 && /^Get:[0-9]+ / { step(2, "Installing the base system"); count(int(++got / 3)) }
	phase == 1 && /^Unpacking / { step(2, "Installing the base system"); count(int((total + ++unp) / 3)) }
	phase == 1 && /^Setting up / { step(2, "Installing the base system"); count(int((2 * total + ++set) / 3)) }
	phase >= 2 && /^Get:[0-9]+ / { step(3, "Downloading packages"); count(++got) }
	# apt interleaves unpacking and configuring: count both, half each
	phase >= 2 && /^Unpacking / { step(4, "Installing packages"); count(int((++unp + set) / 2)) }
	phase >= 2 && /^Setting up / { step(4, "Installing packages"); count(int((unp + ++set) / 2)) }
	/No space left on device/ { printf "" > flag }
	/^@@error / { print substr($0, 9) > (flag ".error"); fflush(flag ".error") }
	# the first apt/mmdebstrap error names the cause ("Unable to locate package x")
	/^E: .*--customize/ { printf "" > (flag ".hook"); next }
	/^E: / && !apterr { apterr = 1; print substr($0, 4) > (flag ".apt"); fflush(flag ".apt") }
	/^@@step / { cur = $2 + 0 }
	' >&2
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
	avail=$(df -Pk "$parent" 2>/dev/null | awk 'NR==2 {print $4}')
	if [ -e "$work/enospc" ] || [ "${avail:-1000000}" -lt 65536 ]; then
		enospc
	fi
	if [ -s "$work/enospc.error" ]; then # the hook's own error says more
		die "$(tail -n 1 "$work/enospc.error")"
	fi
	if [ -e "$work/enospc.hook" ]; then
		die "building template $name: setting up the image failed (see the log; check the recipe $recipe)"
	fi
	if [ -s "$work/enospc.apt" ]; then
		die "building template $name: $(head -n 1 "$work/enospc.apt") (see the log; check the recipe $recipe)"
	fi
	die "building template $name: mmdebstrap failed with status $rc (see the log; check access to deb.debian.org)"
fi
[ -s "$work/out/rootfs.img" ] || die "building template $name: no rootfs.img was produced (see the log)"

# meta.json
size=$(stat -c %s "$work/out/rootfs.img")
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
{
	printf '{\n  "name": "%s",\n  "built_at": "%s",\n  "size_bytes": %s,\n' "$name" "$built" "$size"
	printf '  "build_seconds": %s,\n  "suite": "bookworm",\n  "packages": {' "$(($(date +%s) - start))"
	sep=""
	while IFS=$'\t' read -r p v; do
		[ -n "$p" ] || continue
		printf '%s\n    "%s": "%s"' "$sep" "$p" "$v"
		sep=","
	done <"$work/versions"
	printf '\n  }\n}\n'
} >"$work/out/meta.json" || enospc
chmod 755 "$work/out"
chmod 644 "$work/out/rootfs.img" "$work/out/meta.json"

# swap into place; an old build (--force) is removed only after the new one is in
if [ -e "$outdir" ]; then
	mv -T "$outdir" "$work/old" || die "building template $name: cannot move the old $outdir aside"
fi
mv -T "$work/out" "$outdir" || die "building template $name: cannot move the new build into $outdir"
echo "@@msg template $name: $((size / 1048576)) MiB in $(($(date +%s) - start)) s" >&2
echo "$outdir"
