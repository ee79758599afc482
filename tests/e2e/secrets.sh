#!/usr/bin/env bash
# End-to-end test of `sbx secret` without a VM: a real sbxd in a private SBX_HOME, keys set
# from stdin, never shown (ls, --json, sbxd's log, ps), secrets.json 0600 holding them, keys on
# the command line refused, unknown services, per-sandbox scope needing an existing sandbox,
# rm, persistence across an sbxd restart, reset deleting them and --preserve-secrets keeping them.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/sandbox.bash
sbx_test_init sbxsec
unset SBX_CACHE_DIR # nothing here needs a template; never touch a shared cache

sock=$SBX_HOME/run/sbxd.sock
file=$SBX_HOME/config/secrets.json
api() { # <method> <path> [json body]: prints the body, then the status on the last line
	curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" \
		${3:+-H 'Content-Type: application/json' -d "$3"} "http://sbx$2"
}
status() { tail -n 1 <<<"$1"; }
# leaks <name> <value>: PASS when <value> is in none of ls, ls --json, sbxd's log, ps
leaks() {
	local hits=0
	"$SBX" secret ls 2>&1 | grep -qF -- "$2" && hits=$((hits + 1))
	"$SBX" secret ls --json 2>&1 | grep -qF -- "$2" && hits=$((hits + 1))
	grep -qF -- "$2" "$SBX_HOME/data/sbxd.log" 2>/dev/null && hits=$((hits + 1))
	ps -eo args | grep -v grep | grep -qF -- "$2" && hits=$((hits + 1))
	expect "$1" 0 "$hits"
}

sbx_test_need_sbx secrets
mkdir -p "$tmp/ws"
K1=sk-ant-e2e-$RANDOM$RANDOM-global
K2=sk-openai-e2e-$RANDOM$RANDOM-sb1
K3=custom-e2e-$RANDOM$RANDOM

# ---- help and usage errors ----
"$SBX" secret --help >"$tmp/out" 2>&1 && grep -q "set (-g | SANDBOX) SERVICE" "$tmp/out" &&
	grep -q "anthropic, openai, github, google" "$tmp/out" && pass secret-help || fail secret-help
"$SBX" help | grep -q "^  secret VERB" && pass main-help-lists-secret || fail main-help-lists-secret
"$SBX" reset --help | grep -q -- "--preserve-secrets" && pass reset-help || fail reset-help
bad unknown-verb "sbx: secret: unknown verb 'frob' (see sbx secret --help)" "$SBX" secret frob
bad scope-required "sbx: secret set: give -g (global) or a SANDBOX name" "$SBX" secret set
bad argv-value-g "the key is never taken from the command line" "$SBX" secret set -g anthropic "$K1"
bad argv-value-noscope "the key is never taken from the command line" "$SBX" secret set anthropic "$K1"
bad argv-value-sb "the key is never taken from the command line" "$SBX" secret set sb1 anthropic "$K1"
grep -qF -- "$K1" "$tmp/err" && fail argv-value-not-echoed || pass argv-value-not-echoed
bad unknown-service "sbx: secret set: unknown service 'nosuch' (known: anthropic, openai" \
	"$SBX" secret set -g nosuch
bad custom-needs-host "give --host HOST and --env VAR" "$SBX" secret set-custom -g --env X
bad ls-extra "sbx: secret ls: takes only --json" "$SBX" secret ls foo

# ---- set from stdin (starts sbxd) ----
out=$(printf '%s\n' "$K1" | "$SBX" secret set -g anthropic 2>&1)
expect set-global "Stored secret anthropic for sandboxes created from now on
(existing sandboxes keep what they have: sbx secret set SANDBOX ... for one)" "$out"
[[ -S $sock ]] || {
	fail sbxd-started "no socket"
	exit 1
}
bad empty-value "empty key" "$SBX" secret set -g openai
out=$(printf 'a\nb\n' | "$SBX" secret set -g openai 2>&1)
[[ $? -ne 0 && $out == *"printable ASCII"* ]] && pass two-lines-refused || fail two-lines-refused "$out"
out=$(printf '%s\n' "$K1" | "$SBX" secret set -g nosuch 2>&1)
[[ $out == "sbx: secret set: unknown service 'nosuch' (known: "* ]] && pass unknown-service-stdin ||
	fail unknown-service-stdin "$out"
