#!/usr/bin/env bash
# The agent recipes' agent_setup (images/templates/*.conf) without building an image: each runs
# against a fake image root holding what npm would have installed (/usr/local/bin/CLI -> a
# stand-in entry point that records its arguments, stdin and environment), then the result is
# checked: Claude Code's ~/.claude.json approves the sentinel; the codex and gemini wrappers set
# their CLI up for API-key mode only when the variable holds sbx's sentinel and nothing is set up
# yet, always exec the real entry point with the same arguments, and never fail a start.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/sandbox.bash
tmp=$(mktemp -d /tmp/sbx-recipes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# fake_root NAME CLI PKGDIR: an image root with /home/agent and npm's symlink for CLI
fake_root() {
	local r=$tmp/$1
	mkdir -p "$r/home/agent" "$r/usr/local/bin" "$r/usr/local/lib/node_modules/$3/bin"
	cat >"$r/usr/local/lib/node_modules/$3/bin/$2.js" <<'EOF'
#!/bin/sh
# stand-in for an npm CLI: one line per call: args | stdin; FAIL_LOGIN=1: login fails
[ "$1" = login ] && [ -n "${FAIL_LOGIN:-}" ] && exit 1
printf '%s | %s\n' "$*" "$(cat)" >>"$HOME/calls"
EOF
	chmod 0755 "$r/usr/local/lib/node_modules/$3/bin/$2.js"
	ln -s "../lib/node_modules/$3/bin/$2.js" "$r/usr/local/bin/$2"
	echo "$r"
}
# setup NAME ROOT: source the recipe and run its agent_setup on ROOT (in a subshell)
setup() {
	(
		# shellcheck source=/dev/null
		. "images/templates/$1.conf"
		declare -F agent_setup >/dev/null || exit 3
		agent_setup "$2"
	) >"$tmp/setup.out" 2>&1
}

# ---- claude: a static ~/.claude.json ----
r=$(fake_root claude claude @anthropic-ai/claude-code)
setup claude "$r" && pass claude-setup-runs || fail claude-setup-runs "$(cat "$tmp/setup.out")"
python3 - "$r/home/agent/.claude.json" <<'EOF' && pass claude-approves-sentinel || fail claude-approves-sentinel
import json, sys
c = json.load(open(sys.argv[1]))
assert c["customApiKeyResponses"]["approved"] == ["proxy-managed"], c
assert set(c) == {"customApiKeyResponses"}, c  # no first-run screen skipped: login stays possible
EOF
expect claude-owner 1000:1000 "$(stat -c %u:%g "$r/home/agent/.claude.json")"
[[ -L $r/usr/local/bin/claude ]] && pass claude-cli-untouched || fail claude-cli-untouched

# run ROOT CLI HOME [VAR=VALUE...] -- ARGS: the image's wrapper, with the paths it names
# pointing into ROOT (the image's absolute paths, rewritten for this test only)
run() {
	local r=$1 cli=$2 home=$3
	shift 3
	local env=()
	while [[ $1 != -- ]]; do env+=("$1"); shift; done
	shift
	sed "s|^real=/|real=$r/|" "$r/usr/local/bin/$cli" >"$tmp/$cli.sh"
	env -i PATH=/usr/bin:/bin HOME="$home" "${env[@]}" sh "$tmp/$cli.sh" "$@" </dev/null
}

# ---- codex: logs in with the sentinel once, only with the sentinel ----
r=$(fake_root codex codex @openai/codex)
setup codex "$r" && pass codex-setup-runs || fail codex-setup-runs "$(cat "$tmp/setup.out")"
[[ -f $r/usr/local/bin/codex && ! -L $r/usr/local/bin/codex && -x $r/usr/local/bin/codex ]] &&
	pass codex-wrapper-installed || fail codex-wrapper-installed
grep -qx "real=/usr/local/lib/node_modules/@openai/codex/bin/codex.js" "$r/usr/local/bin/codex" &&
	pass codex-wrapper-real-path || fail codex-wrapper-real-path "$(grep ^real= "$r/usr/local/bin/codex")"
h=$tmp/home-codex1
mkdir -p "$h"
run "$r" codex "$h" OPENAI_API_KEY=proxy-managed -- --dangerously-bypass-approvals-and-sandbox "a b"
expect codex-login-then-run "login --with-api-key | proxy-managed
--dangerously-bypass-approvals-and-sandbox a b | " "$(cat "$h/calls")"
mkdir -p "$h/.codex" && : >"$h/.codex/auth.json" && : >"$h/calls"
run "$r" codex "$h" OPENAI_API_KEY=proxy-managed -- exec hi
expect codex-no-relogin "exec hi | " "$(cat "$h/calls")"
h=$tmp/home-codex2
mkdir -p "$h"
run "$r" codex "$h" OPENAI_API_KEY=sk-users-own -- exec hi
expect codex-own-key-untouched "exec hi | " "$(cat "$h/calls")"
run "$r" codex "$h" -- --version
expect codex-no-key-untouched "exec hi | 
--version | " "$(cat "$h/calls")"
h=$tmp/home-codex3 # a failing prep never fails the start
mkdir -p "$h"
run "$r" codex "$h" OPENAI_API_KEY=proxy-managed FAIL_LOGIN=1 -- --version
st=$?
expect codex-prep-failure-tolerated "0 --version | " "$st $(cat "$h/calls")"

# ---- gemini: API-key mode when the sentinel is there and no settings exist ----
r=$(fake_root gemini gemini @google/gemini-cli)
setup gemini "$r" && pass gemini-setup-runs || fail gemini-setup-runs "$(cat "$tmp/setup.out")"
h=$tmp/home-gemini1
mkdir -p "$h"
run "$r" gemini "$h" GEMINI_API_KEY=proxy-managed -- --yolo
python3 - "$h/.gemini/settings.json" <<'EOF' && pass gemini-api-key-mode || fail gemini-api-key-mode
import json, sys
assert json.load(open(sys.argv[1]))["security"]["auth"]["selectedType"] == "gemini-api-key"
EOF
expect gemini-runs "--yolo | " "$(cat "$h/calls")"
echo '{"theme": "mine"}' >"$h/.gemini/settings.json"
run "$r" gemini "$h" GEMINI_API_KEY=proxy-managed -- --yolo
expect gemini-keeps-settings '{"theme": "mine"}' "$(cat "$h/.gemini/settings.json")"
h=$tmp/home-gemini2
mkdir -p "$h"
run "$r" gemini "$h" GEMINI_API_KEY=own -- --yolo
[[ ! -e $h/.gemini ]] && pass gemini-own-key-untouched || fail gemini-own-key-untouched

# ---- a recipe whose CLI is not npm's symlink fails the build with a message ----
r=$(fake_root broken codex @openai/codex)
rm "$r/usr/local/bin/codex" && echo x >"$r/usr/local/bin/codex"
if setup codex "$r"; then fail wrap-needs-symlink "agent_setup succeeded"; else
	grep -q "is not npm's symlink" "$tmp/setup.out" && pass wrap-needs-symlink ||
		fail wrap-needs-symlink "$(cat "$tmp/setup.out")"
fi

[[ $fails -eq 0 ]]
