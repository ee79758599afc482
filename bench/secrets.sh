#!/usr/bin/env bash
# bench/secrets.sh — issue 7's numbers in one run: what TLS interception (a bound secret) costs
# beside a direct TLS connection from the host and beside a plain CONNECT tunnel through sbxd.
# A local HTTPS server (test CA; api.example.test has a custom secret bound, tunnel.test none)
# serves /big (SIZE_MB, default 256) and /small over HTTP/1.1 keep-alive. A host-side client
# speaks on the sandbox's egress socket exactly what the guest relay sends over vsock
# (CONNECT host:port), then TLS to what answers (sbxd's leaf for the intercepted host, trusted
# through sbxd's CA; the server itself through the tunnel). Each number is the median of 3
# interleaved runs:
#   1. download of /big: MiB/s direct, tunnelled, intercepted; ratios to direct (target >= 0.8x)
#   2. N (default 300) small requests on one kept-alive connection: ms per request
#   3. a new connection + TLS handshake(s) + one small request: ms each (interception does two
#      handshakes: the guest's with sbxd, sbxd's with the server)
# Uses SBX_CACHE_DIR (default /var/tmp/sbx-test-cache) for the kernel and template (one VM boots
# so the sandbox's egress sockets exist; the guest itself is not measured).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
export SBX_HOME=$(mktemp -d /tmp/sbx-bench.XXXXXX)
export SBX_HOSTS_FILE=$SBX_HOME/hosts
export SBX_TLS_UPSTREAM_CA=$SBX_HOME/ca.pem
sbx=$top/build/sbx
size_mb=${SIZE_MB:-256}
nreq=${N:-300}
srv=
cleanup() {
	[[ -n $srv ]] && kill "$srv" 2>/dev/null
	"$sbx" reset -f >/dev/null 2>&1 || true
	[[ -f $SBX_HOME/run/sbxd.pid ]] && kill "$(cat "$SBX_HOME/run/sbxd.pid")" 2>/dev/null || true
	rm -rf "$SBX_HOME"
}
trap cleanup EXIT
h=$SBX_HOME
mkdir -p "$h/ws"

# ---- test CA and the server's certificate (both names) ----
printf 'subjectAltName=DNS:api.example.test,DNS:tunnel.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$h/ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=sbx-bench-ca -keyout "$h/ca.key" -out "$h/ca.pem" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=api.example.test \
	-keyout "$h/srv.key" -out "$h/srv.csr" >/dev/null 2>&1
openssl x509 -req -in "$h/srv.csr" -CA "$h/ca.pem" -CAkey "$h/ca.key" -CAcreateserial \
	-CAserial "$h/ca.srl" -days 2 -extfile "$h/ext" -out "$h/srv.pem" >/dev/null 2>&1

