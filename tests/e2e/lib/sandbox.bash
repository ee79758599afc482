# Sourced by the e2e scripts that drive real sandboxes through the CLI: the PASS/FAIL lines that
# tests/run counts, and a clean-up that leaves nothing behind. The caller sets SBX (the sbx
# binary), SBX_HOME and tmp (its temp dir) first, then `trap sbx_test_cleanup EXIT`.

fails=0

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1${2:+: $2}"
	fails=$((fails + 1))
}
expect() { # <name> <want> <got>
	if [[ "$3" == "$2" ]]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}

# bad <name> <expected text of the one stderr line> <cmd...>: the command fails with exactly one
# stderr line containing the text, and prints nothing on stdout. Uses $tmp/out and $tmp/err.
bad() {
	local name=$1 want=$2 rc lines
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [[ $rc -eq 0 ]]; then
		fail "$name" "exit 0"
	elif [[ $lines -ne 1 ]]; then
		fail "$name" "$lines stderr lines: $(head -c 300 "$tmp/err")"
	elif ! grep -qF -- "$want" "$tmp/err"; then
		fail "$name" "stderr was: $(cat "$tmp/err")"
	elif [[ -s $tmp/out ]]; then
		fail "$name" "stdout not empty: $(head -c 200 "$tmp/out")"
	else
		pass "$name"
	fi
}

# sbx_test_cleanup: delete every sandbox of this SBX_HOME, stop its sbxd, kill whatever started
# for the test still runs (QEMU and sbx-vhost name $tmp in their arguments), remove $tmp.
sbx_test_cleanup() {
	local pid d
	if [[ -S $SBX_HOME/run/sbxd.sock ]]; then
		timeout 120 "$SBX" reset -f >/dev/null 2>&1
	fi
	pid=$(cat "$SBX_HOME/run/sbxd.pid" 2>/dev/null)
	[[ -n $pid ]] && kill "$pid" 2>/dev/null
	for d in /proc/[0-9]*; do
		if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF "$tmp"; then
			kill -9 "${d#/proc/}" 2>/dev/null
		fi
	done
	rm -rf "$tmp"
}
