#!/usr/bin/env bash
# End-to-end test of the guest boot assets: `sbx template build shell` fetches the kernel,
# builds the initramfs and the shell template into $SBX_CACHE_DIR (default: a temp dir), then
# checks each artefact, boots the kernel with the initramfs' modules to mount the erofs image,
# and checks `template ls/rm` and the failure lines. Then one agent template ($SBX_E2E_AGENT,
# default claude: ~2 min more the first time, cached after): its CLI from npm in the image, the
# pinned version in meta.json, and, on a copy of the recipes, that a recipe change makes it
# outdated and a failing rebuild keeps the old build. Cleans up everything it starts.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
top=$PWD
SBX=${SBX:-$top/build/sbx}
tmp=$(mktemp -d /tmp/sbximages.XXXXXX)
export SBX_HOME=$tmp/h
if [[ -z ${SBX_CACHE_DIR:-} ]]; then
	export SBX_CACHE_DIR=$tmp/cache
fi
cache=$SBX_CACHE_DIR
fails=0
mnt=""

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1${2:+: $2}"
	fails=$((fails + 1))
}
check() { # check <name> <cmd...>: PASS if the command succeeds
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi
}

cleanup() {
	[[ -n $mnt ]] && umount "$mnt" 2>/dev/null
	# the agent check's mounts (/dev is the host's: never remove anything while it is mounted)
	for m in "$tmp/aroot/dev" "$tmp/aroot/proc" "$tmp/aroot"; do umount "$m" 2>/dev/null; done
	[[ -n ${amnt:-} ]] && umount "$amnt" 2>/dev/null
	# QEMU started by this test names $tmp on its command line
	for d in /proc/[0-9]*; do
		if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF "$tmp/"; then
			kill -9 "${d#/proc/}" 2>/dev/null
		fi
	done
	if grep -qF " $tmp/" /proc/self/mounts; then
		echo "cleanup: mounts left under $tmp, not removing it" >&2
	else
		rm -rf --one-file-system "$tmp"
	fi
	rm -rf "$cache/templates/e2e-fake" "$cache/templates/e2e-fake2"
	rm -f "$cache/templates/.lock-e2e-fake" "$cache/templates/.lock-e2e-fake2"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -x $SBX ]]; then
	fail build "no $SBX (run make)"
	exit 1
fi

# --- build everything (or find it cached) ------------------------------------------------
start=$(date +%s)
timeout 1800 "$SBX" template build shell >"$tmp/build.out" 2>"$tmp/build.err"
rc=$?
if [[ $rc -ne 0 ]]; then
	fail template-build "exit $rc: $(tail -n 5 "$tmp/build.err")"
	exit 1
fi
pass template-build
echo "build took $(($(date +%s) - start)) s" >&2