cat >"$h/serve.py" <<'EOF'
import http.server, socketserver, ssl, sys
big = b"\0" * (int(sys.argv[3]) << 20)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else head and body writes meet delayed ACKs (40 ms)
    def log_message(self, *a): pass
    def do_GET(self):
        body = big if self.path == "/big" else b"small\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        mv = memoryview(body)
        for i in range(0, len(body), 1 << 20):
            self.wfile.write(mv[i:i + (1 << 20)])
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512
s = S(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$h/serve.py" "$h/srv.pem" "$h/srv.key" "$size_mb" >"$h/port" &
srv=$!
for _ in $(seq 50); do [[ -s $h/port ]] && break; sleep 0.1; done
port=$(cat "$h/port")
printf '127.0.0.1 api.example.test\n127.0.0.1 tunnel.test\n' >"$SBX_HOSTS_FILE"

printf 'bench-secret-value' | "$sbx" secret set-custom -g --host api.example.test --env EX >/dev/null
"$sbx" create -q --name bench -m 1g shell "$h/ws" >/dev/null
"$sbx" policy allow network bench "api.example.test:$port,tunnel.test:$port" >/dev/null
"$sbx" exec bench true 2>/dev/null
sock=$(ls -d "$h"/run/vm/*/vsock.sock_3128 | head -n 1)
sbxca=$h/data/tls/ca.pem

python3 - "$sock" "$port" "$size_mb" "$nreq" "$h/ca.pem" "$sbxca" <<'EOF'
import socket, ssl, sys, time
sock, port, size_mb, n, testca, sbxca = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
HOST = {"direct": "api.example.test", "tunnel": "tunnel.test", "intercept": "api.example.test"}

def connect(mode):
    if mode == "direct":
        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = ssl.create_default_context(cafile=testca)
    else:
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); raw.settimeout(60); raw.connect(sock)
        raw.sendall(f"CONNECT {HOST[mode]}:{port} HTTP/1.1\r\nHost: {HOST[mode]}:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = raw.recv(1)
            assert b, head
            head += b
        assert head.startswith(b"HTTP/1.1 200"), head
        ctx = ssl.create_default_context(cafile=sbxca if mode == "intercept" else testca)
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(raw, server_hostname=HOST[mode])
    return s, s.makefile("rb", buffering=1 << 20)

def get(s, f, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST_CUR}\r\nAuthorization: Bearer x\r\n\r\n".encode())
    clen = None
    while True:
        line = f.readline()
        assert line, "connection closed"
        if line.lower().startswith(b"content-length:"):
            clen = int(line.split(b":")[1])
        if line in (b"\r\n", b"\n"):
            break
    got = 0
    while got < clen:
        b = f.read(min(1 << 20, clen - got))
        assert b
        got += len(b)
    return got

def big(mode):
    global HOST_CUR; HOST_CUR = HOST[mode]
    s, f = connect(mode)
    t = time.perf_counter(); got = get(s, f, "/big"); dt = time.perf_counter() - t
    s.close()
    assert got == size_mb << 20
    return size_mb / dt

def keepalive(mode):
    global HOST_CUR; HOST_CUR = HOST[mode]
    s, f = connect(mode)
    get(s, f, "/small")
    t = time.perf_counter()
    for _ in range(n):
        get(s, f, "/small")
    dt = time.perf_counter() - t
    s.close()
    return dt / n * 1000

def newconn(mode, k=50):
    global HOST_CUR; HOST_CUR = HOST[mode]
    t = time.perf_counter()
    for _ in range(k):
        s, f = connect(mode); get(s, f, "/small"); s.close()
    return (time.perf_counter() - t) / k * 1000

for m in HOST: newconn(m, 2)  # warm up (sbxd mints and caches the leaf)
med = lambda v: sorted(v)[len(v) // 2]
modes = list(HOST)
r = {m: ([], [], []) for m in modes}
for _ in range(3):
    for m in modes:
        r[m][0].append(big(m)); r[m][1].append(keepalive(m)); r[m][2].append(newconn(m))
B = {m: med(r[m][0]) for m in modes}; K = {m: med(r[m][1]) for m in modes}; C = {m: med(r[m][2]) for m in modes}
print(f"download {size_mb} MiB over TLS   direct {B['direct']:6.0f} MiB/s   tunnel {B['tunnel']:6.0f} MiB/s ({B['tunnel'] / B['direct']:.2f}x)   intercepted {B['intercept']:6.0f} MiB/s ({B['intercept'] / B['direct']:.2f}x; target >= 0.8x)")
print(f"small request, kept-alive        direct {K['direct']:6.3f} ms     tunnel {K['tunnel']:6.3f} ms            intercepted {K['intercept']:6.3f} ms (+{K['intercept'] - K['direct']:.3f} ms)")
print(f"new connection + TLS + request   direct {C['direct']:6.2f} ms     tunnel {C['tunnel']:6.2f} ms            intercepted {C['intercept']:6.2f} ms (+{C['intercept'] - C['direct']:.2f} ms)")
EOF
