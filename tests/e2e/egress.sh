#!/usr/bin/env bash
# End-to-end test of egress (issue 4) with the real sbxd and ONE sandbox: local HTTP and HTTPS
# servers (a test CA made here) stand in for the outside, names map to 127.0.0.1 through
# SBX_HOSTS_FILE (sbxd's resolver test hook). Checks policy DNS, the explicit proxy (HTTP and
# CONNECT, 403s that name the rule and the fix, SNI that must match CONNECT), the transparent
# path (synthetic addresses, SNI/Host, bare IPs reset), the private-address check at connect
# time (DNS rebinding), rule changes applied to the running sandbox, UDP going nowhere, many
# concurrent connections and the network log. Cleans up every process and file it starts.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/sandbox.bash
sbx_test_init --cache sbxegress
export SBX_HOSTS_FILE=$tmp/hosts
ws=$tmp/ws
n=egr

sbx_test_need_cache egress
mkdir -p "$ws" "$tmp/www"
echo "hello from the host" >"$tmp/www/hello.txt"
head -c 3000000 /dev/urandom >"$tmp/www/big.bin"

# ---- the outside: a test CA, an HTTP and an HTTPS server on 127.0.0.1 ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sbx-test-ca -keyout "$tmp/ca.key" \
	-out "$ws/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj /CN=tls.test -keyout "$tmp/srv.key" -out "$tmp/srv.csr" \
	>/dev/null 2>&1
printf 'subjectAltName=DNS:tls.test,DNS:other.test,DNS:portonly.test\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/srv.csr" -CA "$ws/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
	-days 2 -extfile "$tmp/ext" -out "$tmp/srv.pem" >/dev/null 2>&1
cat >"$tmp/serve.py" <<'EOF'
import http.server, socketserver, ssl, sys, os
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/host":
            body = (self.headers.get("Host", "") + "\n").encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body); return
        super().do_GET()
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256
os.chdir(sys.argv[1])
s = S(("127.0.0.1", 0), H)
if len(sys.argv) > 2:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$tmp/serve.py" "$tmp/www" >"$tmp/http.port" 2>/dev/null &
srv_pids+=($!)
python3 "$tmp/serve.py" "$tmp/www" "$tmp/srv.pem" "$tmp/srv.key" >"$tmp/https.port" 2>/dev/null &
srv_pids+=($!)
for _ in $(seq 50); do [[ -s $tmp/http.port && -s $tmp/https.port ]] && break; sleep 0.1; done
HP=$(cat "$tmp/http.port")
SP=$(cat "$tmp/https.port")
cat >"$SBX_HOSTS_FILE" <<EOF
127.0.0.1 allowed.test tls.test denied.test persb.test a.rebind.test live.test portonly.test
169.254.169.254 m.bad.test
10.0.0.1 t.bad.test
EOF
# a git repository served over plain HTTP (dumb protocol) by the same server
git init -q --bare "$tmp/www/repo.git"
git clone -q "$tmp/www/repo.git" "$tmp/src" 2>/dev/null
echo "from the host repo" >"$tmp/src/README"
git -C "$tmp/src" add README && git -C "$tmp/src" -c user.name=t -c user.email=t@e commit -qm one &&
	git -C "$tmp/src" push -q origin HEAD:master 2>/dev/null
git -C "$tmp/www/repo.git" symbolic-ref HEAD refs/heads/master
git -C "$tmp/www/repo.git" update-server-info

X() { timeout 120 "$SBX" exec "$n" "$@"; }
got=$("$SBX" create -q --name $n -m 1g shell "$ws" 2>"$tmp/err")
expect create "$n" "$got"

# rules before the first boot: exact names (explicit, so 127.0.0.1 is reachable), a wildcard
# that must NOT open a private address, one name for this sandbox only
"$SBX" policy allow network -g "allowed.test,tls.test,live.test" >/dev/null 2>"$tmp/err" &&
	pass rule-allow-global || fail rule-allow-global "$(cat "$tmp/err")"
"$SBX" policy allow network -g "*.rebind.test,**.bad.test,portonly.test:$SP" >/dev/null 2>&1
"$SBX" policy allow network $n "persb.test" >/dev/null 2>"$tmp/err" &&
	pass rule-allow-sandbox || fail rule-allow-sandbox "$(cat "$tmp/err")"

