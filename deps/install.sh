#!/usr/bin/env bash
# Installs the Debian packages named in the given lists (deps/*.txt) that are missing.
# As root: apt-get install. Not root: one line naming the packages and the command to run.
set -euo pipefail
missing=()
for list in "$@"; do
	while read -r pkg; do
		[[ -z "$pkg" || "$pkg" == \#* ]] && continue
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$pkg")
	done <"$list"
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "sbx: missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "sbx: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/sbx-apt.log 2>&1; then
	apt-get update -q >/tmp/sbx-apt-update.log 2>&1 || true
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/sbx-apt.log 2>&1 || {
		tail -n 5 /tmp/sbx-apt.log >&2
		echo "sbx: apt-get install failed: ${missing[*]} (see /tmp/sbx-apt.log)" >&2
		exit 1
	}
fi
