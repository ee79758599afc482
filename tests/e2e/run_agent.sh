#!/usr/bin/env bash
# End-to-end test of `sbx run AGENT` (issue 5 point 5) with the claude template, on a real
# terminal (a tmux server on the host plays the user's terminal): the agent starts as `agent`
# in the workspace in its autonomous mode, inside the guest's tmux session "agent"; closing the
# terminal leaves it running; `sbx run NAME` attaches to the same process; ARGS after -- that
# are not flags replace the command. Builds the claude template if the cache lacks it (~3 min).
# Cleans up every process and file it starts.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/sandbox.bash
cleanup() {
	tmux -L "$tsock" kill-server 2>/dev/null
	sbx_test_cleanup
}
tsock=sbxrun$$
sbx_test_init --cache sbxrunagent cleanup
ws=$tmp/proj

sbx_test_need_cache run-agent
command -v tmux >/dev/null || {
	fail run-agent-tmux "tmux is not installed on the host"
	exit 1
}
mkdir -p "$ws"
"$SBX" version >/dev/null 2>&1
"$SBX" policy set-default deny-all >/dev/null 2>&1
timeout 1800 "$SBX" template build claude >"$tmp/build.log" 2>&1 ||
	fail template-claude "$(tail -n 3 "$tmp/build.log")"

screen() { tmux -L "$tsock" capture-pane -p -t "$1" 2>/dev/null; }
wait_screen() { # <window> <regex> <seconds>
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		screen "$1" | grep -qE -- "$2" && return 0
		sleep 0.2
	done
	return 1
}
X() { timeout 120 "$SBX" exec "$@"; }

# first run: creates claude-proj, starts it, attaches the agent on the terminal
tmux -L "$tsock" new-session -d -s t1 -x 120 -y 40 \
	"cd '$ws' && env SBX_HOME='$SBX_HOME' SBX_CACHE_DIR='$SBX_CACHE_DIR' '$SBX' run claude; sleep 600"
name=claude-proj
# Claude Code's first screen (theme / login) is a full-screen TUI: any of its words will do
if wait_screen t1 'Claude Code|theme|Welcome|Anthropic|login|Login' 300; then
	pass agent-tui-on-terminal
else
	fail agent-tui-on-terminal "$(screen t1 | grep -v '^ *$' | tail -n 5)"
fi
pid=$(X $name pgrep -f -o 'claude --dangerously-skip-permissions' 2>/dev/null)
[[ $pid =~ ^[0-9]+$ ]] && pass agent-autonomous-flag || fail agent-autonomous-flag "$(X $name ps -eo pid,user,args 2>&1 | tail -n 8)"
if [[ $pid =~ ^[0-9]+$ ]]; then
	expect agent-runs-as-agent agent "$(X -u root $name ps -o user= -p "$pid" 2>&1 | tr -d ' ')"
	expect agent-cwd-workspace "$ws" "$(X -u root $name readlink /proc/"$pid"/cwd 2>&1)"
fi
# no network is allowed (deny-all): Claude Code says its proxy refused the tunnel, then exits
wait_screen t1 'ERR_PROXY_TUNNEL|proxy' 120 && pass agent-egress-through-proxy ||
	fail agent-egress-through-proxy "$(screen t1 | grep -v '^ *$' | tail -n 5)"
tmux -L "$tsock" kill-session -t t1
X $name tmux -f /etc/sbx/tmux.conf kill-server >/dev/null 2>&1 # Claude may not have exited yet

# a long-lived agent command (ARGS not starting with '-' replace the command): closing the
# terminal leaves it running in the guest's tmux session; sbx run NAME comes back to it
tmux -L "$tsock" new-session -d -s t2 -x 120 -y 40 \
	"env SBX_HOME='$SBX_HOME' '$SBX' run $name -- sh -c 'echo agent-ready-\$\$; exec sleep 1000'; sleep 600"
wait_screen t2 'agent-ready-[0-9]+' 120 && pass session-started || fail session-started "$(screen t2 | grep -v '^ *$' | tail -n 5)"
spid=$(screen t2 | grep -oE 'agent-ready-[0-9]+' | head -n 1 | cut -d- -f3)
expect session-in-tmux agent "$(X $name tmux -f /etc/sbx/tmux.conf ls -F '#{session_name}' 2>&1)"
tmux -L "$tsock" kill-session -t t2
sleep 2
expect session-survives-detach "sleep" "$(X $name ps -o comm= -p "$spid" 2>&1 | tr -d ' ')"
"$SBX" ls >"$tmp/out"
grep -qE "^$name +claude +running" "$tmp/out" && pass sandbox-still-running || fail sandbox-still-running "$(cat "$tmp/out")"
tmux -L "$tsock" new-session -d -s t3 -x 120 -y 40 \
	"env SBX_HOME='$SBX_HOME' '$SBX' run $name; sleep 600"
wait_screen t3 "agent-ready-$spid" 120 && pass reattach-same-session ||
	fail reattach-same-session "$(screen t3 | grep -v '^ *$' | tail -n 5)"
expect reattach-no-second-agent 1 "$(X $name sh -c 'ps -eo comm= | grep -cx sleep' 2>&1)"
tmux -L "$tsock" kill-session -t t3

# without a terminal: the agent's CLI directly, ARGS replacing its command
expect run-args-replace-command "hello-from-args" \
	"$(timeout 120 "$SBX" run $name -- sh -c 'echo hello-from-args' </dev/null 2>/dev/null)"
got=$(timeout 120 "$SBX" run $name -- --version </dev/null 2>/dev/null)
[[ $got == *"Claude Code"* ]] && pass run-flag-args-extend || fail run-flag-args-extend "$got"
bad run-unknown-agent "unknown agent nosuch (known:" "$SBX" run nosuch
"$SBX" run --help | grep -q "^Agents: .*claude" && pass run-help-lists-agents || fail run-help-lists-agents

[[ $fails -eq 0 ]]
