#!/usr/bin/env bash
# End-to-end test of the network policy surface without a VM: `sbx policy` (every verb and
# its error lines), the /v1/policies and /v1/policy/ endpoints with curl, persistence across
# an sbxd restart, check answers for each pattern form, per-sandbox scope, the first-use
# preset question, and rm/reset forgetting rules. A private SBX_HOME; cleans up on any exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/sandbox.bash
sbx_test_init sbxpol
unset SBX_CACHE_DIR # nothing here needs a template; never touch a shared cache

sock=$SBX_HOME/run/sbxd.sock
api() { # <method> <path> [json body]: prints the body, then the status on the last line
	curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" \
		${3:+-H 'Content-Type: application/json' -d "$3"} "http://sbx$2"
}
status() { tail -n 1 <<<"$1"; }
body() { sed '$d' <<<"$1"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }


# check_is <name> <want stdout> <want exit> <check args...>
check_is() {
	local name=$1 want=$2 wrc=$3 got rc
	shift 3
	got=$("$SBX" policy check "$@" 2>&1 </dev/null)
	rc=$?
	if [[ $got == "$want" && $rc -eq $wrc ]]; then pass "$name"; else
		fail "$name" "want '$want' rc $wrc, got '$got' rc $rc"
	fi
}

sbx_test_need_sbx policy
mkdir -p "$tmp/ws"

# ---- help and usage errors (no sbxd needed) ----
"$SBX" policy --help >"$tmp/out" 2>&1 && grep -q "set-default allow-all|balanced|deny-all" "$tmp/out" &&
	grep -q "check (-g | SANDBOX) HOST\[:PORT\]" "$tmp/out" && pass policy-help || fail policy-help
"$SBX" help | grep -q "^  policy VERB" && pass main-help-lists-policy || fail main-help-lists-policy
bad unknown-verb "sbx: policy: unknown verb 'frob' (see sbx policy --help)" "$SBX" policy frob
bad unknown-type "sbx: policy allow: unknown policy type 'disk' (only network)" "$SBX" policy allow disk -g a.com
bad missing-type "sbx: policy deny: missing the type (network)" "$SBX" policy deny
bad scope-required "sbx: policy allow: give -g (every sandbox) or a SANDBOX name before the resources" \
	"$SBX" policy allow network a.com
bad scope-exclusive "sbx: policy allow: -g and a SANDBOX (sb1) exclude each other" \
	"$SBX" policy allow network -g sb1 a.com
bad missing-resources "sbx: policy allow: missing RESOURCES" "$SBX" policy allow network -g
bad unquoted-list "unexpected argument 'b.com' (quote the list" "$SBX" policy allow network sb1 a.com b.com
bad bad-sandbox-name "sbx: policy deny: 'Bad/Name' is not a sandbox name" "$SBX" policy deny network Bad/Name a.com
bad rm-needs-resource "rm: give the pattern as --resource R" "$SBX" policy rm network -g
bad check-args "sbx: policy check: give SANDBOX HOST[:PORT] (or -g HOST[:PORT])" "$SBX" policy check
bad reset-needs-tty "sbx: policy reset: no terminal to confirm on (use sbx policy reset -f)" "$SBX" policy reset
bad ls-extra "sbx: policy ls: takes only --json" "$SBX" policy ls foo
"$SBX" policy check >/dev/null 2>&1 </dev/null
expect check-usage-exit-2 2 $?

# ---- first use: never asks or blocks without a terminal ----
out=$(timeout 20 "$SBX" create nosuchagent "$tmp/ws" 2>&1 </dev/null)
rc=$?
if [[ $rc -eq 1 && $out == "sbx: unknown agent nosuchagent"* && $(wc -l <<<"$out") -eq 1 ]]; then
	pass first-use-silent-without-tty
else
	fail first-use-silent-without-tty "rc=$rc $out"
fi
"$SBX" version >/dev/null 2>&1 # starts sbxd
[[ -S $sock ]] || {
	fail sbxd-started "no socket"
	exit 1
}
r=$(api GET /v1/policy/default)
expect default-unset '{"preset":null}' "$(body "$r")"
expect ls-empty "NAME   TYPE   ORIGIN   DECISION   SCOPE   STATUS   RESOURCES" "$("$SBX" policy ls)"
check_is default-deny-before-choice "deny (default deny)" 1 -g api.anthropic.com:443

