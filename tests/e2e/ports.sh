#!/usr/bin/env bash
# End-to-end test of port publishing (issue 6) with the real sbxd and ONE sandbox: bad specs
# refused by the CLI before any request; then in a VM, HTTP servers bound to 0.0.0.0 and to
# 127.0.0.1 inside reached through a fixed and an ephemeral host port, `sbx ls`/`sbx ports`
# output, conflicts (another publication, a host program), the non-loopback warning, 100
# parallel connections, a slow reader beside other requests, UDP echo, unpublish, `sbx run -p`,
# publications restored after stop/start, a 1 GiB transfer, and every host port closed by rm.
# Cleans up every process and file it starts.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/sandbox.bash
sbx_test_init --cache sbxports
ws=$tmp/ws
n=prt

sbx_test_need_sbx ports
mkdir -p "$ws/www"

# ---- bad specs: refused before any request (no sbxd is started for them) ----
bad spec-sandbox-port 'sbx: ports: port spec 80x: sandbox port "80x" is not a number from 1 to 65535' \
	"$SBX" ports box -p 80x
bad spec-port-zero 'port spec 0: sandbox port "0" is not a number from 1 to 65535' \
	"$SBX" ports box --publish 0
bad spec-protocol 'port spec 8080:80/sctp: protocol "sctp" is not tcp or udp' \
	"$SBX" ports box -p 8080:80/sctp
bad spec-host-port 'port spec 99999:80: host port "99999" is not a number from 1 to 65535' \
	"$SBX" ports box -p 99999:80
bad spec-host-ip 'port spec 1.2.3:80:80: host address "1.2.3" is not an IP address' \
	"$SBX" ports box -p 1.2.3:80:80
bad spec-ipv6-brackets 'write an IPv6 host address as [ADDR]:' "$SBX" ports box -p '[::1:80:80'
bad spec-unpublish 'sbx: ports: port spec x/udp:' "$SBX" ports box --unpublish x/udp
bad spec-run 'sbx: run: port spec 70000: sandbox port "70000"' "$SBX" run -p 70000 shell "$ws"
bad spec-create 'sbx: create: port spec a:b:c:d: ' "$SBX" create --publish a:b:c:d shell "$ws"
bad spec-before-other-errors 'port spec 80x' "$SBX" ports box -p 1 -p 80x
bad ports-missing-name 'sbx: ports: missing NAME (see sbx ports --help)' "$SBX" ports
bad ports-two-names "sbx: ports: unexpected argument 'b'" "$SBX" ports a b
bad ports-json-and-publish '--json lists only' "$SBX" ports box --json -p 3000
bad ports-unknown-flag 'sbx: unknown flag --frob for ports (see sbx ports --help)' "$SBX" ports box --frob
bad ports-bad-name 'sbx: no sandbox named Bad/x (see sbx ls)' "$SBX" ports Bad/x
[[ ! -e $SBX_HOME/run/sbxd.sock ]] && pass bad-specs-send-nothing ||
	fail bad-specs-send-nothing "sbxd was started"
"$SBX" ports --help >"$tmp/out" 2>&1 && grep -qF '[[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp|/udp]' "$tmp/out" &&
	pass ports-help || fail ports-help "$(head -c 300 "$tmp/out")"
"$SBX" help >"$tmp/out" 2>&1 && grep -q '^  ports NAME' "$tmp/out" && pass help-lists-ports ||
	fail help-lists-ports

sbx_test_need_cache ports

# ---- host side: files to serve, free ports, a program holding one ----
echo "hello through a published port" >"$ws/www/hello.txt"
head -c 262144 /dev/urandom >"$ws/www/mid.bin"
cat >"$ws/serve.py" <<'EOF'
# serve.py BIND PORT DIR: http.server's handler, threaded, with a listen backlog for 100 clients
import http.server, os, socketserver, sys
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
os.chdir(sys.argv[3])
S((sys.argv[1], int(sys.argv[2])), H).serve_forever()
EOF
cat >"$ws/udp_echo.py" <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 9999))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
EOF
cat >"$tmp/udp_client.py" <<'EOF'
# udp_client.py HOST PORT: send 3 datagrams, print how many distinct echoes came back
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
want = {b"one-%d" % i for i in range(3)}
for d in sorted(want):
    s.sendto(d, (sys.argv[1], int(sys.argv[2])))
