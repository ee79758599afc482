#!/usr/bin/env bash
# bench/egress.sh — issue 4's numbers in one run, the proxy beside direct from the host:
#   (each host-side number: the median of 3 interleaved runs)
#   1. a large download (SIZE_MB, default 256) from a local HTTP server: through sbxd's egress
#      proxy (a client on the sandbox's egress socket, exactly what the guest relay sends over
#      vsock) beside a direct TCP connection from the host; MB/s and the ratio.
#   2. many small requests (N, default 300), one new connection each: the time per request through
#      the proxy beside direct, and the difference = added latency per new connection (policy
#      check, sbxd's own resolve and connect).
#   3. the same download and small requests from inside the guest (curl through HTTP_PROXY and
#      the transparent path): under TCG the emulated guest dominates; on hardware KVM this is
#      the end-to-end number.
# Uses SBX_CACHE_DIR (default /var/tmp/sbx-test-cache) for the kernel and template.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export SBX_CACHE_DIR=${SBX_CACHE_DIR:-/var/tmp/sbx-test-cache}
export SBX_HOME=$(mktemp -d /tmp/sbx-bench.XXXXXX)
export SBX_HOSTS_FILE=$SBX_HOME/hosts
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

mkdir -p "$SBX_HOME/www" "$SBX_HOME/ws"
head -c $((size_mb << 20)) /dev/zero >"$SBX_HOME/www/big"
echo small >"$SBX_HOME/www/small"
cat >"$SBX_HOME/serve.py" <<'EOF'
import http.server, socketserver, os, sys
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def copyfile(self, src, dst):  # sendfile: the server must not be the bottleneck
        os.sendfile(dst.fileno(), src.fileno(), 0, os.fstat(src.fileno()).st_size)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512
os.chdir(sys.argv[1])
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$SBX_HOME/serve.py" "$SBX_HOME/www" >"$SBX_HOME/port" &
srv=$!
for _ in $(seq 50); do [[ -s $SBX_HOME/port ]] && break; sleep 0.1; done
port=$(cat "$SBX_HOME/port")
echo "127.0.0.1 bench.test" >"$SBX_HOSTS_FILE"

"$sbx" create -q --name bench -m 1g shell "$SBX_HOME/ws" >/dev/null
"$sbx" policy allow network bench "bench.test:$port" >/dev/null
"$sbx" exec bench true 2>/dev/null
sock=$(ls -d "$SBX_HOME"/run/vm/*/vsock.sock_3128 | head -n 1)

# The host-side client: proxy (unix socket, absolute URI) or direct (TCP, origin form).
python3 - "$sock" "$port" "$size_mb" "$nreq" <<'EOF'
import socket, sys, time
sock, port, size_mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def get(path, proxy):
    if proxy:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sock)
        req = f"GET http://bench.test:{port}{path} HTTP/1.1\r\nHost: bench.test:{port}\r\n\r\n"
    else:
        s = socket.create_connection(("127.0.0.1", port))
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    s.sendall(req.encode())
    total = 0
    buf = bytearray(1 << 20)
    while True:
        k = s.recv_into(buf)
        if not k:
            break
        total += k
    s.close()
    return total

def bench_big(proxy):
    t = time.perf_counter(); got = get("/big", proxy); dt = time.perf_counter() - t
    assert got > size_mb << 20, got
    return (size_mb) / dt

def bench_small(proxy):
    t = time.perf_counter()
    for _ in range(n):
        assert get("/small", proxy) > 0
    return (time.perf_counter() - t) / n * 1000

get("/small", True); get("/small", False)  # warm up
# interleaved, median of 3: the host's other load hits both sides alike
med = lambda v: sorted(v)[len(v) // 2]
runs = [(bench_big(False), bench_big(True), bench_small(False), bench_small(True)) for _ in range(3)]
d_big, p_big = med([r[0] for r in runs]), med([r[1] for r in runs])
d_small, p_small = med([r[2] for r in runs]), med([r[3] for r in runs])
print(f"download {size_mb} MiB   direct {d_big:8.0f} MiB/s   proxy {p_big:8.0f} MiB/s   ratio {p_big / d_big:.2f}x (target >= 0.8x)")
print(f"small request, new conn  direct {d_small:6.2f} ms   proxy {p_small:6.2f} ms   added {p_small - d_small:.2f} ms per connection (target < 1 ms)")
EOF

# From inside the guest (TCG here: the emulated CPU dominates).
t=$("$sbx" exec bench sh -c "curl -s -o /dev/null -w '%{time_total}' http://bench.test:$port/big" 2>/dev/null)
echo "guest download via HTTP_PROXY: $(awk -v t="$t" -v m="$size_mb" 'BEGIN { printf "%.0f", m / t }') MiB/s"
t=$("$sbx" exec bench sh -c "curl -s --noproxy '*' -o /dev/null -w '%{time_total}' http://bench.test:$port/big" 2>/dev/null)
echo "guest download transparent:   $(awk -v t="$t" -v m="$size_mb" 'BEGIN { printf "%.0f", m / t }') MiB/s"
t=$("$sbx" exec bench sh -c "s=\$(date +%s%N); for i in \$(seq 50); do curl -s -o /dev/null http://bench.test:$port/small; done; e=\$(date +%s%N); echo \$(( (e - s) / 50000 ))" 2>/dev/null)
echo "guest small request via HTTP_PROXY (curl process included): $((t / 1000)).$(printf %03d $((t % 1000))) ms each"
