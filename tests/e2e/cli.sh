#!/usr/bin/env bash
# End-to-end test of the sbx CLI against a real sbxd in a private SBX_HOME: every bad-input
# line (no VM needed), then - when the kernel/initramfs/shell template are in SBX_CACHE_DIR -
# the VM flows in ONE sandbox (exec semantics, persistence, ls, rm, a pty session under tmux).
# Cleans up every process and file it starts, also on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/sandbox.bash
cleanup() {
	tmux -L "$tsock" kill-server 2>/dev/null
	sbx_test_cleanup
}
tsock=sbxcli-$$
sbx_test_init sbxcli cleanup

# bad <name> <expected substring of the one stderr line> <cmd...>: non-zero exit, exactly one
# line on stderr containing the text, nothing on stdout.

# expect <name> <want> <got>

sbx_test_need_sbx cli
mkdir -p "$tmp/ws"

# ---- no VM needed ----
"$SBX" help >"$tmp/out" 2>&1 && grep -q "sbx run" "$tmp/out" && pass help || fail help
"$SBX" exec --help >"$tmp/out" 2>&1 && grep -q -- "--workdir" "$tmp/out" && pass exec-help ||
	fail exec-help
bad unknown-verb "sbx: unknown verb frobnicate (see sbx --help)" "$SBX" frobnicate
bad unknown-flag "sbx: unknown flag --foo for exec (see sbx exec --help)" "$SBX" exec --foo x ls
bad unknown-short-flag "sbx: unknown flag -z for ls (see sbx ls --help)" "$SBX" ls -z
bad flag-needs-value "flag --name for create needs a value" "$SBX" create shell --name
bad exec-missing-args "missing NAME and CMD" "$SBX" exec
bad exec-missing-cmd "missing CMD" "$SBX" exec box
bad create-missing-agent "missing AGENT" "$SBX" create
bad stop-missing-name "missing NAME" "$SBX" stop
bad rm-missing-name "missing NAME" "$SBX" rm
bad bad-memory "bad memory size '4x'" "$SBX" create -m 4x shell "$tmp/ws"
bad bad-cpus "bad cpu count '0'" "$SBX" create --cpus 0 shell "$tmp/ws"
bad bad-name "bad sandbox name 'Bad/Name'" "$SBX" create --name Bad/Name shell "$tmp/ws"
bad reset-needs-tty "use sbx reset -f" "$SBX" reset
bad exec-tty-no-terminal "the input device is not a TTY" "$SBX" exec -it box sh

# these talk to sbxd: the first one starts it on demand
"$SBX" version >"$tmp/out" 2>"$tmp/err"
rc=$?
if [[ $rc -eq 0 ]] && grep -q '^Server:  sbxd .* (API 1)$' "$tmp/out" && [[ -S $SBX_HOME/run/sbxd.sock ]]; then
	pass version-starts-sbxd
else
	fail version-starts-sbxd "rc=$rc $(cat "$tmp/out" "$tmp/err" | tr '\n' ' ')"
	[[ -f $SBX_HOME/data/sbxd.log ]] && tail -n 5 "$SBX_HOME/data/sbxd.log"
	exit 1