got = set()
try:
    while got != want:
        d, _ = s.recvfrom(65535)
        got.add(d)
except socket.timeout:
    pass
print(len(got & want))
EOF
cat >"$tmp/slow_reader.py" <<'EOF'
# slow_reader.py PORT: ask netpump for 1 GiB and never read the answer until killed
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
c.sendall(b"GEN 1073741824 1\n")
print("sent", flush=True)
time.sleep(600)
EOF
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# curl on the host, never through a proxy from the environment
hc() { curl --noproxy '*' -sS "$@"; }
# wait_http <port> <path>: a published server answers (it may still be starting inside)
wait_http() {
	local i
	for ((i = 0; i < 60; i++)); do
		hc --max-time 5 -o /dev/null "http://127.0.0.1:$1$2" 2>/dev/null && return 0
		sleep 1
	done
	return 1
}
# refused <port>: nothing listens on 127.0.0.1:<port> (curl: "couldn't connect", exit 7)
refused() {
	hc --max-time 10 -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null
	[[ $? -eq 7 ]]
}
X() { timeout 120 "$SBX" exec "$n" "$@"; }
serve_inside() { # (re)start both HTTP servers and the UDP echo inside, detached
	timeout 120 "$SBX" exec -d "$n" python3 "$ws/serve.py" 0.0.0.0 8000 "$ws/www" >/dev/null 2>&1
	timeout 120 "$SBX" exec -d "$n" python3 "$ws/serve.py" 127.0.0.1 8001 "$ws/www" >/dev/null 2>&1
	timeout 120 "$SBX" exec -d "$n" python3 "$ws/udp_echo.py" >/dev/null 2>&1
	timeout 120 "$SBX" exec -d "$n" "$ws/netpump" serve 7001 127.0.0.1 >/dev/null 2>&1
}
# np_ok <port> <bytes> <seed>: netpump's stream through the port has the right sha256
np_ok() {
	local want got
	want=$("$NP" gen "$2" "$3" | sha256sum | cut -d' ' -f1)
	got=$(set -o pipefail; timeout 600 "$NP" get 127.0.0.1 "$1" "$2" "$3" | sha256sum | cut -d' ' -f1)
	[[ $? -eq 0 && $got == "$want" ]]
}

# netpump (tests/guest/netpump.c, static): the stream server inside, the client on the host
NP=$top/build/guest/netpump
[[ -x $NP ]] || {
	fail ports-netpump "$NP missing (run make)"
	exit 1
}
cp "$NP" "$ws/netpump"

FIX=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen();
print(s.getsockname()[1], flush=True); time.sleep(900)' >"$tmp/hold.port" 2>/dev/null &
srv_pids+=($!)
for _ in $(seq 50); do [[ -s $tmp/hold.port ]] && break; sleep 0.1; done
HOLD=$(cat "$tmp/hold.port")

# ---- create with -p: recorded on the stopped sandbox ----
timeout 120 "$SBX" create --name $n -m 1g -p "$FIX:8000" shell "$ws" >"$tmp/out" 2>"$tmp/err"
expect create-rc 0 "$?"
grep -qx "Published 127.0.0.1:$FIX -> 8000/tcp (bound when $n starts)" "$tmp/out" &&
	pass create-publish-stopped || fail create-publish-stopped "$(cat "$tmp/out" "$tmp/err")"
expect ports-list-stopped "127.0.0.1:$FIX -> 8000/tcp" "$(timeout 30 "$SBX" ports $n 2>&1)"
refused "$FIX" && pass stopped-not-listening || fail stopped-not-listening "port $FIX answers"
bad ports-unknown-sandbox "sbx: no sandbox named ghost (see sbx ls)" timeout 30 "$SBX" ports ghost

