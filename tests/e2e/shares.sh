#!/usr/bin/env bash
# End-to-end test of shares (our virtio-fs device through sbx-vhost, QEMU and sbx-init): the
# bad-input lines first (no VM), then ONE sandbox with the workspace and a :ro extra share:
# same absolute path, coherence both ways within 1 s, mkdir/rename/rm both ways, git, make,
# npm install of a local tarball, read-only enforced by the host, file ownership, symlinks
# that point out of the share, a single read-only file (and nothing else of its directory),
# stop/start; last a sandbox made through the API without mounts.
# Cleans up every process and file it starts, also on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/sandbox.bash
sbx_test_init sbxshares


# expect <name> <want> <got>

# api <method> <path> [json]: sets $code, body in $tmp/api
api() {
	code=$(curl -s -o "$tmp/api" -w '%{http_code}' --unix-socket "$SBX_HOME/run/sbxd.sock" \
		-X "$1" ${3:+-H 'Content-Type: application/json' -d "$3"} "http://sbx$2")
}

ms() { date +%s%3N; }

sbx_test_need_sbx shares
ws=$tmp/ws
docs=$tmp/docs
mkdir -p "$ws/sub" "$docs"
echo "read me" >"$docs/readme"
echo "file" >"$tmp/afile"
# a single file shared read-only, beside a sibling that must stay invisible
cfgd=$tmp/cfg
mkdir -p "$cfgd"
echo "gitconfig-v1" >"$cfgd/gitconfig"
echo "sibling-secret-$$" >"$cfgd/sibling"
# shares named by symlinks (a linked project directory, a dotfile kept in a dotfiles repo) are
# mounted at the link's path and serve what it points to
mkdir -p "$tmp/realdir" "$tmp/dotfiles"
echo "through-the-link" >"$tmp/realdir/f"
ln -s realdir "$tmp/linkdir"
echo "dotrc-content" >"$tmp/dotfiles/dotrc"
ln -s dotfiles/dotrc "$tmp/.dotrc"

# ---- bad input, no VM ----
bad share-missing "share $tmp/nope: No such file or directory" "$SBX" create shell "$ws" "$tmp/nope:ro"
"$SBX" version >/dev/null 2>&1 || {
	fail sbxd-start "$(tail -n 3 "$SBX_HOME/data/sbxd.log" 2>/dev/null)"
	exit 1
}
bad share-file-needs-ro "bad mount $tmp/afile: a single file can only be shared read-only (add :ro)" \
	"$SBX" create shell "$ws" "$tmp/afile"
bad share-file-needs-ro-rw "a single file can only be shared read-only (add :ro)" \
	"$SBX" create shell "$ws" "$tmp/afile:rw"
bad share-nested "are nested (share only the outer one)" "$SBX" create shell "$ws" "$ws/sub"
bad share-twice "shared twice" "$SBX" create shell "$ws" "$docs" "$docs:ro"
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"mounts\":{\"path\":\"$ws\"}}"
expect api-mounts-not-array 400 "$code"
api POST /v1/sandboxes "{\"agent\":\"shell\",\"mounts\":[{\"path\":\"$ws\"},{\"path\":\"/\"}]}"
expect api-mount-root-400 400 "$code"
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"mounts\":[{\"path\":\"$docs\"}]}"
if [[ $code == 400 ]] && grep -q "must be the workspace" "$tmp/api"; then pass api-workspace-first; else fail api-workspace-first "$code $(cat "$tmp/api")"; fi
api POST /v1/sandboxes "{\"agent\":\"shell\",\"mounts\":[{\"path\":\"$ws\"},{\"path\":\"rel\"}]}"
expect api-mount-relative-400 400 "$code"
expect no-sandbox-left "" "$("$SBX" ls -q)"