r=$(api POST /v1/secrets '{"service":"nosuch","value":"v"}')
[[ $(status "$r") == 400 && $r == *"known: anthropic"* ]] && pass api-unknown-400 || fail api-unknown-400 "$r"

expect ls-row "global   service   stored   api.anthropic.com   ANTHROPIC_API_KEY" \
	"$("$SBX" secret ls | awk '$1=="anthropic"{print $2"   "$3"   "$4"   "$5"   "$6}')"
expect ls-header "SERVICE SCOPE KIND SOURCE HOST ENV" "$("$SBX" secret ls | head -n 1 | tr -s " ")"
"$SBX" secret ls --json | python3 -c 'import json,sys; a=json.load(sys.stdin); assert a[0]["service"]=="anthropic" and "value" not in a[0]' &&
	pass ls-json || fail ls-json

# ---- the file ----
expect file-mode 600 "$(stat -c %a "$file")"
grep -qF -- "$K1" "$file" && pass file-holds-key || fail file-holds-key
expect config-dir-mode 700 "$(stat -c %a "$SBX_HOME/config")"

# ---- per-sandbox scope needs an existing sandbox (made through the API: no template) ----
out=$(printf '%s' "$K2" | "$SBX" secret set sb1 openai 2>&1)
[[ $? -ne 0 && $out == "sbx: secret set: no sandbox named sb1"* ]] && pass scope-unknown-sandbox ||
	fail scope-unknown-sandbox "$out"
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$tmp/ws\",\"name\":\"sb1\"}" >/dev/null
out=$(printf '%s' "$K2" | "$SBX" secret set sb1 openai 2>&1)
expect set-scoped "Stored secret openai for sandbox sb1" "$out"
out=$(printf '%s' "$K2" | "$SBX" secret set sb1 openai 2>&1)
expect set-replaced "Replaced secret openai for sandbox sb1" "$out"
expect ls-scoped "sb1" "$("$SBX" secret ls | awk '$1=="openai"{print $2}')"
out=$(printf '%s\n' "$K1" | "$SBX" secret set -g anthropic 2>&1)
expect set-global-replaced "Replaced secret anthropic (the sandboxes it applies to use the new key now)" "$out"

# ---- global secrets apply to sandboxes created after; a key from the host environment ----
# (sb1 was made after the global anthropic key: its sentinel is there; sb0 predates nothing)
senv() { api GET "/v1/sandboxes/$1" | sed '$d' | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["secret_env"])))'; }
expect global-applies-to-later "ANTHROPIC_API_KEY OPENAI_API_KEY" "$(senv sb1)"
sleep 1.1 # created_at has one-second steps: the next key is set strictly after sb1
KG=google-e2e-$RANDOM$RANDOM
printf '%s' "$KG" | "$SBX" secret set -g google >/dev/null 2>&1
expect global-not-for-earlier "ANTHROPIC_API_KEY OPENAI_API_KEY" "$(senv sb1)"
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$tmp/ws\",\"name\":\"sb2\"}" >/dev/null
expect global-for-later "ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY" "$(senv sb2)"
KE=sk-xai-e2e-$RANDOM$RANDOM
r=$(api POST /v1/secrets "{\"service\":\"xai\",\"sandbox\":\"sb2\",\"value\":\"$KE\",\"source\":\"env\"}")
[[ $(status "$r") == 201 && $r == *'"source":"env"'* && $r == *'"in_use":true'* ]] &&
	pass host-env-stored || fail host-env-stored "$r"