# ---- in the VM: servers on 0.0.0.0:8000 and 127.0.0.1:8001 ----
expect boot-ok "ok" "$(X echo ok 2>/dev/null)"
serve_inside
wait_http "$FIX" /hello.txt && pass fixed-port-answers || fail fixed-port-answers "no answer on $FIX"
expect fixed-0000-bound "$(cat "$ws/www/hello.txt")" "$(hc --max-time 30 "http://127.0.0.1:$FIX/hello.txt" 2>&1)"

# isolation: a port published on 127.0.0.1 is not reachable through the host's other addresses,
# and the guest still has no network device
other=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
if [[ -n $other ]]; then
	hc --max-time 10 -o /dev/null "http://$other:$FIX/hello.txt" 2>/dev/null
	expect loopback-only-not-on-$other 7 "$?"
else
	echo "SKIP loopback-only: the host has no other IPv4 address"
fi
# (docker0 and veths are virtual: no device behind them; a NIC would have one)
expect guest-no-net-device "0" "$(X sh -c 'ls -d /sys/class/net/*/device 2>/dev/null | wc -l' 2>/dev/null)"

timeout 30 "$SBX" ports $n --publish 8001 >"$tmp/out" 2>"$tmp/err"
expect publish-ephemeral-rc 0 "$?"
EPH=$(sed -n 's|^Published 127\.0\.0\.1:\([0-9][0-9]*\) -> 8001/tcp$|\1|p' "$tmp/out")
[[ -n $EPH && $EPH -gt 0 && ! -s $tmp/err ]] && pass publish-ephemeral-line ||
	fail publish-ephemeral-line "$(cat "$tmp/out" "$tmp/err")"
EPH=${EPH:-1}
wait_http "$EPH" /hello.txt && pass ephemeral-port-answers || fail ephemeral-port-answers "no answer on $EPH"
expect ephemeral-127-bound "$(cat "$ws/www/hello.txt")" "$(hc --max-time 30 "http://127.0.0.1:$EPH/hello.txt" 2>&1)"
timeout 30 "$SBX" ports $n --publish 8001 >"$tmp/out" 2>&1
grep -q '^Published 127\.0\.0\.1:[0-9]* -> 8001/tcp$' "$tmp/out" && pass publish-again-idempotent ||
	fail publish-again-idempotent "$(cat "$tmp/out")"
expect ports-count-after-repeat 2 "$(timeout 30 "$SBX" ports $n | wc -l)"

# ---- what sbx shows ----
expect ports-list "$(printf '%s\n' "127.0.0.1:$FIX -> 8000/tcp" "127.0.0.1:$EPH -> 8001/tcp" | sort)" \
	"$(timeout 30 "$SBX" ports $n | sort)"
"$SBX" ls >"$tmp/out"
line=$(grep "^$n " "$tmp/out")
if [[ $line == *"127.0.0.1:$FIX->8000/tcp"* && $line == *"127.0.0.1:$EPH->8001/tcp"* &&
	$line == *", "* ]]; then
	pass ls-ports-column
else
	fail ls-ports-column "$(cat "$tmp/out")"
fi
timeout 30 "$SBX" ports $n --json >"$tmp/ports.json"
python3 - "$tmp/ports.json" "$FIX" "$EPH" <<'EOF' && pass ports-json || fail ports-json "$(head -c 400 "$tmp/ports.json")"
import json, sys
a = json.load(open(sys.argv[1]))
by = {p["sandbox_port"]: p for p in a}
assert len(a) == 2 and set(by) == {8000, 8001}, a
f, e = by[8000], by[8001]
assert (f["host_ip"], f["host_port"], f["protocol"], f["ephemeral"], f["active"]) == \
    ("127.0.0.1", int(sys.argv[2]), "tcp", False, True), f
assert (e["host_ip"], e["host_port"], e["protocol"], e["ephemeral"], e["active"]) == \
    ("127.0.0.1", int(sys.argv[3]), "tcp", True, True), e
EOF
timeout 30 "$SBX" ls --json >"$tmp/ls.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[0]; assert len(s["ports"]) == 2, s' \
	"$tmp/ls.json" && pass ls-json-ports || fail ls-json-ports "$(head -c 400 "$tmp/ls.json")"