fi
accel=$(sed -n 's/^Engine:  .* (accel \(.*\))$/\1/p' "$tmp/out")
expect ls-empty "SANDBOX   AGENT   STATUS   PORTS   WORKSPACE" "$("$SBX" ls)"
expect ls-q-empty "" "$("$SBX" ls -q)"
bad unknown-agent "sbx: unknown agent nosuchagent (known: " "$SBX" create nosuchagent "$tmp/ws"
bad path-missing "workspace $tmp/nope: No such file or directory" "$SBX" create shell "$tmp/nope"
bad exec-unknown-sandbox "sbx: no sandbox named ghost (see sbx ls)" "$SBX" exec ghost true
bad stop-unknown-sandbox "sbx: no sandbox named ghost (see sbx ls)" "$SBX" stop ghost
bad rm-unknown-sandbox "sbx: no sandbox named ghost (see sbx ls)" "$SBX" rm ghost
# occupy a name through the API itself (no template build needed), then collide with it
code=$(curl -s -o "$tmp/out" -w '%{http_code}' --unix-socket "$SBX_HOME/run/sbxd.sock" \
	-H 'Content-Type: application/json' \
	-d "{\"agent\":\"shell\",\"workspace\":\"$tmp/ws\",\"name\":\"taken\"}" http://sbx/v1/sandboxes)
expect api-create-201 201 "$code"
bad name-in-use "taken" "$SBX" create --name taken shell "$tmp/ws"
expect ls-q-one "taken" "$("$SBX" ls -q)"
"$SBX" ls --json >"$tmp/out" && python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert a[0]["name"]=="taken"' "$tmp/out" &&
	pass ls-json || fail ls-json
"$SBX" ls >"$tmp/out"
if grep -qE "^taken +shell +stopped +$tmp/ws$" "$tmp/out"; then pass ls-table; else fail ls-table "$(cat "$tmp/out")"; fi
"$SBX" rm taken >"$tmp/out" 2>&1 && [[ -z $("$SBX" ls -q) && ! -e $SBX_HOME/data/sandboxes/taken ]] &&
	pass rm-stopped || fail rm-stopped "$(cat "$tmp/out")"

api_create() { # <name>: a stopped sandbox made through the API (no template build)
	curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SBX_HOME/run/sbxd.sock" \
		-H 'Content-Type: application/json' \
		-d "{\"agent\":\"shell\",\"workspace\":\"$tmp/ws\",\"name\":\"$1\"}" http://sbx/v1/sandboxes
}
api_create a1 >/dev/null
api_create a2 >/dev/null
got=$("$SBX" rm --all 2>&1 | sort | tr '\n' ' ')
expect rm-all "a1 a2 " "$got"
expect rm-all-empty "" "$("$SBX" ls -q)"
bad rm-all-and-names "give either --all or names" "$SBX" rm --all a1

# reset on a terminal asks; "n" keeps everything, "y" deletes everything
api_create r1 >/dev/null
printf 'n\n' | script -qec "$SBX reset" /dev/null >"$tmp/out" 2>&1
rc=$?
if [[ $rc -ne 0 ]] && grep -q "This deletes every sandbox. Continue? \[y/N\]" "$tmp/out" &&
	[[ $("$SBX" ls -q) == r1 ]]; then
	pass reset-prompt-no
else
	fail reset-prompt-no "rc=$rc $(tr -d '\r' <"$tmp/out" | tr '\n' ' ')"
fi
printf 'y\n' | script -qec "$SBX reset" /dev/null >"$tmp/out" 2>&1
rc=$?
[[ $rc -eq 0 && -z $("$SBX" ls -q) ]] && pass reset-prompt-yes || fail reset-prompt-yes "rc=$rc"
api_create r2 >/dev/null
"$SBX" reset -f && [[ -z $("$SBX" ls -q) ]] && pass reset-f || fail reset-f

# an sbxd that cannot start: one clear line naming its log
mkdir -p "$tmp/bin"
cp "$SBX" "$tmp/bin/sbx"
printf '#!/bin/sh\necho "boom" >&2\nexit 3\n' >"$tmp/bin/sbxd"
chmod +x "$tmp/bin/sbxd"
bad sbxd-start-fails "sbx: cannot start sbxd: it exited with status 3 (see $tmp/h2/data/sbxd.log)" \
	env SBX_HOME="$tmp/h2" "$tmp/bin/sbx" ls
rm "$tmp/bin/sbxd"
bad sbxd-missing "sbx: cannot start sbxd: $tmp/bin/sbxd: No such file or directory" \
	env SBX_HOME="$tmp/h2" "$tmp/bin/sbx" ls

# ---- VM flows: only with a prepared cache ----
cache=${SBX_CACHE_DIR:-}
if ! sbx_test_have_cache "$cache"; then
	echo "SKIP vm-flows: no prepared cache (set SBX_CACHE_DIR to a cache with the shell template)"
	[[ $fails -eq 0 ]]
	exit
fi

name=e2e
got=$("$SBX" create -q --name "$name" shell "$tmp/ws" 2>"$tmp/err")
expect create-q "$name" "$got"

t0=$(date +%s)
timeout 300 "$SBX" exec "$name" true 2>"$tmp/err"
rc=$?
expect exec-starts-stopped "0" "$rc"
echo "# first exec (boot) took $(($(date +%s) - t0)) s"
if [[ $accel == tcg ]]; then
	n=$(grep -c "using QEMU TCG emulation" "$tmp/err")
	expect tcg-notice-once "1" "$n"
fi

timeout 60 "$SBX" exec "$name" sh -c 'exit 3'
expect exit-code "3" "$?"
timeout 60 "$SBX" exec "$name" sh -c 'kill -TERM $$'
expect exit-code-signal "143" "$?"
timeout 60 "$SBX" exec "$name" sh -c 'echo out; echo err >&2' >"$tmp/o" 2>"$tmp/e"
expect stdout-apart "out" "$(cat "$tmp/o")"
expect stderr-apart "err" "$(cat "$tmp/e")"
expect stdin-i "hi" "$(echo hi | timeout 60 "$SBX" exec -i "$name" cat)"
expect stdin-without-i "" "$(echo hi | timeout 60 "$SBX" exec "$name" cat)"
expect env-kv "bar" "$(timeout 60 "$SBX" exec -e FOO=bar "$name" sh -c 'echo $FOO')"
expect env-local "loc al" "$(LOCALV='loc al' timeout 60 "$SBX" exec -e LOCALV "$name" sh -c 'echo $LOCALV')"
expect workdir "/tmp" "$(timeout 60 "$SBX" exec -w /tmp "$name" pwd)"
expect user-default "agent" "$(timeout 60 "$SBX" exec "$name" id -un)"
expect user-root "root" "$(timeout 60 "$SBX" exec -u root "$name" id -un)"
expect hostname "$name" "$(timeout 60 "$SBX" exec "$name" hostname)"
expect sudo-resolves-host "root" "$(timeout 60 "$SBX" exec "$name" sudo -n whoami 2>&1)"
expect args-after-name "-la" "$(timeout 60 "$SBX" exec "$name" echo -la)"
timeout 60 "$SBX" exec "$name" no-such-command-xyz 2>"$tmp/err"
expect exec-not-found "127" "$?"

ok=1
for i in $(seq 1 20); do
	(timeout 120 "$SBX" exec "$name" sh -c "echo n$i" >"$tmp/c.$i" 2>&1; echo $? >"$tmp/c.$i.rc") &
done
wait
for i in $(seq 1 20); do
	[[ "$(cat "$tmp/c.$i")" == "n$i" && "$(cat "$tmp/c.$i.rc")" == 0 ]] || ok=0
done
[[ $ok == 1 ]] && pass exec-20-concurrent || fail exec-20-concurrent "$(head -n 3 "$tmp"/c.* | tr '\n' ' ')"

# fast path: median of 11 `sbx exec NAME true` (informational; TCG makes it slow here)
times=()
for i in $(seq 1 11); do
	s=$(date +%s%N)
	timeout 60 "$SBX" exec "$name" true
	times+=($((($(date +%s%N) - s) / 1000)))
done
echo "# sbx exec true median: $(printf '%s\n' "${times[@]}" | sort -n | sed -n 6p) us"

"$SBX" ls >"$tmp/out"
grep -qE "^$name +shell +running +$tmp/ws$" "$tmp/out" && pass ls-running || fail ls-running "$(cat "$tmp/out")"
bad rm-running-refused "sbx: sandbox $name is running (stop it first or use rm -f)" "$SBX" rm "$name"

timeout 60 "$SBX" exec -u root "$name" sh -c 'echo persisted > /persist.txt && sync'
expect stop "$name" "$(timeout 120 "$SBX" stop "$name")"
"$SBX" ls >"$tmp/out"
grep -qE "^$name +shell +stopped +$tmp/ws$" "$tmp/out" && pass ls-stopped || fail ls-stopped "$(cat "$tmp/out")"
expect file-survives-restart "persisted" "$(timeout 300 "$SBX" exec "$name" cat /persist.txt 2>"$tmp/err")"
[[ $accel == tcg ]] && expect tcg-notice-not-repeated "0" "$(grep -c 'TCG' "$tmp/err")"

# pty session under tmux: type into `sbx run NAME`, read the screen
wait_screen() { # <regex> <seconds>
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		tmux -L "$tsock" capture-pane -p -t cli 2>/dev/null | grep -qE -- "$1" && return 0
		sleep 0.2
	done
	return 1
}
tmux -L "$tsock" new-session -d -s cli -x 120 -y 30 \
	"env SBX_HOME='$SBX_HOME' SBX_CACHE_DIR='$cache' '$SBX' run $name; sleep 30"
# the first run on a terminal asks once for the default network policy
if wait_screen 'Network policy for sandboxes: 1\) balanced' 60; then
	pass policy-first-use-asks
	tmux -L "$tsock" send-keys -t cli 3 Enter
else
	fail policy-first-use-asks "$(tmux -L "$tsock" capture-pane -p -t cli | grep -v '^ *$' | tail -n 5)"
fi
if wait_screen '\$ *$' 120; then
	pass pty-prompt
	got=$("$SBX" policy ls --json 2>&1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>&1)
	expect policy-first-use-deny-all 0 "$got"
	curl -s --unix-socket "$SBX_HOME/run/sbxd.sock" http://sbx/v1/policy/default >"$tmp/out"
	grep -q '"deny-all"' "$tmp/out" && pass policy-first-use-recorded || fail policy-first-use-recorded "$(cat "$tmp/out")"
	tmux -L "$tsock" send-keys -t cli 'echo $((6*7))' Enter
	wait_screen '^42 *$' 30 && pass pty-echo-42 || fail pty-echo-42 "$(tmux -L "$tsock" capture-pane -p -t cli | tail -n 5)"
	tmux -L "$tsock" send-keys -t cli 'sleep 100' Enter
	sleep 1
	tmux -L "$tsock" send-keys -t cli C-c
	tmux -L "$tsock" send-keys -t cli 'echo back-$((1+1))' Enter
	wait_screen '^back-2 *$' 20 && pass pty-ctrl-c || fail pty-ctrl-c "$(tmux -L "$tsock" capture-pane -p -t cli | tail -n 5)"
	tmux -L "$tsock" send-keys -t cli 'exit' Enter
	sleep 2
	"$SBX" ls >"$tmp/out"
	grep -qE "^$name +shell +running" "$tmp/out" && pass pty-exit-leaves-running || fail pty-exit-leaves-running "$(cat "$tmp/out")"
else
	fail pty-prompt "$(tmux -L "$tsock" capture-pane -p -t cli | grep -v '^ *$' | tail -n 5)"
fi
tmux -L "$tsock" kill-server 2>/dev/null

expect rm-force "$name" "$(timeout 120 "$SBX" rm -f "$name")"
[[ ! -e $SBX_HOME/data/sandboxes/$name && -z $("$SBX" ls -q) ]] && pass rm-deletes-state ||
	fail rm-deletes-state "$(ls "$SBX_HOME/data/sandboxes" 2>&1)"

[[ $fails -eq 0 ]]