# on a terminal it asks once; Enter picks balanced
printf '\n' | script -qec "$SBX create nosuchagent $tmp/ws" /dev/null >"$tmp/out" 2>&1
if grep -q "Network policy for sandboxes: 1) balanced (recommended) 2) allow-all 3) deny-all \[1\]:" "$tmp/out" &&
	grep -q "Network policy: balanced" "$tmp/out"; then
	pass first-use-prompt
else
	fail first-use-prompt "$(tr -d '\r' <"$tmp/out" | tr '\n' ' ')"
fi
expect first-use-stored balanced "$(body "$(api GET /v1/policy/default)" | jq_ 'd["preset"]')"
# ... and never again once chosen
printf '2\n' | script -qec "$SBX create nosuchagent $tmp/ws" /dev/null >"$tmp/out" 2>&1
if grep -q "Network policy for" "$tmp/out"; then fail first-use-once; else pass first-use-once; fi
check_is balanced-allows-anthropic "allow (rule preset-balanced: api.anthropic.com)" 0 -g api.anthropic.com:443
check_is balanced-denies-other "deny (default deny)" 1 -g example.com

# ---- set-default ----
"$SBX" policy set-default allow-all >"$tmp/out" 2>&1 && grep -q "Default network policy: allow-all (1 allowed" "$tmp/out" &&
	pass set-default-allow-all || fail set-default-allow-all "$(cat "$tmp/out")"
check_is allow-all-allows "allow (rule preset-allow-all: **)" 0 -g anything.example:8080
"$SBX" policy set-default deny-all >/dev/null && pass set-default-deny-all || fail set-default-deny-all
check_is deny-all-denies "deny (default deny)" 1 -g api.anthropic.com:443
bad set-default-unknown 'sbx: policy set-default: unknown preset "open" (use one of: allow-all, balanced, deny-all)' \
	"$SBX" policy set-default open
"$SBX" policy set-default balanced >/dev/null

# ---- rules ----
# the name a policy got, from "Added NAME: ..."
added() { sed -n 's/^Added \([a-z]*-[0-9]*\): .*/\1/p' "$tmp/out"; }
"$SBX" policy allow network -g "exact.test, *.one.test,**.deep.test,10.0.0.0/8,svc.test:8443" >"$tmp/out" 2>&1
A=$(added)
expect allow-global "Added $A: allow 5 resource(s) for every sandbox" "$(cat "$tmp/out")"
[[ $A == allow-[0-9]* ]] && pass allow-name || fail allow-name "$A"
"$SBX" policy allow network -g "exact.test,*.one.test,**.deep.test,10.0.0.0/8,svc.test:8443" >"$tmp/out" 2>&1
expect allow-again-is-idempotent "Already have $A: allow 5 resource(s) for every sandbox" "$(cat "$tmp/out")"
bad bad-resource 'sbx: policy allow: bad resource: item 2 "a..b": ' "$SBX" policy allow network -g "ok.test,a..b"
bad bad-cidr "10.0.0.0/8" "$SBX" policy allow network -g "10.1.0.0/8"
bad unknown-sandbox "sbx: policy allow: no sandbox named ghost (see sbx ls; -g for all)" \
	"$SBX" policy allow network ghost a.com
"$SBX" policy deny network -g "bad.one.test,**.evil.deep.test" >"$tmp/out" && pass deny-global || fail deny-global
D=$(added)
"$SBX" policy allow network -g "**" >"$tmp/out" && pass allow-everything || fail allow-everything
E=$(added)
# with ** allowed, only deny rules still refuse
check_is check-exact "allow (rule $A: exact.test)" 0 -g exact.test
check_is check-one-level "allow (rule $A: *.one.test)" 0 -g a.one.test:443
check_is check-deny-wins "deny (rule $D: bad.one.test)" 1 -g bad.one.test:443
check_is check-any-depth "allow (rule $A: **.deep.test)" 0 -g a.b.deep.test
check_is check-any-depth-deny "deny (rule $D: **.evil.deep.test)" 1 -g x.evil.deep.test
check_is check-cidr "allow (rule $A: 10.0.0.0/8)" 0 -g 10.1.2.3:22
check_is check-port "allow (rule $A: svc.test:8443)" 0 -g svc.test:8443
check_is check-everything "allow (rule $E: **)" 0 -g unrelated.example:443
"$SBX" policy rm "$E" >"$tmp/out" && expect rm-by-name "Removed policy $E" "$(cat "$tmp/out")"
check_is check-other-port "deny (default deny)" 1 -g svc.test:80
check_is check-no-subdomain "deny (default deny)" 1 -g sub.exact.test
check_is check-one-level-only "deny (default deny)" 1 -g a.b.one.test
check_is check-dns-time "allow (rule $A: svc.test:8443)" 0 -g svc.test
check_is check-ipv6 "deny (default deny)" 1 -g "[::1]:443"
out=$("$SBX" policy check -g 127.0.0.1:80 </dev/null)
expect check-blocked-default "deny (default deny)" "$out"
bad check-bad-port 'sbx: policy check: bad port "99999" (1..65535)' "$SBX" policy check -g a.test:99999
bad check-bad-host 'sbx: policy check: bad host "a..b"' "$SBX" policy check -g a..b
bad check-unknown-sandbox "sbx: policy check: no sandbox named ghost" "$SBX" policy check ghost a.test