# ---- VM flows: only with a prepared cache ----
cache=${SBX_CACHE_DIR:-}
if ! sbx_test_have_cache "$cache"; then
	echo "SKIP vm-flows: no prepared cache (set SBX_CACHE_DIR to a cache with the shell template)"
	[[ $fails -eq 0 ]]
	exit
fi

n=shr
X() { timeout 120 "$SBX" exec "$n" "$@"; }
XR() { timeout 120 "$SBX" exec -u root "$n" "$@"; }
got=$("$SBX" create -q --name $n -m 1g shell "$ws" "$docs:ro" "$cfgd/gitconfig:ro" "$tmp/linkdir" \
	"$tmp/.dotrc:ro" 2>"$tmp/err")
expect create-with-shares "$n" "$got"
[[ $got == "$n" ]] || cat "$tmp/err"
"$SBX" ls --json >"$tmp/out"
if python3 - "$tmp/out" "$ws" "$docs" "$cfgd/gitconfig" "$tmp" <<'EOF'; then pass ls-json-mounts; else fail ls-json-mounts "$(cat "$tmp/out")"; fi
import json, sys
a = json.load(open(sys.argv[1]))[0]
assert a["mounts"] == [{"path": sys.argv[2], "readonly": False, "file": False},
                       {"path": sys.argv[3], "readonly": True, "file": False},
                       {"path": sys.argv[4], "readonly": True, "file": True},
                       {"path": sys.argv[5] + "/linkdir", "readonly": False, "file": False},
                       {"path": sys.argv[5] + "/.dotrc", "readonly": True, "file": True}], a["mounts"]
assert a["workspace"] == sys.argv[2]
EOF
"$SBX" ls >"$tmp/out"
grep -qE "^$n +shell +stopped +$ws$" "$tmp/out" && pass ls-workspace-column || fail ls-workspace-column "$(cat "$tmp/out")"

t0=$(date +%s)
expect same-path-cwd "$ws" "$(X pwd 2>"$tmp/err")"
echo "# first exec (boot) took $(($(date +%s) - t0)) s"
[[ -s $tmp/err ]] && echo "# $(head -c 300 "$tmp/err")"
expect mount-type "virtiofs rw" "$(X awk -v p="$ws" '$2 == p { split($4, o, ","); print $3, o[1] }' /proc/mounts 2>&1)"
expect mount-type-ro "virtiofs ro" "$(X awk -v p="$docs" '$2 == p { split($4, o, ","); print $3, o[1] }' /proc/mounts 2>&1)"
expect symlinked-dir-at-link-path "virtiofs through-the-link" \
	"$(X sh -c "awk -v p=$tmp/linkdir '\$2 == p { printf \"%s \", \$3 }' /proc/mounts; cat $tmp/linkdir/f" 2>&1)"
X sh -c "echo from-guest >$tmp/linkdir/g" >/dev/null 2>&1
expect symlinked-dir-write-lands "from-guest" "$(cat "$tmp/realdir/g" 2>&1)"
expect symlinked-dotfile-at-link-path "dotrc-content" "$(X cat "$tmp/.dotrc" 2>&1)"

# host -> guest: a guest poller already watching the file sees the host's edit within 1 s
echo v1 >"$ws/coh"
expect h2g-first-read "v1" "$(X cat "$ws/coh")"
rm -f "$ws/.polling"
X sh -c 'touch .polling; while [ "$(cat coh)" != v2 ]; do sleep 0.05; done; echo seen' >"$tmp/poll" 2>&1 &
poller=$!
for _ in $(seq 300); do [[ -e $ws/.polling ]] && break; sleep 0.1; done
[[ -e $ws/.polling ]] && pass g2h-create-visible || fail g2h-create-visible "guest poller never started"
sleep 0.5
t0=$(ms)
echo v2 >"$ws/coh"
seen=0
while (($(ms) - t0 < 5000)); do
	if ! kill -0 $poller 2>/dev/null; then seen=1; break; fi
	sleep 0.02