# ---- conflicts and the warning ----
bad host-port-taken-by-publication "host port 127.0.0.1:$FIX/tcp is already in use" \
	timeout 30 "$SBX" ports $n -p "$FIX:8001"
bad host-port-taken-by-program "host port 127.0.0.1:$HOLD/tcp is already in use" \
	timeout 30 "$SBX" ports $n -p "$HOLD:8000"
expect ports-unchanged-after-conflicts 2 "$(timeout 30 "$SBX" ports $n | wc -l)"
timeout 30 "$SBX" ports $n -p 0.0.0.0::8000 >"$tmp/out" 2>"$tmp/err"
expect publish-all-addresses-rc 0 "$?"
[[ $(wc -l <"$tmp/err") -eq 1 ]] && grep -q '^Warning: ' "$tmp/err" && pass non-loopback-warning ||
	fail non-loopback-warning "stderr: $(cat "$tmp/err")"
ANY=$(sed -n 's|^Published 0\.0\.0\.0:\([0-9][0-9]*\) -> 8000/tcp$|\1|p' "$tmp/out")
[[ -n $ANY ]] && pass publish-all-addresses-line || fail publish-all-addresses-line "$(cat "$tmp/out")"
expect all-addresses-answers "$(cat "$ws/www/hello.txt")" \
	"$(hc --max-time 30 "http://127.0.0.1:${ANY:-1}/hello.txt" 2>&1)"
# unpublish narrowed by the address: only the 0.0.0.0 one goes
timeout 30 "$SBX" ports $n --unpublish 0.0.0.0::8000 >"$tmp/out" 2>&1
expect unpublish-by-address "Unpublished 0.0.0.0:${ANY:-1} -> 8000/tcp" "$(cat "$tmp/out")"
expect fixed-kept-after-narrow-unpublish "$(cat "$ws/www/hello.txt")" \
	"$(hc --max-time 30 "http://127.0.0.1:$FIX/hello.txt" 2>&1)"

# ---- 100 parallel connections, each with the right bytes ----
mkdir -p "$tmp/par"
seq 100 | timeout 300 xargs -P 100 -I{} curl --noproxy '*' -s --max-time 240 \
	-o "$tmp/par/{}" "http://127.0.0.1:$FIX/mid.bin"
ok=0
for i in $(seq 100); do cmp -s "$tmp/par/$i" "$ws/www/mid.bin" && ok=$((ok + 1)); done
expect parallel-100-right-bytes 100 "$ok"

# ---- a reader that never reads does not hold up the others on the same port ----
NPP=$(free_port)
timeout 30 "$SBX" ports $n -p "$NPP:7001" >"$tmp/out" 2>&1
expect publish-netpump "Published 127.0.0.1:$NPP -> 7001/tcp" "$(cat "$tmp/out")"
for _ in $(seq 60); do "$NP" ping 127.0.0.1 "$NPP" 1 >/dev/null 2>&1 && break; sleep 1; done
timeout 900 python3 "$tmp/slow_reader.py" "$NPP" >"$tmp/slow.out" 2>&1 &
slow=$!
srv_pids+=("$slow")
for _ in $(seq 100); do grep -q sent "$tmp/slow.out" && break; sleep 0.1; done
sleep 3 # every buffer on its path fills
ok=0
for i in $(seq 5); do np_ok "$NPP" 300000 "$i" && ok=$((ok + 1)); done
expect slow-reader-others-served 5 "$ok"
kill "$slow" 2>/dev/null

# ---- UDP: an echo server on 127.0.0.1:9999 inside ----
udp_up=0
for _ in $(seq 30); do
	X python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b"x", ("127.0.0.1", 9999)); s.recvfrom(10)' >/dev/null 2>&1 && udp_up=1 && break
	sleep 1