# ---- per-sandbox scope (sandboxes made through the API: no template needed) ----
api_create() {
	api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$tmp/ws\",\"name\":\"$1\"}" >/dev/null
}
api_create sb1
api_create sb2
"$SBX" policy allow network sb1 "only.sb1.test" >"$tmp/out" 2>&1
S=$(added)
expect allow-scoped "Added $S: allow 1 resource(s) for sandbox sb1" "$(cat "$tmp/out")"
"$SBX" policy deny network sb2 "exact.test" >"$tmp/out"
T=$(added)
check_is scope-own "allow (rule $S: only.sb1.test)" 0 sb1 only.sb1.test:443
check_is scope-other "deny (default deny)" 1 sb2 only.sb1.test:443
check_is scope-global-applies "allow (rule $A: exact.test)" 0 sb1 exact.test
check_is scope-deny-wins "deny (rule $T: exact.test)" 1 sb2 exact.test
"$SBX" policy ls >"$tmp/out"
if grep -qE "^$S +network +user +allow +sb1 +active +only.sb1.test$" "$tmp/out" &&
	grep -qE "^preset-balanced +network +preset +allow +global +active +api.anthropic.com, .*\(71 in all\)$" "$tmp/out" &&
	grep -qE "^$D +network +user +deny +global +active +bad.one.test, \*\*.evil.deep.test$" "$tmp/out"; then
	pass ls-table
else
	fail ls-table "$(cat "$tmp/out")"
fi
"$SBX" policy ls --json | A=$A S=$S python3 -c '
import json,sys,os
a={p["name"]:p for p in json.load(sys.stdin)}
p=a[os.environ["A"]]
assert p["type"]=="network" and p["origin"]=="user" and p["decision"]=="allow" and p["scope"]=="global"
assert p["status"]=="active" and p["resources"]==["exact.test","*.one.test","**.deep.test","10.0.0.0/8","svc.test:8443"], p
assert a[os.environ["S"]]["scope"]=="sb1" and a["preset-balanced"]["origin"]=="preset"
' && pass ls-json || fail ls-json

# rm network --resource: takes one pattern out, keeps the rest
out=$("$SBX" policy rm network -g --resource "*.ONE.test" 2>&1)
expect rm-resource "Removed *.ONE.test from 1 policy(ies)" "$out"
check_is rm-resource-gone "deny (default deny)" 1 -g a.one.test
check_is rm-resource-rest "allow (rule $A: exact.test)" 0 -g exact.test
bad rm-resource-none 'sbx: policy rm: no policy global has nothere.test' "$SBX" policy rm network -g --resource nothere.test
bad rm-unknown "sbx: policy rm: no policy named allow-99 (see sbx policy ls)" "$SBX" policy rm allow-99
bad rm-preset "preset-balanced comes from the default preset" "$SBX" policy rm preset-balanced

# ---- the API directly ----
r=$(api POST /v1/policies '{"decision":"deny","resources":["a.api.test","b.api.test:443"],"sandbox":"sb1"}')
expect api-post-201 201 "$(status "$r")"
P=$(body "$r" | jq_ 'd["name"]')
expect api-post-body "$P sb1 a.api.test,b.api.test:443 active" \
	"$(body "$r" | jq_ 'd["name"],d["scope"],",".join(d["resources"]),d["status"]' | tr '\n' ' ' | sed 's/ $//')"