kdir=$(ls -d "$cache"/kernel/*/ 2>/dev/null | sort -V | tail -n 1)
kdir=${kdir%/}
vmlinux=$kdir/vmlinux
# the initramfs made for this build's sbx-init (the cache may hold others)
cpio_file=""
for f in "$cache"/initramfs/*.cpio; do
	if cpio -i --quiet --to-stdout init <"$f" 2>/dev/null | cmp -s - "$top/build/lib/sbx/sbx-init"; then
		cpio_file=$f
	fi
done
tdir=$cache/templates/shell
img=$tdir/rootfs.img

# --- kernel ------------------------------------------------------------------------------
if [[ -f $vmlinux && "$(head -c 4 "$vmlinux" | od -An -tx1 | tr -d ' ')" == 7f454c46 ]]; then
	pass kernel-elf
else
	fail kernel-elf "no ELF vmlinux in $kdir"
fi
if readelf -n "$vmlinux" 2>/dev/null | grep -qE 'Xen .*0x00000012'; then
	pass kernel-pvh-note
else
	fail kernel-pvh-note "no XEN_ELFNOTE_PHYS32_ENTRY in $vmlinux"
fi
kver=$(cat "$kdir/version" 2>/dev/null)
check kernel-modules-indexed test -s "$kdir/modules/modules.dep" -a -n "$kver"

# --- initramfs -----------------------------------------------------------------------------
if [[ -f $cpio_file ]]; then
	cpio -it --quiet <"$cpio_file" >"$tmp/cpio.list" 2>/dev/null
	check initramfs-has-init grep -qx init "$tmp/cpio.list"
	check initramfs-has-module-list grep -qx etc/sbx/modules "$tmp/cpio.list"
	mkdir -p "$tmp/ir"
	(cd "$tmp/ir" && cpio -id --quiet <"$cpio_file") 2>/dev/null
	missing=""
	n=0
	while read -r m; do
		n=$((n + 1))
		[[ -f $tmp/ir/lib/modules/$m ]] || missing="$missing $m"
	done <"$tmp/ir/etc/sbx/modules"
	if [[ -z $missing && $n -ge 8 ]]; then
		pass initramfs-modules-present
	else
		fail initramfs-modules-present "$n listed, missing:$missing"
	fi
	for m in virtio_mmio virtio_blk vmw_vsock_virtio_transport virtiofs overlay erofs; do
		grep -q "/$m.ko$" "$tmp/ir/etc/sbx/modules" || missing="$missing $m"
	done
	# dependencies first: virtio before virtio_mmio, vsock before its transport
	order=$(grep -nE '/(virtio|virtio_mmio|vsock|vmw_vsock_virtio_transport)\.ko$' \
		"$tmp/ir/etc/sbx/modules" | sed 's|:.*/| |; s|\.ko$||' | awk '{print $2}' | tr '\n' ' ')
	if [[ -z $missing && $order == "virtio virtio_mmio vsock vmw_vsock_virtio_transport " ]]; then
		pass initramfs-module-order
	else
		fail initramfs-module-order "missing:$missing order: $order"
	fi
else
	fail initramfs "no .cpio with this build's sbx-init in $cache/initramfs"
fi

# --- template image ------------------------------------------------------------------------
# erofs superblock magic 0xE0F5E1E2 at offset 1024
if [[ -f $img && "$(od -An -tx1 -j 1024 -N 4 "$img" | tr -d ' ')" == e2e1f5e0 ]]; then
	pass rootfs-erofs
else
	fail rootfs-erofs "$img is not erofs"
fi
for f in /usr/bin/git /usr/bin/node /usr/bin/npm /usr/bin/python3 /usr/bin/gcc /usr/bin/sudo /home/agent; do
	if dump.erofs --path="$f" "$img" >/dev/null 2>&1; then
		pass "rootfs-has-$(basename "$f")"
	else
		fail "rootfs-has-$(basename "$f")"
	fi
done
# read /etc/passwd and sudoers: mount the image if we can, else extract it
root_view=""
if [[ $(id -u) == 0 ]] && mkdir -p "$tmp/mnt" && mount -t erofs -o loop,ro "$img" "$tmp/mnt" 2>/dev/null; then
	mnt=$tmp/mnt
	root_view=$mnt
elif fsck.erofs --extract="$tmp/x" "$img" >/dev/null 2>&1; then
	root_view=$tmp/x
fi
if [[ -n $root_view ]]; then
	check rootfs-agent-uid-1000 grep -qE '^agent:x:1000:1000:[^:]*:/home/agent:/bin/bash$' "$root_view/etc/passwd"
	check rootfs-agent-sudo grep -q 'agent ALL=(ALL:ALL) NOPASSWD: ALL' "$root_view/etc/sudoers.d/agent"
	check rootfs-hosts grep -qE '^127\.0\.0\.1[[:space:]]+localhost' "$root_view/etc/hosts"
	if [[ $(stat -c %u "$root_view/home/agent") == 1000 ]]; then
		pass rootfs-home-owned-by-agent
	else
		fail rootfs-home-owned-by-agent "owner $(stat -c %u "$root_view/home/agent")"
	fi
	[[ -n $mnt ]] && umount "$mnt" && mnt=""
else
	fail rootfs-readable "cannot mount or extract $img"
fi

if python3 - "$tdir/meta.json" "$img" <<'EOF' 2>"$tmp/meta.err"; then
import json, os, sys
m = json.load(open(sys.argv[1]))
assert m["name"] == "shell", m["name"]
assert m["size_bytes"] == os.path.getsize(sys.argv[2]), "size_bytes"
assert m["built_at"].endswith("Z") and "T" in m["built_at"], m["built_at"]
for p in ("bash", "git", "python3", "nodejs", "npm", "gcc"):
    assert m["packages"].get(p), "package " + p
EOF
	pass meta-json
else
	fail meta-json "$(tail -n 1 "$tmp/meta.err")"
fi
echo "rootfs.img $(($(stat -c %s "$img") / 1048576)) MiB" >&2

# --- boot: the guest kernel loads the initramfs' modules and mounts the erofs image --------
# Same initramfs contents, but /init is a busybox script (sbx-init's own tests boot sbx-init).
bb=$(command -v busybox || echo /bin/busybox)
if [[ -x $bb ]] && file -L "$bb" | grep -q 'statically linked' && [[ -d $tmp/ir ]]; then
	rm -f "$tmp/ir/init"
	mkdir -p "$tmp/ir/bin"
	cp "$bb" "$tmp/ir/bin/busybox"
	cat >"$tmp/ir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
while read -r m; do /bin/busybox insmod "/lib/modules/$m" || echo "INSMOD-FAIL $m"; done </etc/sbx/modules
/bin/busybox sleep 0.5
if /bin/busybox mount -t erofs -o ro /dev/vda /newroot; then
	[ -x /newroot/usr/bin/git ] && echo "SBX-E2E-GIT-OK"
	/bin/busybox grep -q '^agent:x:1000:' /newroot/etc/passwd && echo "SBX-E2E-PASSWD-OK"
fi
/bin/busybox grep -q vsock /proc/modules && echo "SBX-E2E-VSOCK-OK"
echo "SBX-E2E-DONE"
/bin/busybox poweroff -f
EOF
	chmod 755 "$tmp/ir/init"
	(cd "$tmp/ir" && find . | cpio -o -H newc --quiet >"$tmp/boot.cpio")
	K=$(awk '/cpu MHz/{printf "%d", $4*1000; exit}' /proc/cpuinfo)
	timeout 90 qemu-system-x86_64 -M microvm,acpi=on -accel tcg -m 512 -smp 1 -nodefaults \
		-no-user-config -nographic -serial "file:$tmp/console.log" -no-reboot \
		-kernel "$vmlinux" -initrd "$tmp/boot.cpio" \
		-append "console=ttyS0 reboot=t panic=-1 pci=off tsc_early_khz=$K lpj=$((K * 4)) tsc=reliable quiet" \
		-global virtio-mmio.force-legacy=false \
		-drive "file=$img,if=none,id=d0,format=raw,readonly=on" \
		-device virtio-blk-device,drive=d0,serial=sbx-base >"$tmp/qemu.out" 2>&1
	if grep -q SBX-E2E-DONE "$tmp/console.log" 2>/dev/null; then
		pass boot-guest
		if grep -q INSMOD-FAIL "$tmp/console.log"; then
			fail boot-modules-load "$(grep INSMOD-FAIL "$tmp/console.log" | tr '\n' ' ')"
		else
			pass boot-modules-load
		fi
		check boot-erofs-mount grep -q SBX-E2E-GIT-OK "$tmp/console.log"
		check boot-erofs-passwd grep -q SBX-E2E-PASSWD-OK "$tmp/console.log"
		check boot-vsock-loaded grep -q SBX-E2E-VSOCK-OK "$tmp/console.log"
	else
		fail boot-guest "no marker; console: $(tail -n 5 "$tmp/console.log" 2>/dev/null | tr '\n' ' ')"
	fi
else
	echo "SKIP boot-guest (no static busybox)"
fi

# --- a second ensure is a no-op --------------------------------------------------------------
mtime=$(stat -c %Y "$img")
t0=$(date +%s%N)
"$SBX" template build shell >"$tmp/again.out" 2>"$tmp/again.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [[ $rc -eq 0 && $ms -lt 3000 && $(stat -c %Y "$img") == "$mtime" ]]; then
	pass ensure-again-is-noop
else
	fail ensure-again-is-noop "rc $rc, $ms ms, image mtime $(stat -c %Y "$img") vs $mtime"
fi
echo "second ensure: $ms ms" >&2

# --- template ls / rm -----------------------------------------------------------------------
"$SBX" template ls >"$tmp/ls.out" 2>&1
if head -n 1 "$tmp/ls.out" | grep -qE '^NAME +STATUS +SIZE +BUILT +TIME +AGENT$' &&
	grep -qE '^shell +ready +[0-9.]+ (MiB|GiB) +(just now|[0-9]+ (minute|hour|day)s? ago) +[0-9]+m[0-5][0-9]s +-$' "$tmp/ls.out" &&
	grep -qE '^claude +(not built|ready|outdated) +.* @anthropic-ai/claude-code(@[0-9.]+)?$' "$tmp/ls.out"; then
	pass template-ls
else
	fail template-ls "$(cat "$tmp/ls.out")"
fi
"$SBX" template ls --json >"$tmp/ls.json" 2>&1
if python3 -c '
import json, sys
v = {t["name"]: t for t in json.load(open(sys.argv[1]))}
s = v["shell"]
assert s["built"] and s["size_bytes"] > 10**7 and s["status"] == "ready", s
assert s["recipe_sha256"] == s["recipe_sha256_current"] and len(s["recipe_sha256"]) == 64, s
assert s["packages"]["bash"] and s["build_seconds"] > 0, s
for a in ("claude", "codex", "gemini", "copilot", "opencode"):
    assert v[a]["recipe"] and v[a]["base"] == "shell" and v[a]["agent"]["package"], v[a]
' "$tmp/ls.json" 2>/dev/null; then
	pass template-ls-json
else
	fail template-ls-json "$(head -c 300 "$tmp/ls.json")"
fi

mkdir -p "$cache/templates/e2e-fake"
echo img >"$cache/templates/e2e-fake/rootfs.img"
echo '{"name":"e2e-fake","built_at":"2026-01-01T00:00:00Z","size_bytes":4}' >"$cache/templates/e2e-fake/meta.json"
if "$SBX" template ls | grep -qE '^e2e-fake +ready +4 B +[0-9]+ days? ago +- +-$'; then
	pass template-ls-lists-built
else
	fail template-ls-lists-built "$("$SBX" template ls 2>&1)"
fi
if "$SBX" template rm e2e-fake >/dev/null 2>&1 && [[ ! -e $cache/templates/e2e-fake ]] &&
	! "$SBX" template ls | grep -q e2e-fake; then
	pass template-rm
else
	fail template-rm
fi
check template-still-there test -s "$img"

# --- an agent template: shell + the agent's CLI from npm, its version pinned in meta.json ----
agent=${SBX_E2E_AGENT:-claude}
arecipe=$top/build/lib/sbx/images/templates/$agent.conf
apkg=$(sed -n 's/^AGENT_NPM=//p' "$arecipe" | tr -d "\"'")
acli=$(sed -n 's/^AGENT_COMMAND=(\([^ )]*\).*/\1/p' "$arecipe")
adir=$cache/templates/$agent
start=$(date +%s)
timeout 1800 "$SBX" template build "$agent" >"$tmp/abuild.out" 2>"$tmp/abuild.err"
rc=$?
if [[ $rc -eq 0 && -s $adir/rootfs.img ]]; then
	pass agent-template-build
else
	fail agent-template-build "exit $rc: $(tail -n 3 "$tmp/abuild.err")"
fi
echo "$agent template: $(($(date +%s) - start)) s here, $(($(stat -c %s "$adir/rootfs.img" 2>/dev/null || echo 0) / 1048576)) MiB" >&2
rsha=$(bash "$top/build/lib/sbx/images/build-template.sh" --recipe-sha256 "$agent")
if python3 - "$adir/meta.json" "$agent" "$apkg" "$acli" "$rsha" <<'EOF' 2>"$tmp/ameta.err"; then
import json, re, sys
m = json.load(open(sys.argv[1]))
name, pkg, cli, rsha = sys.argv[2:6]
assert m["name"] == name and m["base"] == "shell", (m["name"], m.get("base"))
a = m["agent"]
assert a["package"] == pkg, a
assert re.fullmatch(r"\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?", a["version"]), a
assert a["command"][0] == cli, a
assert m["recipe_sha256"] == rsha, (m["recipe_sha256"], rsha)
assert sorted(m["recipe_files"]) == sorted(["build-template.sh", "templates/shell.conf",
                                            "templates/%s.conf" % name]), m["recipe_files"]
assert m["packages"]["nodejs"] and m["build_seconds"] > 0
EOF
	pass agent-meta-json
else
	fail agent-meta-json "$(tail -n 1 "$tmp/ameta.err")"
fi
aver=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent"]["version"])' "$adir/meta.json" 2>/dev/null)
anode=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent"].get("node", ""))' "$adir/meta.json" 2>/dev/null)
# the CLI is in the image at the pinned version (with the Node.js it was given), and runs
amnt=""
if [[ $(id -u) == 0 ]] && mkdir -p "$tmp/amnt" && mount -t erofs -o loop,ro "$adir/rootfs.img" "$tmp/amnt" 2>/dev/null; then
	amnt=$tmp/amnt
	pj=$amnt/usr/local/lib/node_modules/$apkg/package.json
	if [[ -x $amnt/usr/local/bin/$acli ]] &&
		[[ $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$pj" 2>/dev/null) == "$aver" ]]; then
		pass agent-cli-in-image
	else
		fail agent-cli-in-image "no executable /usr/local/bin/$acli, or $pj is not version $aver"
	fi
	if [[ -z $anode ]] || [[ "$(chroot "$amnt" /usr/local/bin/node --version 2>/dev/null)" == "v$anode" ]]; then
		pass agent-node-version
	else
		fail agent-node-version "node in the image is not v$anode"
	fi
	# user agent can start it (as `sbx run` will), on a writable overlay with /proc and /dev as
	# in a sandbox (opencode's Bun binary crashes without /dev)
	mkdir -p "$tmp/aup" "$tmp/awork" "$tmp/aroot"
	if mount -t overlay overlay -o "lowerdir=$amnt,upperdir=$tmp/aup,workdir=$tmp/awork" "$tmp/aroot" &&
		mount -t proc proc "$tmp/aroot/proc" && mount --bind /dev "$tmp/aroot/dev"; then
		chmod 1777 "$tmp/aroot/tmp"
		if out=$(timeout 120 chroot --userspec=1000:1000 "$tmp/aroot" /usr/bin/env -i HOME=/home/agent \
			PATH=/usr/local/bin:/usr/bin:/bin "$acli" --version 2>&1 </dev/null); then
			pass agent-cli-runs
		else
			fail agent-cli-runs "$acli --version as agent: $(echo "$out" | tail -n 1)"
		fi
		umount "$tmp/aroot/dev" "$tmp/aroot/proc" "$tmp/aroot"
	else
		fail agent-cli-runs "cannot mount an overlay on the image"
	fi
	umount "$amnt" && amnt=""
else
	echo "SKIP agent-cli-in-image (cannot mount erofs)"
fi
"$SBX" template ls >"$tmp/als.out" 2>&1
if grep -qE "^$agent +ready +[0-9.]+ (MiB|GiB) +.* +[0-9]+m[0-5][0-9]s +$apkg@$aver\$" "$tmp/als.out"; then
	pass agent-template-ls
else
	fail agent-template-ls "$(grep "^$agent " "$tmp/als.out")"
fi

# recipe changes, on a copy of the recipes and of the built template (hard links: builds
# only ever rename, never write into an image): the base changing makes the agent outdated
alib=$tmp/alib
acache=$tmp/acache
mkdir -p "$alib" "$acache/templates"
cp -r "$top/build/lib/sbx/images" "$alib/images"
cp "$top/build/lib/sbx/sbx-init" "$alib/sbx-init"
ln -s "$cache/kernel" "$acache/kernel"
cp -al "$adir" "$acache/templates/$agent" 2>/dev/null || cp -a "$adir" "$acache/templates/$agent"
als() { SBX_LIBDIR=$alib SBX_CACHE_DIR=$acache "$SBX" template ls | awk -v n="$agent" '$1 == n {print $2}'; }
check recipe-copy-ready test "$(als)" == ready
echo "# a local edit" >>"$alib/images/templates/shell.conf"
check recipe-change-outdated test "$(als)" == outdated
if SBX_LIBDIR=$alib SBX_CACHE_DIR=$acache "$SBX" template ls --json | python3 -c '
import json, sys
t = {x["name"]: x for x in json.load(sys.stdin)}[sys.argv[1]]
assert t["status"] == "outdated" and t["recipe_sha256"] != t["recipe_sha256_current"]
' "$agent" 2>/dev/null; then
	pass recipe-change-outdated-json
else
	fail recipe-change-outdated-json
fi
# a rebuild that fails keeps the previous (outdated) build, whole
echo 'PACKAGES+=(no-such-package-sbx-e2e)' >>"$alib/images/templates/$agent.conf"
ino=$(stat -c %i "$acache/templates/$agent/rootfs.img")
SBX_LIBDIR=$alib SBX_CACHE_DIR=$acache timeout 900 "$SBX" template build "$agent" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [[ $rc -ne 0 ]] && tail -n 1 "$tmp/err" | grep -q "^sbx: building template $agent: Unable to locate package no-such-package-sbx-e2e" &&
	grep -q 'Rebuilding template' "$tmp/err" &&
	[[ $(stat -c %i "$acache/templates/$agent/rootfs.img") == "$ino" && -s $acache/templates/$agent/meta.json ]] &&
	! ls -d "$acache/templates/.tmp-$agent".* >/dev/null 2>&1 && [[ $(als) == outdated ]]; then
	pass failed-rebuild-keeps-old
else
	fail failed-rebuild-keeps-old "rc $rc, status $(als): $(tail -n 2 "$tmp/err")"
fi

# --- bad input: non-zero exit, one line ------------------------------------------------------
bad() { # bad <name> <expected text> <cmd...>
	local name=$1 want=$2 rc lines
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [[ $rc -eq 0 ]]; then
		fail "$name" "exit 0"
	elif [[ $lines -ne 1 ]]; then
		fail "$name" "$lines stderr lines: $(head -c 300 "$tmp/err")"
	elif ! grep -q "^sbx: .*$want" "$tmp/err"; then
		fail "$name" "stderr was: $(cat "$tmp/err")"
	else
		pass "$name"
	fi
}
bad build-unknown-recipe "unknown template 'nosuch'" "$SBX" template build nosuch
bad build-bad-name "invalid name" "$SBX" template build ../etc
bad rm-unknown "unknown template 'nosuch'" "$SBX" template rm nosuch
bad rm-missing-name "missing template NAME" "$SBX" template rm
bad template-bad-command "unknown command 'frob'" "$SBX" template frob
# a recipe that cannot build: the script's one line, after the log tail, and no output left
mkdir -p "$tmp/lib/images/templates"
cp -r "$top/build/lib/sbx/images/." "$tmp/lib/images/"
cp "$top/build/lib/sbx/sbx-init" "$tmp/lib/sbx-init"
printf 'PACKAGES=(no-such-package-sbx-e2e)\nMETA_PACKAGES=(bash)\n' >"$tmp/lib/images/templates/e2e-fake2.conf"
SBX_LIBDIR=$tmp/lib timeout 600 "$SBX" template build e2e-fake2 >"$tmp/out" 2>"$tmp/err"
rc=$?
if [[ $rc -ne 0 ]] && tail -n 1 "$tmp/err" | grep -q '^sbx: building template e2e-fake2: Unable to locate package no-such-package-sbx-e2e ' &&
	[[ ! -e $cache/templates/e2e-fake2 ]] && ! ls -d "$cache"/templates/.tmp-e2e-fake2* >/dev/null 2>&1; then
	pass build-failure-clean
else
	fail build-failure-clean "rc $rc: $(tail -n 2 "$tmp/err")"
fi
check build-failure-log test -s "$cache/templates/.build-e2e-fake2.log"
rm -f "$cache/templates/.build-e2e-fake2.log" "$cache/templates/.lock-e2e-fake2"

echo "$fails failed" >&2
[[ $fails -eq 0 ]]