done
expect udp-echo-up-inside 1 "$udp_up"
timeout 30 "$SBX" ports $n -p 9999/udp >"$tmp/out" 2>"$tmp/err"
UDP=$(sed -n 's|^Published 127\.0\.0\.1:\([0-9][0-9]*\) -> 9999/udp$|\1|p' "$tmp/out")
[[ -n $UDP ]] && pass publish-udp || fail publish-udp "$(cat "$tmp/out" "$tmp/err")"
expect udp-3-echoes 3 "$(timeout 60 python3 "$tmp/udp_client.py" 127.0.0.1 "${UDP:-1}" 2>&1)"

# ---- unpublish: the host port refuses connections ----
timeout 30 "$SBX" ports $n --unpublish 8001 >"$tmp/out" 2>&1
expect unpublish-line "Unpublished 127.0.0.1:$EPH -> 8001/tcp" "$(cat "$tmp/out")"
refused "$EPH" && pass unpublished-refused || fail unpublished-refused "port $EPH still answers"
bad unpublish-nothing "sbx: " timeout 30 "$SBX" ports $n --unpublish 8001

# ---- sbx run -p: Published on stderr (stdout is the session's), silent when it exists ----
RUNP=$(free_port)
timeout 120 "$SBX" run -p "$RUNP:8001" $n -- -c 'echo session-out' </dev/null >"$tmp/out" 2>"$tmp/err"
expect run-rc 0 "$?"
grep -qx session-out "$tmp/out" && ! grep -q Published "$tmp/out" && pass run-stdout-is-session ||
	fail run-stdout-is-session "$(head -c 300 "$tmp/out")"
grep -qx "Published 127.0.0.1:$RUNP -> 8001/tcp" "$tmp/err" && pass run-publish-stderr ||
	fail run-publish-stderr "$(cat "$tmp/err")"
timeout 120 "$SBX" run -p "$RUNP:8001" $n -- -c true </dev/null >"$tmp/out" 2>"$tmp/err"
expect run-again-rc 0 "$?"
grep -q Published "$tmp/err" && fail run-existing-silent "$(cat "$tmp/err")" || pass run-existing-silent
expect run-published-answers "$(cat "$ws/www/hello.txt")" \
	"$(hc --max-time 30 "http://127.0.0.1:$RUNP/hello.txt" 2>&1)"
timeout 30 "$SBX" ports $n --unpublish "$RUNP:8001" >/dev/null 2>&1

# ---- stop: nothing listens, publications kept; start: bound again ----
expect stop "$n" "$(timeout 120 "$SBX" stop $n 2>&1)"
refused "$FIX" && pass stop-closes-fixed || fail stop-closes-fixed "port $FIX answers"
expect ports-kept-while-stopped 3 "$(timeout 30 "$SBX" ports $n | wc -l)"
timeout 30 "$SBX" ports $n --json >"$tmp/ports.json"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert a and not any(p["active"] for p in a), a' \
	"$tmp/ports.json" && pass stopped-inactive || fail stopped-inactive "$(head -c 400 "$tmp/ports.json")"
timeout 30 "$SBX" ports $n -p 8001 >"$tmp/out" 2>&1
expect publish-while-stopped "Published 127.0.0.1:<ephemeral> -> 8001/tcp (bound when $n starts)" \
	"$(cat "$tmp/out")"

# a fixed host port taken while the sandbox was stopped: the start fails, naming it
# (SO_REUSEADDR: the port's old connections may still be in TIME_WAIT)
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen()
print("held", flush=True); time.sleep(120)' "$FIX" >"$tmp/held" 2>&1 &
holder=$!
srv_pids+=("$holder")
for _ in $(seq 50); do grep -q held "$tmp/held" && break; sleep 0.1; done
grep -q held "$tmp/held" || fail port-holder-up "$(cat "$tmp/held")"
timeout 120 "$SBX" exec $n true >/dev/null 2>"$tmp/err"
rc=$?
if [[ $rc -ne 0 ]] && grep -qF "cannot start $n: host port 127.0.0.1:$FIX/tcp is already in use" "$tmp/err" &&
	grep -qF -- "--unpublish $FIX:8000" "$tmp/err"; then
	pass start-fails-on-taken-port
else
	fail start-fails-on-taken-port "rc $rc: $(cat "$tmp/err")"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
