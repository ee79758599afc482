#!/usr/bin/env bash
# End-to-end test of engine selection against a real sbxd in a private SBX_HOME, booting no VM:
# `sbx version` names the default engine and why, and where this host's KVM cannot run a stock
# kernel (PVM, no vmx/svm) `sbx create --engine kvm` fails with one line and leaves no sandbox.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/sandbox.bash
sbx_test_init sbxeng

sbx_test_need_sbx engine
mkdir -p "$tmp/ws"

# the first call starts sbxd on demand
timeout 30 "$SBX" version >"$tmp/out" 2>"$tmp/err"
rc=$?
engine=$(sed -n 's/^Engine:  \([a-z]*\) (accel \(.*\))$/\1/p' "$tmp/out")
accel=$(sed -n 's/^Engine:  .* (accel \(.*\))$/\1/p' "$tmp/out")
why=$(sed -n 's/^         default because: //p' "$tmp/out")
if [[ $rc -eq 0 && -n $engine && -n $why ]]; then
	pass version-engine-why
else
	fail version-engine-why "rc=$rc $(cat "$tmp/out" "$tmp/err" | tr '\n' ' ')"
fi
grep -q "default engine $engine ($why)" "$SBX_HOME/data/sbxd.log" 2>/dev/null &&
	pass sbxd-logs-engine-choice || fail sbxd-logs-engine-choice "$(tail -n 5 "$SBX_HOME/data/sbxd.log" 2>&1)"
[[ $(grep -c 'default engine' "$SBX_HOME/data/sbxd.log" 2>/dev/null) == 1 ]] &&
	pass sbxd-logs-engine-once || fail sbxd-logs-engine-once

bad unknown-engine "unknown engine frob (use --engine kvm or --engine qemu)" \
	timeout 30 "$SBX" create --engine frob shell "$tmp/ws"

if [[ $accel == tcg ]]; then
	# this host's KVM cannot run a stock kernel: qemu is the default, kvm is refused at create
	expect default-engine-qemu qemu "$engine"
	bad create-engine-kvm-refused "sbx: engine kvm: $why (use --engine qemu)" \
		timeout 30 "$SBX" create --engine kvm --name k1 shell "$tmp/ws"
	[[ -z $(timeout 30 "$SBX" ls -q) && ! -e $SBX_HOME/data/sandboxes/k1 ]] &&
		pass create-engine-kvm-leaves-nothing || fail create-engine-kvm-leaves-nothing
	bad run-engine-kvm-refused "engine kvm: $why (use --engine qemu)" \
		timeout 30 "$SBX" run --engine kvm --name k2 shell "$tmp/ws"
	[[ -z $(timeout 30 "$SBX" ls -q) ]] && pass run-engine-kvm-leaves-nothing ||
		fail run-engine-kvm-leaves-nothing
else
	echo "SKIP create-engine-kvm-refused: KVM here runs a stock kernel (default $engine)"
fi

# a sandbox created through the API (no assets fetched, nothing booted) shows its engine in
# ls --json
code=$(curl -sS --max-time 30 --unix-socket "$SBX_HOME/run/sbxd.sock" -X POST \
	-H 'Content-Type: application/json' -o "$tmp/body" -w '%{http_code}' \
	-d "{\"agent\":\"shell\",\"workspace\":\"$tmp/ws\",\"name\":\"q1\",\"engine\":\"qemu\"}" \
	http://sbx/v1/sandboxes 2>&1)
if [[ $code == 201 || $code == 200 ]]; then
	timeout 30 "$SBX" ls --json >"$tmp/out"
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert [s["engine"] for s in a if s["name"]=="q1"]==["qemu"]' "$tmp/out" &&
		pass ls-json-engine || fail ls-json-engine "$(head -c 300 "$tmp/out")"
	timeout 60 "$SBX" rm q1 >/dev/null 2>&1
else
	fail ls-json-engine "create: $code $(cat "$tmp/body" 2>/dev/null)"
fi

exit $((fails > 0))
