#!/usr/bin/env bash
# Exec semantics of sbx-init on the host, no VM: starts `sbx-init --serve-unix SOCK` and runs the
# driver build/tests/agent_exec_test against it (exit codes, stdout/stderr, stdin EOF, env, cwd,
# missing command, pty, signals, 20 concurrent execs, detach, hang-up, malformed frames), then
# times `true` round trips and checks SHUTDOWN stops the server. Cleans up on every path.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
CLIENT=$B/tests/agent_exec_test
INIT=$B/lib/sbx/sbx-init
fails=0
pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1${2:+: $2}"
	fails=$((fails + 1))
}
work=$(mktemp -d /tmp/sbx-agent-host.XXXXXX)
srv=
cleanup() {
	[[ -n $srv ]] && kill -9 "$srv" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

for f in "$INIT" "$CLIENT"; do
	[[ -x $f ]] || { fail setup "missing $f (run make all tests)"; exit 1; }
done
S=$work/agent.sock
"$INIT" --serve-unix "$S" 2>"$work/server.log" &
srv=$!
"$CLIENT" --wait "$S" 5000 || { fail server-ready "$(cat "$work/server.log")"; exit 1; }
pass server-ready

# the driver prints its own PASS/FAIL lines
"$CLIENT" --socket "$S" || fails=$((fails + 1))

# round trip of `true` (connect + EXEC + EXIT), median of 50, client process start included
times=()
for i in $(seq 1 50); do
	t0=$(date +%s%N)
	"$CLIENT" --exec "$S" true || { fail exec-true-loop "status $?"; break; }
	times+=($((($(date +%s%N) - t0) / 1000)))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 25p)
echo "exec true round trip on the host: median ${median} us (client process start included)"
[[ ${median:-999999} -lt 50000 ]] && pass exec-true-fast || fail exec-true-fast "median ${median} us"

out=$("$CLIENT" --exec "$S" sh -c 'echo $0' 2>&1)
[[ $out == sh ]] && pass exec-argv0 || fail exec-argv0 "'$out'"

"$CLIENT" --shutdown "$S" && pass shutdown-ack || fail shutdown-ack
for i in $(seq 1 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$srv" 2>/dev/null; then
	fail shutdown-stops-server
else
	wait "$srv"
	st=$?
	srv=
	[[ $st -eq 0 ]] && pass shutdown-stops-server || fail shutdown-stops-server "exit $st"
fi
exit $((fails != 0))
