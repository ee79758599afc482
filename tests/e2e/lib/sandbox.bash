# Sourced by the e2e scripts that drive real sandboxes through the CLI: their common start
# (sbx_test_init), the checks that they can run at all (sbx_test_need_sbx, sbx_test_need_cache),
# the PASS/FAIL lines that tests/run counts, and a clean-up that leaves nothing behind. A script
# cds to the repository's top, sources this file, then calls sbx_test_init.

fails=0
srv_pids=() # host programs a script starts for its checks; sbx_test_cleanup kills them

# sbx_test_init [--cache] <prefix> [<clean-up function>]: the common start, run from the
# repository's top: top (that directory), SBX (default build/sbx), a fresh temp dir
# tmp=/tmp/<prefix>.XXXXXX, SBX_HOME=$tmp/h exported, the clean-up (default sbx_test_cleanup;
# a script's own one calls sbx_test_cleanup last) trapped on EXIT and exit 130 on INT and TERM.
# --cache: SBX_CACHE_DIR exported, default the suite's prepared cache /var/tmp/sbx-test-cache.
sbx_test_init() {
	if [[ $1 == --cache ]]; then
		export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
		shift
	fi
	top=$PWD
	SBX=${SBX:-$top/build/sbx}
	tmp=$(mktemp -d "/tmp/$1.XXXXXX")
	export SBX_HOME=$tmp/h
	# shellcheck disable=SC2064 # the function's name, fixed now
	trap "${2:-sbx_test_cleanup}" EXIT
	trap 'exit 130' INT TERM
}

# sbx_test_need_sbx <name>: FAIL <name>-binary and exit 1 unless $SBX is built.
sbx_test_need_sbx() {
	[[ -x $SBX ]] && return 0
	fail "$1-binary" "$SBX missing (run make)"
	exit 1
}

# sbx_test_have_cache <dir>: whether <dir> holds a prepared cache: a kernel and the shell template.
sbx_test_have_cache() {
	[[ -f $1/templates/shell/rootfs.img ]] && ls "$1"/kernel/*/vmlinux >/dev/null 2>&1
}

# sbx_test_need_cache <name>: unless $SBX_CACHE_DIR is a prepared cache, SKIP <name> and exit:
# 0, or 1 when a check before this one failed.
sbx_test_need_cache() {
	sbx_test_have_cache "${SBX_CACHE_DIR:-}" && return 0
	echo "SKIP $1: no prepared cache in ${SBX_CACHE_DIR:-} (kernel + shell template)"
	exit $((fails > 0))
}

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

# sbx_test_cleanup: kill srv_pids, delete every sandbox of this SBX_HOME, stop its sbxd, kill
# whatever started for the test still runs (QEMU and sbx-vhost name $tmp in their arguments),
# remove $tmp.
sbx_test_cleanup() {
	local pid d
	for pid in "${srv_pids[@]}"; do kill "$pid" 2>/dev/null; done
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