expect host-env-ls "sb2 service host env" "$("$SBX" secret ls | awk '$1=="xai"{print $2" "$3" "$4" "$5}')"
r=$(api POST /v1/secrets "{\"service\":\"anthropic\",\"sandbox\":\"sb2\",\"value\":\"x$KE\",\"source\":\"env\"}")
[[ $r == *'"in_use":false'* ]] && pass host-env-loses-to-global || fail host-env-loses-to-global "$r"
r=$(api POST /v1/secrets "{\"service\":\"xai\",\"value\":\"$KE\",\"source\":\"env\"}")
[[ $(status "$r") == 400 && $r == *"for one sandbox"* ]] && pass host-env-needs-sandbox ||
	fail host-env-needs-sandbox "$r"
r=$(api POST /v1/secrets "{\"service\":\"xai\",\"sandbox\":\"sb2\",\"value\":\"$KE\",\"source\":\"shell\"}")
[[ $(status "$r") == 400 ]] && pass source-bad-400 || fail source-bad-400 "$r"
leaks no-leak-env-key "$KE"
"$SBX" rm sb2 >/dev/null 2>&1
"$SBX" secret rm -g google >/dev/null 2>&1

# ---- custom ----
out=$(printf '%s' "$K3" | "$SBX" secret set-custom -g --host api.example.test --env EX_KEY 2>&1)
ph=$(sed -n 's/^Placeholder (the sandbox sees it in EX_KEY): //p' <<<"$out")
[[ $ph =~ ^sbx-ph-[0-9a-f]{32}$ ]] && pass custom-placeholder || fail custom-placeholder "$out"
expect ls-custom "global custom stored api.example.test EX_KEY" \
	"$("$SBX" secret ls | awk '$1=="api.example.test"{print $2" "$3" "$4" "$5" "$6}')"

[[ -s $SBX_HOME/data/sbxd.log ]] && pass sbxd-log-exists || fail sbxd-log-exists
leaks no-leak-k1 "$K1"
leaks no-leak-k2 "$K2"
leaks no-leak-k3 "$K3"

# ---- persistence across an sbxd restart ----
before=$("$SBX" secret ls)
pid=$(cat "$SBX_HOME/run/sbxd.pid")
kill "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
expect persists-restart "$before" "$("$SBX" secret ls)"

# ---- rm ----
expect rm-scoped "Removed secret openai for sandbox sb1" "$("$SBX" secret rm sb1 openai 2>&1)"
bad rm-missing "sbx: secret rm: no secret openai for sandbox sb1" "$SBX" secret rm sb1 openai
r=$(api DELETE /v1/secrets/anthropic?sandbox=sb1)
expect api-rm-404 404 "$(status "$r")"
grep -qF -- "$K2" "$file" && fail rm-gone-from-file || pass rm-gone-from-file

# ---- sbx rm of a sandbox drops its secrets, keeps the global ones ----
printf '%s' "$K2" | "$SBX" secret set sb1 openai >/dev/null 2>&1
"$SBX" rm sb1 >/dev/null 2>&1
expect rm-sandbox-drops "" "$("$SBX" secret ls | awk '$2=="sb1"{print $1}')"
grep -qF -- "$K2" "$file" && fail rm-sandbox-file || pass rm-sandbox-file

# ---- reset ----
"$SBX" reset -f --preserve-secrets >/dev/null 2>&1
expect reset-preserve "2" "$("$SBX" secret ls --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
grep -qF -- "$K1" "$file" && pass reset-preserve-file || fail reset-preserve-file
"$SBX" reset -f >/dev/null 2>&1
expect reset-deletes "0" "$("$SBX" secret ls --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
grep -qF -- "$K1" "$file" && fail reset-file-wiped || pass reset-file-wiped
expect reset-file-mode 600 "$(stat -c %a "$file")"

[[ $fails -eq 0 ]]
