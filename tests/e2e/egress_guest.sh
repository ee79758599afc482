#!/usr/bin/env bash
# End-to-end test of the guest side of egress (sbx-init's net.c and relay.c) in ONE real VM,
# against fake host listeners on the sandbox's hybrid-vsock sockets (fake_* below: replace
# them with the real sbxd side when it lands): only lo and sbx0, the routes, resolv.conf,
# the proxy variables, the explicit proxy, the transparent redirect (header), the DNS stub
# (UDP and TCP), UDP/IPv6 going nowhere, an 8 MiB tunnel, 200 concurrent connections, a
# refusing host (fast failures), and the relay surviving abuse and being restarted.
# Cleans up every process and file it starts, also on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/sandbox.bash
fake_pid=
cleanup() {
	[[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null
	sbx_test_cleanup
}
sbx_test_init sbxegress cleanup

sbx_test_need_sbx egress
ws=$tmp/ws
mkdir -p "$ws"
n=egress
X() { timeout 120 "$SBX" exec "$n" "$@"; }
XR() { timeout 120 "$SBX" exec -u root "$n" "$@"; }
ms() { date +%s%3N; }

# ---- the fake host side: one python process serving the three egress ports -------------
cat >"$tmp/fake.py" <<'EOF'
import os, socket, struct, sys, threading
base, modes = sys.argv[1], sys.argv[2].split(',')
def serve(port, fn):
    path = f"{base}_{port}"
    try: os.unlink(path)
    except FileNotFoundError: pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(path); s.listen(256)
    while True:
        c, _ = s.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()
def recvn(c, n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: return None
        b += x
    return b
def head(c):
    b = b''
    while b'\r\n\r\n' not in b:
        x = c.recv(4096)
        if not x: break
        b += x
    return b
def reply(c, body):
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
def proxy(c):  # answers absolute-URI requests; CONNECT becomes an echo tunnel
    line = head(c).split(b'\r\n')[0]
    if line.startswith(b'CONNECT '):
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        while True:
            x = c.recv(65536)
            if not x: break
            c.sendall(x)
        c.shutdown(socket.SHUT_WR)
    else:
        reply(c, b"fake-proxy " + line + b"\n")
    c.close()
def transparent(c):  # prints the 24-byte header back as the HTTP body
    h = recvn(c, 24)
    if not h: c.close(); return
    magic, fam, res, port = struct.unpack('>IBBH', h[:8])
    addr = socket.inet_ntop(socket.AF_INET if fam == 4 else socket.AF_INET6, h[8:12] if fam == 4 else h[8:24])
    head(c)
    reply(c, b"fake-transparent magic=%x family=%d orig=%s:%d\n" % (magic, fam, addr.encode(), port))
    c.close()
def dns_answer(q):  # A 198.18.0.7 for any name, NXDOMAIN for nx*, empty for other types
    i = 12
    while q[i]: i += q[i] + 1
    qtype, qend = struct.unpack('>H', q[i+1:i+3])[0], i + 5
    hdr = lambda fl, an: q[:2] + fl + struct.pack('>HHHH', 1, an, 0, 0) + q[12:qend]
    if q[13:15] == b'nx': return hdr(b'\x81\x83', 0)
    if qtype != 1: return hdr(b'\x81\x80', 0)
    return hdr(b'\x81\x80', 1) + bytes.fromhex('c00c000100010000003c0004c6120007')
def dns(c):
    while True:
        l = recvn(c, 2)
        q = l and recvn(c, struct.unpack('>H', l)[0])
        if not q: break
        a = dns_answer(q)
        c.sendall(struct.pack('>H', len(a)) + a)
    c.close()
fns = {'proxy': (3128, proxy), 'transparent': (3129, transparent), 'dns': (53, dns)}
for m in modes: threading.Thread(target=serve, args=fns[m], daemon=True).start()
print("up", flush=True)
threading.Event().wait()
EOF
# fake_start DIR: the fake sbxd egress listeners for the VM whose run dir is DIR
fake_start() {
	python3 "$tmp/fake.py" "$1/vsock.sock" proxy,transparent,dns >"$tmp/fake.log" 2>&1 &
	fake_pid=$!
	for _ in $(seq 50); do grep -q up "$tmp/fake.log" && return 0; sleep 0.1; done
	return 1
}
fake_stop() {
	kill "$fake_pid" 2>/dev/null
	wait "$fake_pid" 2>/dev/null
	fake_pid=
	rm -f "$run"/vsock.sock_*
}

# ---- guest-side probes (python3 in the template; the workspace is shared at the same path) --
cat >"$ws/probe.py" <<'EOF'
import os, socket, struct, sys, threading, time
def dnsq(name, qtype=1, qid=0x1234):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for l in name.split('.'): q += bytes([len(l)]) + l.encode()
    return q + b'\0' + struct.pack('>HH', qtype, 1)
def dns_tcp():  # three pipelined queries, half-close, answers in order
    s = socket.create_connection(('198.18.0.1', 53), timeout=10)
    s.sendall(b''.join(struct.pack('>H', len(q)) + q for q in
                       (dnsq('a.test', qid=1), dnsq('b.test', qid=2), dnsq('nx.test', qid=3))))
    s.shutdown(socket.SHUT_WR)
    data = b''
    while (x := s.recv(4096)): data += x
    res = []
    while data:
        l = struct.unpack('>H', data[:2])[0]; m = data[2:2+l]; data = data[2+l:]
        res.append(f"{struct.unpack('>H', m[:2])[0]}:{m[3] & 15}")
    return ' '.join(res)
def udp(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    s.sendto(dnsq('x.test'), (host, 53))
    try: return f"answer {s.recv(512)[3] & 15}"
    except socket.timeout: return "timeout"
def tcp6():
    s = socket.socket(socket.AF_INET6); s.settimeout(10)
    t0 = time.time()
    try: s.connect(('2001:db8::1', 443)); return "connected"
    except OSError as e: return f"errno {e.errno} {'fast' if time.time() - t0 < 1 else 'slow'}"
def tunnel(n):  # CONNECT through the explicit proxy; the fake echoes: n random bytes intact
    s = socket.create_connection(('127.0.0.1', 3128), timeout=60)
    s.sendall(b"CONNECT x.test:443 HTTP/1.1\r\nHost: x.test:443\r\n\r\n")
    h = b''
    while b'\r\n\r\n' not in h: h += s.recv(1)
    data = os.urandom(n); got = bytearray()
    def w(): s.sendall(data); s.shutdown(socket.SHUT_WR)
    th = threading.Thread(target=w); th.start()
    while (x := s.recv(65536)): got += x
    th.join()
    return f"{len(got)} {bytes(got) == data}"
def many(n):  # n connections open at once
    ss = []
    for i in range(n):
        s = socket.create_connection(('127.0.0.1', 3128), timeout=60)
        s.sendall(b"GET http://m%d.test/ HTTP/1.1\r\nHost: m\r\n\r\n" % i); ss.append(s)
    ok = 0
    for s in ss:
        d = b''
        while (x := s.recv(4096)): d += x
        ok += b'fake-proxy' in d
    return f"{ok}/{n}"
def abuse():  # resets, half-open, garbage, then nothing: the relay must not care
    for i in range(50):
        for port in (3128, 3129, 53):
            try:
                s = socket.create_connection(('127.0.0.1' if port != 53 else '198.18.0.1', port), timeout=5)
                if i % 3 == 0: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                if i % 3 == 1: s.sendall(os.urandom(3000))
                s.close()
            except OSError: pass
    return "done"
fn = {'dns_tcp': dns_tcp, 'udp_out': lambda: udp('8.8.8.8'), 'udp_stub': lambda: udp('198.18.0.1'),
      'tcp6': tcp6, 'tunnel': lambda: tunnel(8 << 20), 'many': lambda: many(200), 'abuse': abuse}
print(fn[sys.argv[1]]())
EOF
P() { X python3 "$ws/probe.py" "$@" 2>&1; }

# ---- one sandbox --------------------------------------------------------------------------
"$SBX" create -q --name $n -m 1g shell "$ws" >"$tmp/create.log" 2>&1 || {
	fail egress-create "$(tail -n 3 "$tmp/create.log")"
	exit 1
}
if ! X true >"$tmp/boot.log" 2>&1; then
	fail egress-boot "$(tail -n 3 "$tmp/boot.log")"
	exit 1
fi
run=$(ls -d "$SBX_HOME"/run/vm/*/ | head -n 1)
run=${run%/}
console=$SBX_HOME/data/sandboxes/$n/console.log
echo "# $(grep -a 'ready (' "$console" | tail -n 1)"
grep -a 'sbx-init: \(egress\|netfilter\|relay\)' "$console" | sed 's/^/# console: /'
fake_start "$run" || fail egress-fake-start "$(cat "$tmp/fake.log")"

expect links "lo sbx0" "$(X ip -o link | awk -F': ' '{print $2}' | sort | paste -sd ' ')"
expect addr "198.18.0.1/15" "$(X ip -o -4 addr show dev sbx0 | awk '{print $4}')"
expect route-default "default dev sbx0 scope link" "$(X ip route show default | sed 's/ *$//')"
expect no-ipv6-route "" "$(X ip -6 route show default)"
expect no-ipv6-on-sbx0 "1" "$(X cat /proc/sys/net/ipv6/conf/sbx0/disable_ipv6)"
expect resolv-conf "nameserver 198.18.0.1" "$(X grep -v '^#' /etc/resolv.conf)"
expect resolv-not-symlink "no" "$(X sh -c 'test -L /etc/resolv.conf && echo yes || echo no')"
expect env-proxy "http://127.0.0.1:3128 http://127.0.0.1:3128 localhost,127.0.0.1,::1,172.16.0.0/12,192.168.0.0/16" \
	"$(X sh -c 'echo $HTTP_PROXY $https_proxy $NO_PROXY')"
expect env-override "http://x:1" "$(X env HTTP_PROXY=http://x:1 sh -c 'echo $HTTP_PROXY')"
expect login-shell-proxy "http://127.0.0.1:3128" "$(X env -i bash -lc 'echo $ALL_PROXY')"
expect sudo-keeps-proxy "http://127.0.0.1:3128" "$(X sudo sh -c 'echo $HTTPS_PROXY')"
expect relay-unprivileged "nobody" "$(X ps -o user= -C sbx-relay | head -n 1 | tr -d ' ')"

# ---- explicit proxy, transparent redirect, DNS ---------------------------------------------
expect explicit-proxy "fake-proxy GET http://example.test/x HTTP/1.1" \
	"$(X curl -sS -m 20 http://example.test/x 2>&1)"
if X test -x /usr/sbin/iptables; then
	expect transparent "fake-transparent magic=53425854 family=4 orig=1.2.3.4:8080" \
		"$(X curl -sS -m 20 --noproxy '*' http://1.2.3.4:8080/ 2>&1)"
	expect transparent-synthetic "fake-transparent magic=53425854 family=4 orig=198.18.0.7:80" \
		"$(X curl -sS -m 20 --noproxy '*' http://a.test/ 2>&1)"
else
	echo "SKIP transparent: the template has no iptables (rebuild it: images/templates/shell.conf)"
fi
expect dns-getent "198.18.0.7      x.test" "$(X getent hosts x.test)"
X getent hosts nx.test >/dev/null
expect dns-nxdomain 2 $?
expect dns-python "198.18.0.7" "$(X python3 -c 'import socket; print(socket.gethostbyname("py.test"))' 2>&1)"
expect dns-tcp "1:0 2:0 3:3" "$(P dns_tcp)"
expect dns-udp-stub "answer 0" "$(P udp_stub)"

# ---- what must go nowhere ------------------------------------------------------------------
expect udp-elsewhere "timeout" "$(P udp_out)"
expect ipv6-fails-fast "errno 101 fast" "$(P tcp6)"
got=$(X curl -sS -m 5 -6 --noproxy '*' "http://[2001:db8::1]/" 2>&1)
[[ $got == *"Couldn't connect"* || $got == *"unreachable"* ]] && pass curl-ipv6-fails ||
	fail curl-ipv6-fails "$got"

# ---- load: an 8 MiB tunnel through 64 KiB buffers, 200 connections at once ----------------
expect tunnel-8mib "8388608 True" "$(P tunnel)"
expect many-200 "200/200" "$(P many)"

# ---- a host that refuses: fast failures, never a hang -------------------------------------
fake_stop
t0=$(ms)
got=$(X curl -sS -m 20 http://example.test/ 2>&1)
dt=$(($(ms) - t0))
[[ $got == curl:* && $dt -lt 5000 ]] && pass refused-explicit-fast ||
	fail refused-explicit-fast "$dt ms: $got"
if X test -x /usr/sbin/iptables; then
	t0=$(ms)
	got=$(X curl -sS -m 20 --noproxy '*' http://1.2.3.4/ 2>&1)
	dt=$(($(ms) - t0))
	[[ $got == curl:* && $dt -lt 5000 ]] && pass refused-transparent-fast ||
		fail refused-transparent-fast "$dt ms: $got"
fi
t0=$(ms)
X getent hosts y.test >/dev/null
st=$?
dt=$(($(ms) - t0))
[[ $st -ne 0 && $dt -lt 5000 ]] && pass refused-dns-servfail-fast ||
	fail refused-dns-servfail-fast "status $st after $dt ms"

# ---- the relay survives abuse, and comes back when killed ----------------------------------
expect abuse "done" "$(P abuse)"
fake_start "$run" || fail egress-fake-restart "$(cat "$tmp/fake.log")"
expect after-abuse "fake-proxy GET http://again.test/ HTTP/1.1" \
	"$(X curl -sS -m 20 http://again.test/ 2>&1)"
old=$(X pgrep -x sbx-relay)
XR kill -9 "$old"
got=
for _ in $(seq 30); do
	got=$(X curl -sS -m 5 http://back.test/ 2>&1)
	[[ $got == fake-proxy* ]] && break
	sleep 0.5
done
expect relay-restarted "fake-proxy GET http://back.test/ HTTP/1.1" "$got"
new=$(X pgrep -x sbx-relay)
[[ -n $new && $new != "$old" ]] && pass relay-new-pid || fail relay-new-pid "old $old new $new"
grep -aq "egress relay exited (signal 9); restarting" "$console" && pass relay-restart-logged ||
	fail relay-restart-logged "$(grep -a relay "$console")"

echo "# egress_guest: $fails failed"
exit $((fails > 0))