expect still-stopped-after-refused-start stopped \
	"$(timeout 30 "$SBX" ls --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"

expect restart-ok "ok" "$(timeout 300 "$SBX" exec $n echo ok 2>/dev/null)"
serve_inside
wait_http "$FIX" /hello.txt && pass fixed-restored-after-start || fail fixed-restored-after-start
expect fixed-after-start "$(cat "$ws/www/hello.txt")" "$(hc --max-time 30 "http://127.0.0.1:$FIX/hello.txt" 2>&1)"
timeout 30 "$SBX" ports $n >"$tmp/out" 2>&1
grep -qx "127.0.0.1:$FIX -> 8000/tcp" "$tmp/out" && pass fixed-listed-after-start ||
	fail fixed-listed-after-start "$(cat "$tmp/out")"
EPH2=$(sed -n 's|^127\.0\.0\.1:\([0-9][0-9]*\) -> 8001/tcp$|\1|p' "$tmp/out")
[[ -n $EPH2 && $EPH2 -gt 0 ]] && pass ephemeral-bound-at-start || fail ephemeral-bound-at-start "$(cat "$tmp/out")"
EPH2=${EPH2:-1}
UDP2=$(sed -n 's|^127\.0\.0\.1:\([1-9][0-9]*\) -> 9999/udp$|\1|p' "$tmp/out")
[[ -n $UDP2 ]] && pass udp-bound-at-start || fail udp-bound-at-start "$(cat "$tmp/out")"
expect udp-after-start 3 "$(timeout 60 python3 "$tmp/udp_client.py" 127.0.0.1 "${UDP2:-1}" 2>&1)"
wait_http "$EPH2" /hello.txt && pass ephemeral-answers-after-start || fail ephemeral-answers-after-start

# ---- a restarted sbxd binds them again for the sandbox it reattaches ----
pid=$(cat "$SBX_HOME/run/sbxd.pid" 2>/dev/null)
kill "$pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
refused "$FIX" && pass sbxd-gone-port-closed || fail sbxd-gone-port-closed "port $FIX answers"
timeout 60 "$SBX" ls >/dev/null 2>&1 # starts sbxd, which reattaches the running VM
wait_http "$FIX" /hello.txt && pass reattach-rebinds-fixed || fail reattach-rebinds-fixed
expect reattach-keeps-ephemeral "$EPH2" \
	"$(timeout 30 "$SBX" ports $n | sed -n 's|^127\.0\.0\.1:\([0-9][0-9]*\) -> 8001/tcp$|\1|p')"

# ---- 1 GiB through the published port (restored at start), checked by sha256 ----
for _ in $(seq 60); do "$NP" ping 127.0.0.1 "$NPP" 1 >/dev/null 2>&1 && break; sleep 1; done
t0=$(date +%s%N)
np_ok "$NPP" 1073741824 7 && pass transfer-1gib-sha256 || fail transfer-1gib-sha256
t=$((($(date +%s%N) - t0) / 1000000))
echo "# 1 GiB through the published port: $((t / 1000)).$((t % 1000 / 100)) s ($((1024 * 1000 / (t > 0 ? t : 1))) MiB/s)"

# ---- rm: every host port closed ----
timeout 120 "$SBX" rm -f $n >/dev/null 2>"$tmp/err"
expect rm-rc 0 "$?"
refused "$FIX" && pass rm-closes-fixed || fail rm-closes-fixed "port $FIX answers"
refused "$EPH2" && pass rm-closes-ephemeral || fail rm-closes-ephemeral "port $EPH2 answers"
python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$FIX" 2>/dev/null &&
	pass rm-releases-fixed || fail rm-releases-fixed "127.0.0.1:$FIX still bound"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))' "${UDP2:-1}" 2>/dev/null &&
	pass rm-releases-udp || fail rm-releases-udp "127.0.0.1:${UDP2:-1}/udp still bound"
bad ports-after-rm "sbx: no sandbox named $n (see sbx ls)" timeout 30 "$SBX" ports $n

[[ $fails -eq 0 ]]