# ---- inside: no network device, DNS through policy ----
expect boot-ok "ok" "$(X echo ok 2>/dev/null)"
expect only-lo-and-sbx0 "lo sbx0" "$(X sh -c "ip -o link | awk -F': ' '{print \$2}' | sort | tr '\n' ' '" 2>&1 | sed 's/ $//')"
got=$(X getent hosts allowed.test 2>&1)
[[ $got == 198.1[89].* ]] && pass dns-allowed-synthetic || fail dns-allowed-synthetic "$got"
X getent hosts denied.test >/dev/null 2>&1
expect dns-denied-nxdomain 2 "$?"
X getent hosts metadata.google.internal >/dev/null 2>&1
expect dns-metadata-nxdomain 2 "$?"

# ---- explicit proxy (HTTP_PROXY is set for every process) ----
expect http-allowed "hello from the host" "$(X curl -sS --max-time 20 http://allowed.test:$HP/hello.txt 2>&1)"
expect http-host-header "allowed.test:$HP" "$(X curl -sS --max-time 20 http://allowed.test:$HP/host 2>&1)"
X curl -s --max-time 20 -o /dev/null -w '%{http_code}' http://denied.test:$HP/ >"$tmp/code" 2>&1
expect http-denied-403 403 "$(cat "$tmp/code")"
X curl -s --max-time 20 http://denied.test:$HP/ >"$tmp/body" 2>&1
if grep -q "denied.test:$HP" "$tmp/body" && grep -q "default" "$tmp/body" &&
	grep -q "sbx policy allow network $n \"denied.test\"" "$tmp/body"; then
	pass http-403-names-host-rule-fix
else
	fail http-403-names-host-rule-fix "$(cat "$tmp/body")"
fi
expect https-connect "hello from the host" \
	"$(X curl -sS --max-time 20 --cacert "$ws/ca.pem" https://tls.test:$SP/hello.txt 2>&1)"
expect sandbox-scoped-rule "hello from the host" "$(X curl -sS --max-time 20 http://persb.test:$HP/hello.txt 2>&1)"
# domain fronting: CONNECT to an allowed host, SNI of another -> cut
X curl -s --max-time 20 --cacert "$ws/ca.pem" --connect-to "tls.test:$SP:allowed.test:$SP" \
	https://tls.test:$SP/hello.txt >"$tmp/out" 2>&1
rc=$?
[[ $rc -ne 0 ]] && ! grep -q "hello from" "$tmp/out" && pass connect-sni-mismatch-refused ||
	fail connect-sni-mismatch-refused "rc=$rc $(cat "$tmp/out")"
# DNS rebinding: *.rebind.test is allowed, but it resolves to 127.0.0.1, which only an exact
# rule may open
X curl -s --max-time 20 http://a.rebind.test:$HP/hello.txt >"$tmp/body" 2>&1
grep -q "127.0.0.0/8" "$tmp/body" && pass private-address-blocked-at-connect ||
	fail private-address-blocked-at-connect "$(cat "$tmp/body")"
# ---- the bypass matrix: each attempt refused (and logged) ----
X curl -s --max-time 20 http://m.bad.test/ >"$tmp/body" 2>&1
grep -q "169.254.0.0/16" "$tmp/body" && pass bypass-name-to-metadata-ip || fail bypass-name-to-metadata-ip "$(cat "$tmp/body")"
X curl -s --max-time 20 http://t.bad.test/ >"$tmp/body" 2>&1
grep -q "10.0.0.0/8" "$tmp/body" && pass bypass-name-to-10-net || fail bypass-name-to-10-net "$(cat "$tmp/body")"
X curl -s --max-time 20 -o /dev/null -w '%{http_connect}' -p https://portonly.test:$HP/ >"$tmp/code" 2>/dev/null
expect bypass-connect-denied-port 403 "$(cat "$tmp/code")"
expect connect-allowed-port "hello from the host" \
	"$(X curl -sS --max-time 20 --cacert "$ws/ca.pem" https://portonly.test:$SP/hello.txt 2>&1)"
