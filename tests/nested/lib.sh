# tests/nested/lib.sh — helpers shared by bed.sh and stack.sh (sourced): copying a binary with
# its shared libraries into an image root, packing a root as a newc cpio, the host TSC kHz
# (L2's tsc_early_khz=, DESIGN.md "Our machines"), and what an L2 run came to.

copy_with_libs() { # <binary> <root>: the binary and its shared libraries, at the same paths
	local bin=$1 root=$2 lib
	mkdir -p "$root$(dirname "$bin")"
	cp -L "$bin" "$root$bin"
	for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}'); do
		[[ -e $root$lib ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

mkcpio() { # <root dir> <out file>
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$2.tmp"
	mv "$2.tmp" "$2"
}

host_khz() {
	awk '/^cpu MHz/{printf "%d", $4 * 1000; exit}' /proc/cpuinfo
}

# l2_outcome <who> <qemu status> <serial log> <qemu stderr> <seconds allowed>: the status of a finished L2 run —
# 124 if it timed out, 3 if L2 never reached its init or its script never finished (one line
# on stderr each), else the script's own exit status.
l2_outcome() {
	local who=$1 rc=$2 log=$3 qerr=$4 secs=$5
	if [[ $rc -eq 124 ]]; then
		echo "$who: L2 timed out after ${secs}s" >&2
		return 124
	fi
	grep -q '^L2-INIT-OK' "$log" || {
		echo "$who: L2 never reached its init (qemu status $rc): $(tail -n 3 "$qerr")" >&2
		return 3
	}
	rc=$(tr -d '\r' <"$log" | sed -n 's/^L2-SCRIPT-EXIT \([0-9]*\).*/\1/p' | tail -n 1)
	[[ -n $rc ]] || {
		echo "$who: L2's script did not finish" >&2
		return 3
	}
	return "$rc"
}