done
dt=$(($(ms) - t0))
kill $poller 2>/dev/null
wait $poller 2>/dev/null
if [[ $seen -eq 1 && $dt -le 1000 && $(cat "$tmp/poll") == seen ]]; then
	pass h2g-within-1s
else
	fail h2g-within-1s "seen=$seen after ${dt} ms: $(cat "$tmp/poll")"
fi
echo "# host edit seen by the guest after ${dt} ms"

# guest -> host: written in the guest, read on the host right after the command returns;
# and a host poller sees a guest edit within 1 s
X sh -c 'echo from-guest >g2h'
expect g2h-read "from-guest" "$(cat "$ws/g2h" 2>&1)"
t0=$(ms)
X sh -c 'echo edited >g2h' &
w=$!
dt=-1
while (($(ms) - t0 < 60000)); do
	if [[ $(cat "$ws/g2h" 2>/dev/null) == edited ]]; then dt=$(($(ms) - t0)); break; fi
	sleep 0.02
done
wait $w
[[ $dt -ge 0 ]] && pass g2h-edit-seen || fail g2h-edit-seen "host never saw it"

# mkdir / rename / rm, both ways (also through a cached directory listing)
mkdir "$ws/hd" && echo x >"$ws/hd/a"
expect h2g-mkdir "a" "$(X ls hd)"
mv "$ws/hd/a" "$ws/hd/b"
expect h2g-rename "b" "$(X ls hd)"
# the guest looked hd up just now (1 s entry/attr cache): the host's rm shows within ~1 s
t0=$(ms)
rm -r "$ws/hd"
got=$(X sh -c 'i=0; while [ -e hd ] && [ $i -lt 60 ]; do sleep 0.05; i=$((i+1)); done
	test -e hd && echo still || echo gone')
dt=$(($(ms) - t0))
if [[ $got == gone && $dt -le 1500 ]]; then pass h2g-rm; else fail h2g-rm "$got after $dt ms"; fi
echo "# host rm seen by the guest after ${dt} ms (exec round trip included)"
X sh -c 'mkdir gd && echo y >gd/a && mv gd/a gd/b'
expect g2h-mkdir-rename "b" "$(ls "$ws/gd" 2>&1)"
X rm -r gd
[[ ! -e $ws/gd ]] && pass g2h-rm || fail g2h-rm "$ws/gd still there"

# files the agent creates belong to the host user who runs sbx
X sh -c 'echo mine >owned; mkdir owned.d'
expect owner-file "$(id -u):$(id -g)" "$(stat -c %u:%g "$ws/owned" 2>&1)"
expect owner-dir "$(id -u):$(id -g)" "$(stat -c %u:%g "$ws/owned.d" 2>&1)"
expect guest-sees-agent "agent" "$(X stat -c %U owned)"

# git on the share, seen by the host's git
X sh -c 'mkdir repo && cd repo && git init -q && echo hi >f && git add f &&
	git -c user.name=t -c user.email=t@e commit -qm from-the-sandbox' >"$tmp/out" 2>&1
got=$(git -C "$ws/repo" log --format=%s 2>&1)
expect git-commit-seen-by-host "from-the-sandbox" "$got"
[[ $got == from-the-sandbox ]] || cat "$tmp/out"
expect git-status-clean "" "$(X sh -c 'cd repo && git status --porcelain' 2>&1)"

# make: a tiny C project on the share
mkdir -p "$ws/cproj"
printf '#include <stdio.h>\nint main(void) { puts("built in the sandbox"); return 0; }\n' >"$ws/cproj/hello.c"
printf 'hello: hello.o\n\t$(CC) -o $@ $^\n' >"$ws/cproj/Makefile"
X make -s -C cproj >"$tmp/out" 2>&1
expect make-build "built in the sandbox" "$(X ./cproj/hello 2>&1)"
[[ -x $ws/cproj/hello ]] && pass make-output-on-host || fail make-output-on-host "$(cat "$tmp/out")"

# npm install of a local tarball, offline
mkdir -p "$tmp/pkg" "$ws/npmproj"
printf '{"name":"sbx-tiny","version":"1.0.0","main":"index.js"}\n' >"$tmp/pkg/package.json"
echo 'module.exports = "tiny works";' >"$tmp/pkg/index.js"
(cd "$ws/npmproj" && npm pack --silent "$tmp/pkg" >/dev/null 2>&1)
if [[ -f $ws/npmproj/sbx-tiny-1.0.0.tgz ]]; then
	X sh -c 'cd npmproj && npm install --offline --no-audit --no-fund ./sbx-tiny-1.0.0.tgz' >"$tmp/out" 2>&1
	expect npm-install "tiny works" "$(X sh -c 'cd npmproj && node -e "console.log(require(\"sbx-tiny\"))"' 2>&1)"
	[[ -f $ws/npmproj/node_modules/sbx-tiny/package.json ]] && pass npm-on-host ||
		fail npm-on-host "$(tail -n 5 "$tmp/out")"
else
	fail npm-pack "npm pack on the host failed"
fi

# the :ro share: reads work, writes fail, even as root after a remount (the host enforces it)
expect ro-read "read me" "$(X cat "$docs/readme" 2>&1)"
X sh -c "echo x >$docs/new" >"$tmp/out" 2>&1
grep -q "Read-only file system" "$tmp/out" && pass ro-write-refused || fail ro-write-refused "$(cat "$tmp/out")"
XR sh -c "mount -o remount,rw $docs; echo x >$docs/new2; touch $docs/readme; rm -f $docs/readme" >"$tmp/out" 2>&1
if grep -q "Read-only file system" "$tmp/out" && [[ ! -e $docs/new && ! -e $docs/new2 && -f $docs/readme ]]; then
	pass ro-host-enforced
else
	fail ro-host-enforced "$(tr '\n' ' ' <"$tmp/out"); $(ls "$docs")"
fi

# symlinks pointing out of the share resolve in the guest, never to the host's files
echo "host-secret-$$" >"$tmp/secret"
ln -s "$tmp/secret" "$ws/out-link"
ln -s /etc/shadow "$ws/shadow-link"
got=$(XR cat out-link 2>&1)
[[ $got != *host-secret-* ]] && pass symlink-out-not-followed || fail symlink-out-not-followed "$got"
XR cat shadow-link >"$tmp/gshadow" 2>&1
expect symlink-shadow-readable "0" "$?"
if ! cmp -s "$tmp/gshadow" /etc/shadow; then pass symlink-shadow-guest-own; else fail symlink-shadow-guest-own "guest read the host's /etc/shadow"; fi
expect symlink-readlink "/etc/shadow" "$(X readlink shadow-link)"

# a single file shared :ro: at its absolute path with the host's content, read-only
gc=$cfgd/gitconfig
expect file-read "gitconfig-v1" "$(X cat "$gc" 2>&1)"
expect file-mount-ro "ro" "$(X awk -v p="$gc" '$2 == p { split($4, o, ","); print o[1] }' /proc/mounts 2>&1)"
expect file-is-regular "regular file" "$(X stat -c %F "$gc" 2>&1)"
# a host edit in place (same inode) shows in a guest poller within ~1 s
rm -f "$ws/.fpolling"
X sh -c "touch .fpolling; while [ \"\$(cat $gc)\" != gitconfig-v2 ]; do sleep 0.05; done; echo seen" >"$tmp/poll" 2>&1 &
poller=$!
for _ in $(seq 300); do [[ -e $ws/.fpolling ]] && break; sleep 0.1; done
sleep 0.5
t0=$(ms)
echo "gitconfig-v2" >"$gc"
seen=0
while (($(ms) - t0 < 5000)); do
	if ! kill -0 $poller 2>/dev/null; then seen=1; break; fi
	sleep 0.02
done
dt=$(($(ms) - t0))
kill $poller 2>/dev/null
wait $poller 2>/dev/null
if [[ $seen -eq 1 && $dt -le 1500 && $(cat "$tmp/poll") == seen ]]; then
	pass file-host-edit-seen
else
	fail file-host-edit-seen "seen=$seen after ${dt} ms: $(cat "$tmp/poll")"
fi
echo "# host in-place edit of the shared file seen by the guest after ${dt} ms"
# writes fail, even as root after remounting the bind mount and the hidden share rw
X sh -c "echo x >>$gc" >"$tmp/out" 2>&1
if [[ $? -ne 0 ]] && grep -q "Read-only file system" "$tmp/out"; then pass file-write-refused; else fail file-write-refused "$(cat "$tmp/out")"; fi
XR sh -c "mount -o remount,rw $gc; echo root >>$gc; for d in /run/sbx/shares/*/; do mount -o remount,rw \$d; echo x >>\$d/gitconfig; echo x >\$d/new; done" >"$tmp/out" 2>&1
if grep -q "Read-only file system" "$tmp/out" && [[ $(cat "$gc") == gitconfig-v2 && ! -e $cfgd/new ]]; then
	pass file-write-refused-root
else
	fail file-write-refused-root "$(tr '\n' ' ' <"$tmp/out"); $(cat "$gc"); $(ls "$cfgd")"
fi
# the sibling in the same host directory is nowhere in the guest: not at its host path, not in
# the hidden share directory, not in any virtiofs mount
got=$(XR sh -c "test -e $cfgd/sibling && echo at-host-path
	for m in \$(awk '\$3 == \"virtiofs\" { print \$2 }' /proc/mounts); do
		test -d \$m && ls -A \$m | grep -qx sibling && echo in-\$m
	done
	ls -A /run/sbx/shares/sbxfs2/ | tr '\n' ' '
	grep -rls sibling-secret /run/sbx/shares $cfgd 2>/dev/null | sed 's/^/content-in-/'
	cat /run/sbx/shares/*/sibling 2>/dev/null && echo readable" 2>&1 | tr '\n' ' ')
expect file-sibling-invisible "gitconfig " "$got"
# an editor that replaces the file by rename makes a new inode on the host; the guest's bind
# mount keeps the old inode until the sandbox restarts (documented; the check below is the restart)
echo "gitconfig-v3" >"$cfgd/.gitconfig.tmp" && mv "$cfgd/.gitconfig.tmp" "$gc"
sleep 1.2
echo "# after a host rename-replace the guest reads: $(X cat "$gc" 2>&1 | tr '\n' ' ')(restart picks up the new file)"

# stop / start keeps the shares
timeout 120 "$SBX" stop $n >/dev/null 2>&1
echo after-restart >"$ws/after"
expect stop-start-ws "after-restart" "$(X cat "$ws/after" 2>&1)"
expect stop-start-ro "read me" "$(X cat "$docs/readme" 2>&1)"
expect stop-start-file "gitconfig-v3" "$(X cat "$gc" 2>&1)"
timeout 120 "$SBX" stop $n >/dev/null 2>&1

# a sandbox without shares (API without mounts) still works: home as cwd, nothing mounted
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"plain\",\"memory_mib\":1024}"
expect api-no-mounts-201 201 "$code"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["mounts"] == []' "$tmp/api" &&
	pass api-no-mounts-empty || fail api-no-mounts-empty "$(cat "$tmp/api")"
got=$(timeout 300 "$SBX" exec plain sh -c "pwd; test -e $ws/coh && echo shared || echo not-shared" 2>&1 | tr '\n' ' ')
expect no-shares-works "/home/agent not-shared " "$got"
timeout 120 "$SBX" rm -f plain >/dev/null 2>&1

[[ $fails -eq 0 ]]