r=$(api POST /v1/policies '{"decision":"allow","resources":"x..y"}')
expect api-post-400 400 "$(status "$r")"
body "$r" | grep -q 'item 1 \\"x..y\\"' && pass api-post-400-names-item || fail api-post-400-names-item "$(body "$r")"
expect api-post-not-json 400 "$(status "$(api POST /v1/policies 'nope')")"
expect api-post-bad-decision 400 "$(status "$(api POST /v1/policies '{"decision":"maybe","resources":"a.test"}')")"
expect api-post-unknown-sandbox 404 "$(status "$(api POST /v1/policies '{"decision":"allow","resources":"a.test","sandbox":"ghost"}')")"
r=$(api GET /v1/policies)
expect api-list 200 "$(status "$r")"
expect api-list-count 6 "$(body "$r" | jq_ 'len(d)')"
r=$(api GET '/v1/policy/check?sandbox=sb1&host=a.api.test&port=443')
expect api-check "deny $P a.api.test" "$(body "$r" | jq_ 'd["decision"],d["rule"]["name"],d["rule"]["resource"]' | tr '\n' ' ' | sed 's/ $//')"
r=$(api GET '/v1/policy/check?host=nowhere.test')
expect api-check-default "deny None" "$(body "$r" | jq_ 'd["decision"],d["rule"]' | tr '\n' ' ' | sed 's/ $//')"
body "$r" | grep -q "connect time" && pass api-check-note || fail api-check-note
expect api-check-no-host 400 "$(status "$(api GET /v1/policy/check)")"
r=$(api DELETE '/v1/policies?resource=b.api.test:443&sandbox=sb1')
expect api-delete-resource '{"changed":1}' "$(body "$r")"
expect api-delete-resource-404 404 "$(status "$(api DELETE '/v1/policies?resource=b.api.test:443&sandbox=sb1')")"
expect api-delete-needs-resource 400 "$(status "$(api DELETE /v1/policies)")"
expect api-delete-name 204 "$(status "$(api DELETE "/v1/policies/$P")")"
expect api-delete-name-404 404 "$(status "$(api DELETE "/v1/policies/$P")")"
expect api-default-put-400 400 "$(status "$(api PUT /v1/policy/default '{"preset":"x"}')")"
expect api-method 405 "$(status "$(api PUT /v1/policies '{}')")"
expect api-log-empty '{"allowed":[],"blocked":[]}' "$(body "$(api GET /v1/policy/log)")"
"$SBX" policy log >"$tmp/out" 2>&1
expect log-tables "Blocked|SANDBOX   TYPE   HOST   PROXY   RULE   REASON   LAST-SEEN   COUNT||Allowed|SANDBOX   TYPE   HOST   PROXY   RULE   REASON   LAST-SEEN   COUNT" \
	"$(tr '\n' '|' <"$tmp/out" | sed 's/|$//')"
"$SBX" policy log sb1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d=={"allowed":[],"blocked":[]}' &&
	pass log-json || fail log-json

# ---- persistence across an sbxd restart ----
before=$("$SBX" policy ls)
pid=$(cat "$SBX_HOME/run/sbxd.pid")
kill "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail sbxd-stopped "pid $pid still runs"
after=$("$SBX" policy ls) # starts a new sbxd
expect persists-restart "$before" "$after"
[[ $(cat "$SBX_HOME/run/sbxd.pid") != "$pid" ]] && pass new-sbxd || fail new-sbxd
check_is persists-check "allow (rule $S: only.sb1.test)" 0 sb1 only.sb1.test:443
expect persists-preset balanced "$(body "$(api GET /v1/policy/default)" | jq_ 'd["preset"]')"

# ---- sbx rm forgets the sandbox's rules; reset forgets everything ----
"$SBX" rm sb1 >/dev/null 2>&1
if "$SBX" policy ls | grep -q "sb1"; then fail rm-forgets-rules "$("$SBX" policy ls)"; else pass rm-forgets-rules; fi
printf 'n\n' | script -qec "$SBX policy reset" /dev/null >"$tmp/out" 2>&1
if grep -q "Continue? \[y/N\]" "$tmp/out" && "$SBX" policy ls | grep -q "$A"; then
	pass reset-prompt-no
else
	fail reset-prompt-no "$(tr -d '\r' <"$tmp/out")"
fi
"$SBX" policy reset -f >"$tmp/out" 2>&1
expect reset-f-empty "NAME   TYPE   ORIGIN   DECISION   SCOPE   STATUS   RESOURCES" "$("$SBX" policy ls)"
expect reset-f-preset '{"preset":null}' "$(body "$(api GET /v1/policy/default)")"
"$SBX" policy set-default balanced >/dev/null
"$SBX" policy allow network -g "kept.test" >/dev/null
"$SBX" reset -f >/dev/null 2>&1
expect sbx-reset-clears-policy "0 None" "$(body "$(api GET /v1/policies)" | jq_ 'len(d)') $(body "$(api GET /v1/policy/default)" | jq_ 'd["preset"]')"

[[ $fails -eq 0 ]]