X curl -s --max-time 20 -o /dev/null -w '%{http_code}' -H 'Host: denied.test' http://allowed.test:$HP/host >"$tmp/code" 2>&1
expect bypass-host-header-mismatch 403 "$(cat "$tmp/code")"
X curl -s --max-time 20 -o /dev/null -w '%{http_code}' http://203.0.113.7/ >"$tmp/code" 2>&1
expect bypass-proxy-raw-ip 403 "$(cat "$tmp/code")"
got=$(X curl -s -6 --noproxy '*' --max-time 10 -o /dev/null http://[2001:db8::1]/ 2>&1)
rc=$?
[[ $rc -ne 0 && $rc -ne 28 ]] && pass bypass-ipv6-fails-fast || fail bypass-ipv6-fails-fast "rc=$rc $got"
got=$(timeout 60 "$SBX" exec -u root $n python3 -c "
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(2)
pkt = struct.pack('!BBHHH', 8, 0, 0xf7fe, 1, 0)
try:
    s.sendto(pkt, ('1.1.1.1', 0)); s.recvfrom(512); print('answered')
except Exception:
    print('nothing')" 2>&1)
expect bypass-icmp-nowhere nothing "$got"
got=$(X python3 -c "
import socket, struct
label = 'a' * 60
name = b''.join(bytes([len(l)]) + l.encode() for l in [label, label, 'b' * 50, 'tunnel', 'test']) + b'\0'
q = struct.pack('!HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack('!HH', 16, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.sendto(q, ('198.18.0.1', 53)); r = s.recv(2048)
print('rcode=%d answers=%d' % (r[3] & 15, struct.unpack('!H', r[6:8])[0]))" 2>&1)
expect bypass-dns-tunnel-txt "rcode=3 answers=0" "$got"
X curl -s --max-time 20 -o /dev/null -w '%{http_code}' -x http://127.0.0.1:3128 --noproxy '' http://127.0.0.1:$HP/hello.txt >"$tmp/code" 2>&1
expect localhost-ip-blocked-by-default 403 "$(cat "$tmp/code")"
"$SBX" policy allow network -g "127.0.0.1/32:$HP,localhost:$HP" >/dev/null 2>&1
expect localhost-cidr-rule-opens "hello from the host" \
	"$(X curl -sS --max-time 20 -x http://127.0.0.1:3128 --noproxy '' http://127.0.0.1:$HP/hello.txt 2>&1)"
expect localhost-name-rule-opens "hello from the host" \
	"$(X curl -sS --max-time 20 -x http://127.0.0.1:3128 --noproxy '' http://localhost:$HP/hello.txt 2>&1)"

# ---- real tools on both paths ----
X git clone -q http://allowed.test:$HP/repo.git "$ws/clone-proxy" >"$tmp/out" 2>&1
expect git-clone-proxy "from the host repo" "$(cat "$ws/clone-proxy/README" 2>&1)"
X env -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy git clone -q \
	http://allowed.test:$HP/repo.git "$ws/clone-transparent" >"$tmp/out" 2>&1
expect git-clone-transparent "from the host repo" "$(cat "$ws/clone-transparent/README" 2>&1)"
expect python-proxy "hello from the host" \
	"$(X python3 -c "import urllib.request; print(urllib.request.urlopen('http://allowed.test:$HP/hello.txt', timeout=20).read().decode().strip())" 2>&1)"
expect node-transparent "hello from the host" \
	"$(X node -e "require('http').get('http://allowed.test:$HP/hello.txt', r => { let d = ''; r.on('data', c => d += c); r.on('end', () => console.log(d.trim())); })" 2>&1)"
expect node-https-transparent "hello from the host" \
	"$(X env NODE_EXTRA_CA_CERTS="$ws/ca.pem" node -e "require('https').get('https://tls.test:$SP/hello.txt', r => { let d = ''; r.on('data', c => d += c); r.on('end', () => console.log(d.trim())); })" 2>&1)"

got=$(X sh -c "curl -sS --max-time 60 http://allowed.test:$HP/big.bin | sha256sum" 2>&1)
expect http-3mb-checksum "$(sha256sum <"$tmp/www/big.bin")" "$got"

# ---- transparent: a tool that ignores the proxy variables ----
expect transparent-http "hello from the host" \
	"$(X curl -sS --noproxy '*' --max-time 20 http://allowed.test:$HP/hello.txt 2>&1)"
expect transparent-https "hello from the host" \
	"$(X curl -sS --noproxy '*' --max-time 20 --cacert "$ws/ca.pem" https://tls.test:$SP/hello.txt 2>&1)"
expect transparent-python "hello from the host" \
	"$(X env -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy python3 -c "import urllib.request; print(urllib.request.urlopen('http://allowed.test:$HP/hello.txt', timeout=20).read().decode().strip())" 2>&1)"
t0=$(date +%s%3N)
X curl -s --noproxy '*' --max-time 20 http://203.0.113.7/ >/dev/null 2>&1
rc=$?
dt=$(($(date +%s%3N) - t0))
[[ $rc -ne 0 && $rc -ne 28 ]] && pass transparent-bare-ip-reset || fail transparent-bare-ip-reset "rc=$rc after ${dt} ms"
X curl -s --noproxy '*' --max-time 20 http://198.18.200.200/ >/dev/null 2>&1
rc=$?
[[ $rc -ne 0 && $rc -ne 28 ]] && pass transparent-unknown-synthetic-reset || fail transparent-unknown-synthetic-reset "rc=$rc"
got=$(X python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01', ('8.8.8.8', 53))
try:
    s.recvfrom(512); print('answered')
except Exception as e:
    print('nothing')" 2>&1)
expect udp-goes-nowhere nothing "$got"

# ---- rule changes reach the running sandbox at once; deny wins ----
expect live-before "hello from the host" "$(X curl -sS --max-time 20 http://live.test:$HP/hello.txt 2>&1)"
"$SBX" policy deny network -g "live.test" >/dev/null 2>&1
X curl -s --max-time 20 -o /dev/null -w '%{http_code}' http://live.test:$HP/hello.txt >"$tmp/code" 2>&1
expect live-deny-wins-403 403 "$(cat "$tmp/code")"
name=$("$SBX" policy ls --json 2>/dev/null | python3 -c 'import json,sys; print([p["name"] for p in json.load(sys.stdin) if p["decision"]=="deny"][0])' 2>/dev/null)
"$SBX" policy rm "$name" >/dev/null 2>&1
expect live-after-rm "hello from the host" "$(X curl -sS --max-time 20 http://live.test:$HP/hello.txt 2>&1)"

# ---- many at once ----
got=$(X sh -c "for i in \$(seq 50); do curl -s --max-time 60 http://allowed.test:$HP/hello.txt & done; wait" 2>&1 | grep -c "hello from the host")
expect concurrent-50 50 "$got"

# ---- the log and check ----
sleep 1.5
"$SBX" policy log $n --json >"$tmp/log.json" 2>&1
if python3 - "$tmp/log.json" "$HP" <<'EOF' 2>"$tmp/pyerr"; then pass policy-log-rows; else fail policy-log-rows "$(tail -n 2 "$tmp/pyerr" | cut -c1-400)"; fi
import json, sys
j = json.load(open(sys.argv[1]))
allowed, blocked = j["allowed"], j["blocked"]
def has(rows, host, proxy, **kw):
    return any(r["host"] == host and r["proxy"] == proxy and all(r.get(k) == v for k, v in kw.items()) for r in rows)
assert has(allowed, "allowed.test", "http"), allowed
assert has(allowed, "allowed.test", "transparent"), allowed
assert has(allowed, "tls.test", "connect"), allowed
assert has(allowed, "allowed.test", "dns"), allowed
assert has(blocked, "denied.test", "dns"), blocked
assert has(blocked, "a.rebind.test", "http"), blocked
assert has(blocked, "m.bad.test", "http"), blocked
assert has(blocked, "allowed.test", "http"), blocked  # the Host mismatch
assert has(blocked, "portonly.test", "connect"), blocked
assert has(blocked, "203.0.113.7", "http"), blocked
assert has(blocked, "203.0.113.7", "transparent"), blocked
assert has(blocked, "allowed.test", "connect"), blocked  # SNI fronting: logged under the CONNECT host
assert any(r["proxy"] == "dns" and r["host"].endswith(".tunnel.test") for r in blocked), blocked
assert any(r["host"] == "allowed.test" and r["proxy"] == "http" and r["count"] >= 50 for r in allowed), allowed
EOF
"$SBX" policy check $n "allowed.test:443" >"$tmp/out" 2>&1
expect policy-check-allow 0 "$?"
"$SBX" policy check $n "denied.test" >"$tmp/out" 2>&1
expect policy-check-deny 1 "$?"

# ---- a restart keeps the rules and the egress path ----
timeout 120 "$SBX" stop $n >/dev/null 2>&1
expect after-restart "hello from the host" "$(X curl -sS --max-time 20 http://allowed.test:$HP/hello.txt 2>&1)"
timeout 120 "$SBX" rm -f $n >/dev/null 2>&1
[[ ! -e $SBX_HOME/run/vm ]] || [[ -z $(ls "$SBX_HOME/run/vm" 2>/dev/null) ]] && pass rm-cleans-sockets ||
	fail rm-cleans-sockets "$(ls -R "$SBX_HOME/run/vm")"

[[ $fails -eq 0 ]]
