# tests/nested/lib.sh — helpers shared by bed.sh and stack.sh (sourced): copying a binary with
# its shared libraries into an image root, packing a root as a newc cpio, the host TSC kHz
# (L2's tsc_early_khz=, DESIGN.md "Our machines").

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
