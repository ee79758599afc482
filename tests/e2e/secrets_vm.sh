#!/usr/bin/env bash
# Proof test of issue 7 with the real sbxd and ONE sandbox: keys reach the provider, never the
# VM (also: a key from the environment of `sbx create`, a global key set after the sandbox was
# made not applying to it while its own one does). A python HTTPS server on 127.0.0.1:443 (certificate for api.anthropic.com and
# api.example.test from a test CA; sbxd trusts it through SBX_TLS_UPSTREAM_CA, resolves both
# names to 127.0.0.1 through SBX_HOSTS_FILE) records every request's headers. A global
# anthropic key and a custom secret (api.example.test, EXAMPLE_TOKEN) are set from stdin before
# the sandbox exists. Inside: the variables hold the sentinel / placeholder (-e wins), curl and
# node fetch send them and the server sees the real values. Then both real values are searched
# for, with zero hits wanted: every guest process's environ and cmdline (as root), the guest's
# disks (its state.img, every file QEMU opened, the template) and the workspace share, sbxd's
# data dir, and the guest's RAM read from QEMU's /proc/PID/mem — each scan with a control
# (a marker written in the guest IS found). SKIPs when 127.0.0.1:443 cannot be bound.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/sandbox.bash
sbx_test_init --cache sbxsecvm
n=secvm
ws=$tmp/ws

sbx_test_need_sbx secrets-vm
sbx_test_need_cache secrets-vm
# the sandbox is made from the claude template when the cache has it ready (images.sh builds it
# earlier in the suite): then Claude Code itself sends the sentinel too; else from shell
agent=shell
"$SBX" template ls --json 2>/dev/null | python3 -c 'import json,sys
sys.exit(0 if any(t["name"] == "claude" and t["status"] == "ready" for t in json.load(sys.stdin)) else 1)' &&
	agent=claude
mkdir -p "$ws" "$tmp/srv"

K=sk-ant-api03-test-$(openssl rand -hex 24)  # the "real" anthropic key
C=custom-real-$(openssl rand -hex 24)         # the "real" custom value
KO=sk-proj-hostenv-$(openssl rand -hex 24)    # openai: only in the environment of `sbx create`
KG=AIza-global-late-$(openssl rand -hex 16)   # google, global, set after the sandbox exists
KG2=AIza-own-$(openssl rand -hex 16)          # google, the sandbox's own
M=sbx-control-marker-$(openssl rand -hex 16)  # written in the guest: scans must find it
# given to scan.py only: never exported, or sbxd (started by sbx) and QEMU would hold the key.
# The marker first: verdict() wants hits for it and none for the others.
pats="$M
$K
$C
$KO
$KG
$KG2"

# ---- the test CA and the server's certificate (openssl CLI) ----
cat >"$tmp/ext" <<'EOF2'
subjectAltName=DNS:api.anthropic.com,DNS:api.example.test,DNS:api.openai.com,DNS:generativelanguage.googleapis.com,DNS:registry.sbx.test
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF2
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=sbx-secrets-test-ca -keyout "$tmp/ca.key" -out "$tmp/ca.pem" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=api.anthropic.com \
	-keyout "$tmp/srv.key" -out "$tmp/srv.csr" >/dev/null 2>&1
openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
	-CAserial "$tmp/ca.srl" -days 2 -extfile "$tmp/ext" -out "$tmp/srv.pem" >/dev/null 2>&1
if openssl verify -CAfile "$tmp/ca.pem" "$tmp/srv.pem" >"$tmp/out" 2>&1; then pass test-cert-made; else
	fail test-cert-made "$(cat "$tmp/out")"
	exit 1
fi

# ---- a tiny image for the stand-in registry (docker pull through interception) ----
mkdir -p "$tmp/reg"
python3 - "$tmp/reg" <<'EOF2' || { fail registry-image "python failed"; exit 1; }
import gzip, hashlib, io, json, os, sys, tarfile
d = sys.argv[1]
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    data = b"pulled through sbxd's interception\n"
    ti = tarfile.TarInfo("pulled.txt"); ti.size = len(data); ti.mtime = 1
    t.addfile(ti, io.BytesIO(data))
raw = raw.getvalue()
layer = gzip.compress(raw, mtime=1)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
def blob(b):
    dg = "sha256:" + hashlib.sha256(b).hexdigest()
    open(os.path.join(d, dg), "wb").write(b)
    return dg
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(cfg), "digest": blob(cfg)},
                  "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer), "digest": blob(layer)}]}).encode()
open(os.path.join(d, "manifest"), "wb").write(man)
EOF2

# ---- the stand-in provider on 127.0.0.1:443: one JSON line of headers per request; /v2/ is
# a read-only registry serving that image as sbx/busybox:1 ----
cat >"$tmp/serve.py" <<'EOF2'
import errno, hashlib, http.server, json, os, socket, socketserver, ssl, sys
log = open(sys.argv[1], "a")
reg = sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def registry(self):
        ctype, body = "application/json", None
        if self.path == "/v2/":
            body = b"{}"
        elif self.path.startswith("/v2/sbx/busybox/manifests/"):
            m = open(os.path.join(reg, "manifest"), "rb").read()
            ref = self.path.rsplit("/", 1)[1]  # the tag, or the manifest's digest
            if ref in ("1", "sha256:" + hashlib.sha256(m).hexdigest()):
                body, ctype = m, "application/vnd.docker.distribution.manifest.v2+json"
        elif self.path.startswith("/v2/sbx/busybox/blobs/sha256:"):
            p = os.path.join(reg, self.path.rsplit("/", 1)[1])
            if os.path.exists(p):
                body, ctype = open(p, "rb").read(), "application/octet-stream"
        if body is None:
            return 404, b"{}", ctype, {}
        return 200, body, ctype, {"Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                                  "Docker-Distribution-API-Version": "registry/2.0"}
    def handle_one(self):
        n = int(self.headers.get("content-length") or 0)
        if n:
            self.rfile.read(n)
        log.write(json.dumps({"method": self.command, "path": self.path,
                              "headers": [[k.lower(), v] for k, v in self.headers.items()]}) + "\n")
        log.flush()
        st, body, ctype, extra = 200, b"ok\n", "text/plain", {}
        if self.path.startswith("/v2/"):
            st, body, ctype, extra = self.registry()
        self.send_response(st)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_GET = do_POST = do_HEAD = handle_one
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
try:
    s = S(("127.0.0.1", 443), H)
except OSError as e:
    print({errno.EADDRINUSE: "INUSE", errno.EACCES: "EACCES"}.get(e.errno, "ERROR %s" % e), flush=True)
    sys.exit(1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print("READY", flush=True)
s.serve_forever()
EOF2
python3 "$tmp/serve.py" "$tmp/seen.jsonl" "$tmp/srv.pem" "$tmp/srv.key" "$tmp/reg" >"$tmp/srv.state" 2>&1 &
srv_pids+=($!)
for _ in $(seq 100); do [[ -s $tmp/srv.state ]] && break; sleep 0.1; done
state=$(head -n 1 "$tmp/srv.state")
case $state in
READY) pass server-on-443 ;;
INUSE)
	echo "SKIP secrets-vm: 127.0.0.1:443 is taken by another program (free it to run this test)"
	exit $((fails > 0))
	;;
EACCES)
	echo "SKIP secrets-vm: cannot bind 127.0.0.1:443 (run as root)"
	exit $((fails > 0))
	;;
*)
	fail server-on-443 "$state"
	exit 1
	;;
esac

# ---- sbxd (started by the first sbx command) with the test hooks; secrets before the sandbox ----
export SBX_TLS_UPSTREAM_CA=$tmp/ca.pem
export SBX_HOSTS_FILE=$tmp/hosts
printf '127.0.0.1 %s\n' api.anthropic.com api.example.test api.openai.com \
	generativelanguage.googleapis.com registry.sbx.test >"$SBX_HOSTS_FILE"
printf %s "$K" | "$SBX" secret set -g anthropic >"$tmp/out" 2>&1 && pass secret-set ||
	fail secret-set "$(cat "$tmp/out")"
printf %s "$C" | "$SBX" secret set-custom -g --host api.example.test --env EXAMPLE_TOKEN \
	>"$tmp/out" 2>&1 && pass secret-set-custom || fail secret-set-custom "$(cat "$tmp/out")"
PH=$(sed -n 's/^Placeholder (the sandbox sees it in EXAMPLE_TOKEN): //p' "$tmp/out")
# a secret bound to the registry makes sbxd intercept it: dockerd's pulls must trust sbxd's CA
printf %s "reg-token-$RANDOM" | "$SBX" secret set-custom -g --host registry.sbx.test \
	--env SBX_REG_TOKEN >/dev/null 2>&1 || fail secret-set-registry
[[ $PH =~ ^sbx-ph-[0-9a-f]{32}$ ]] && pass placeholder-printed || fail placeholder-printed "'$PH'"
for h in api.anthropic.com api.example.test api.openai.com generativelanguage.googleapis.com \
	registry.sbx.test; do
	"$SBX" policy allow network -g "$h" >/dev/null 2>"$tmp/err" && pass "rule-allow-$h" ||
		fail "rule-allow-$h" "$(cat "$tmp/err")"
done
# the openai key only in the environment of this `sbx create` (no stored one): the sandbox's
got=$(OPENAI_API_KEY=$KO timeout 120 "$SBX" create --name $n -m 1g $agent "$ws" 2>"$tmp/err")
expect create "Created sandbox $n" "$(grep -o "^Created sandbox $n" <<<"$got")"
grep -q "^Secret openai: the key in this shell's OPENAI_API_KEY" "$tmp/err" &&
	pass create-says-host-env-key || fail create-says-host-env-key "$(cat "$tmp/err")"
expect ls-host-env "$n service host env" \
	"$("$SBX" secret ls | awk '$1=="openai"{print $2" "$3" "$4" "$5}')"
X() { timeout 180 "$SBX" exec "$n" "$@"; }
R() { timeout 180 "$SBX" exec -u root "$n" "$@"; }

# ---- the guest sees sentinels ----
expect boot-ok ok "$(X echo ok 2>/dev/null)"
expect env-sentinel proxy-managed "$(X sh -c 'echo $ANTHROPIC_API_KEY' 2>&1)"
expect env-placeholder "$PH" "$(X sh -c 'echo $EXAMPLE_TOKEN' 2>&1)"
expect env-root-sentinel proxy-managed "$(R sh -c 'echo $ANTHROPIC_API_KEY' 2>&1)"
expect env-user-e-wins mine \
	"$(timeout 180 "$SBX" exec -e ANTHROPIC_API_KEY=mine $n sh -c 'echo $ANTHROPIC_API_KEY' 2>&1)"

# seen <test-id> <header>: the value of <header> in the request the server got with x-test-id
seen() {
	python3 - "$tmp/seen.jsonl" "$1" "$2" <<'EOF2'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    h = {}
    for k, v in r["headers"]:
        h.setdefault(k, v)
    if h.get("x-test-id") == sys.argv[2]:
        print(h.get(sys.argv[3], "(absent)"))
        break
else:
    print("(no such request)")
EOF2
}
# seen_by <header> <substring> <want-header>: <want-header> of the first request whose <header>
# holds <substring>
seen_by() {
	python3 - "$tmp/seen.jsonl" "$1" "$2" "$3" <<'EOF2'
import json, sys
for line in open(sys.argv[1]):
    h = {}
    for k, v in json.loads(line)["headers"]:
        h.setdefault(k, v)
    if sys.argv[3] in h.get(sys.argv[2], ""):
        print(h.get(sys.argv[4], "(absent)"))
        break
else:
    print("(no such request)")
EOF2
}
# same <name> <want> <got>, without printing the real value on a failure
same() {
	if [[ "$3" == "$2" ]]; then pass "$1"; else fail "$1" "the server saw '${3:0:12}...'"; fi
}

# ---- curl and node fetch with the sentinel: the server sees the real key ----
got=$(X sh -c 'curl -sS --max-time 60 https://api.anthropic.com/v1/messages \
	-H "x-api-key: $ANTHROPIC_API_KEY" -H "x-test-id: curl-anthropic" \
	-H "content-type: application/json" -d "{}"' 2>&1)
expect curl-anthropic-ok ok "$got"
same curl-anthropic-real-key "$K" "$(seen curl-anthropic x-api-key)"
got=$(X node -e "fetch('https://api.anthropic.com/v1/messages', {method: 'POST',
	headers: {'x-api-key': process.env.ANTHROPIC_API_KEY, 'x-test-id': 'node-anthropic',
	'content-type': 'application/json'}, body: '{}'}).then(r => r.text()).then(
	t => console.log(t.trim()), e => console.log(String(e.cause || e)))" 2>&1)
expect node-fetch-anthropic-ok ok "$got"
same node-fetch-anthropic-real-key "$K" "$(seen node-anthropic x-api-key)"
got=$(X sh -c 'curl -sS --max-time 60 https://api.example.test/v1/thing \
	-H "Authorization: Bearer $EXAMPLE_TOKEN" -H "x-test-id: curl-custom"' 2>&1)
expect curl-custom-ok ok "$got"
same curl-custom-real-value "Bearer $C" "$(seen curl-custom authorization)"
got=$(X node -e "fetch('https://api.example.test/v1/thing', {headers: {
	'authorization': 'Bearer ' + process.env.EXAMPLE_TOKEN, 'x-test-id': 'node-custom'}}).then(
	r => r.text()).then(t => console.log(t.trim()), e => console.log(String(e.cause || e)))" 2>&1)
expect node-fetch-custom-ok ok "$got"
same node-fetch-custom-real-value "Bearer $C" "$(seen node-custom authorization)"

# ---- Claude Code itself (the claude template): its requests carry the real key ----
if [[ $agent == claude ]]; then
	X sh -c 'cd /tmp && timeout 240 claude -p "reply with ok" </dev/null' >"$tmp/claude.out" 2>&1
	same claude-code-real-key "$K" "$(seen_by user-agent claude x-api-key)"
	[[ $(seen_by user-agent claude x-api-key) != "(no such request)" ]] &&
		pass claude-code-reached-provider ||
		fail claude-code-reached-provider "$(tail -c 400 "$tmp/claude.out")"
else
	echo "SKIP claude-code: the claude template is not ready in $SBX_CACHE_DIR (images.sh builds it)"
fi

# ---- a key from the environment of `sbx create`: injected like a stored one ----
expect env-host-env-sentinel proxy-managed "$(X sh -c 'echo $OPENAI_API_KEY' 2>&1)"
got=$(X sh -c 'curl -sS --max-time 60 https://api.openai.com/v1/models \
	-H "Authorization: Bearer $OPENAI_API_KEY" -H "x-test-id: curl-openai-env"' 2>&1)
expect curl-openai-host-env-ok ok "$got"
same curl-openai-host-env-real-key "Bearer $KO" "$(seen curl-openai-env authorization)"

# ---- a global key set after the sandbox was made does not apply to it; its own one does ----
sleep 1.1 # created_at counts whole seconds
printf %s "$KG" | "$SBX" secret set -g google >"$tmp/out" 2>&1 && pass late-global-set ||
	fail late-global-set "$(cat "$tmp/out")"
expect late-global-no-sentinel "" "$(X sh -c 'echo $GEMINI_API_KEY' 2>&1)"
got=$(X sh -c 'curl -sS -k --max-time 60 https://generativelanguage.googleapis.com/v1/models \
	-H "x-goog-api-key: guest-own" -H "x-test-id: google-late-global"' 2>&1)
expect late-global-tunnel-ok ok "$got"
expect late-global-not-injected guest-own "$(seen google-late-global x-goog-api-key)"
printf %s "$KG2" | "$SBX" secret set $n google >"$tmp/out" 2>&1 && pass own-set-later ||
	fail own-set-later "$(cat "$tmp/out")"
expect own-later-sentinel proxy-managed "$(X sh -c 'echo $GEMINI_API_KEY' 2>&1)"
got=$(X sh -c 'curl -sS --max-time 60 https://generativelanguage.googleapis.com/v1/models \
	-H "x-goog-api-key: $GEMINI_API_KEY" -H "x-test-id: google-own"' 2>&1)
expect own-later-intercepted-ok ok "$got"
same own-later-real-key "$KG2" "$(seen google-own x-goog-api-key)"

# ---- Docker inside: pulls, containers, exec and both builders trust sbxd's CA ----
# an image made in the guest from its own curl (and sh, env, cat, sleep) and their libraries, with
# Debian's CA bundle WITHOUT sbx's block: only the runc wrapper can make it trust the CA
R sh -c 'set -e; d=/tmp/img; rm -rf $d; mkdir -p $d/etc/ssl/certs $d/tmp
for f in /usr/bin/curl /bin/sh /usr/bin/env /usr/bin/cat /usr/bin/sleep /usr/bin/ls; do
	for x in $f $(ldd $f | awk "/=>/ {print \$3} /ld-linux/ {print \$1}"); do
		mkdir -p $d$(dirname $x); cp -L $x $d$x; done; done
sed "/^# BEGIN sbx proxy CA/,/^# END sbx proxy CA/d" /etc/ssl/certs/ca-certificates.crt \
	>$d/etc/ssl/certs/ca-certificates.crt
tar -C $d -c . | docker import -c "ENV PATH=/usr/bin:/bin" - sbxtest/curl:1 >/dev/null' \
	>"$tmp/out" 2>&1 && pass docker-image-made || fail docker-image-made "$(tail -n 3 "$tmp/out")"
CURL='curl -sS --max-time 60 https://api.anthropic.com/v1/messages -H "x-api-key: proxy-managed" -d {}'
got=$(X docker run --rm sbxtest/curl:1 sh -c "$CURL -H 'x-test-id: ctr-run'" 2>&1)
expect container-run-ok ok "$got"
same container-run-real-key "$K" "$(seen ctr-run x-api-key)"
got=$(X docker run --rm sbxtest/curl:1 sh -c 'echo $SSL_CERT_FILE $NODE_EXTRA_CA_CERTS; ls /dev/sbx-*' 2>&1)
expect container-trust-env "/dev/sbx-ca-bundle.crt /dev/sbx-proxy-ca.crt
/dev/sbx-ca-bundle.crt
/dev/sbx-proxy-ca.crt" "$got"
# the image's own bundle is kept in the container's one (plus sbx's CA)
got=$(X docker run --rm sbxtest/curl:1 sh -c 'for f in /etc/ssl/certs/ca-certificates.crt \
	/dev/sbx-ca-bundle.crt; do n=0; while read -r l; do case $l in *"BEGIN CERTIFICATE"*)
	n=$((n + 1)) ;; esac; done <$f; echo $n; done' 2>&1)
n1=$(sed -n 1p <<<"$got")
n2=$(sed -n 2p <<<"$got")
[[ -n $n1 && $n1 -gt 10 && $n2 == $((n1 + 1)) ]] && pass container-bundle-is-image-plus-ca ||
	fail container-bundle-is-image-plus-ca "$got"
# control: a -e of the user's wins, and the image's own bundle alone does not trust sbxd's CA
got=$(X docker run --rm -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt -e CURL_CA_BUNDLE= \
	sbxtest/curl:1 sh -c "$CURL -H 'x-test-id: ctr-control'" 2>&1)
[[ $got == *"certificate"* ]] && pass container-control-untrusted || fail container-control-untrusted "$got"
X docker run -d --name ctr1 sbxtest/curl:1 sleep 600 >/dev/null 2>&1
got=$(X docker exec ctr1 sh -c "$CURL -H 'x-test-id: ctr-exec'" 2>&1)
expect container-exec-ok ok "$got"
same container-exec-real-key "$K" "$(seen ctr-exec x-api-key)"
X docker rm -f ctr1 >/dev/null 2>&1
mkdir -p "$ws/ctrbuild"
printf 'FROM sbxtest/curl:1\nARG ID\nRUN %s -H "x-test-id: $ID" >/got && cat /got\n' "$CURL" >"$ws/ctrbuild/Dockerfile"
for b in 0 1; do
	X sh -c "DOCKER_BUILDKIT=$b docker build -q --build-arg ID=ctr-build-$b -t sbxtest/built$b $ws/ctrbuild" \
		>"$tmp/out" 2>&1 && pass "docker-build-buildkit$b" || fail "docker-build-buildkit$b" "$(tail -n 5 "$tmp/out")"
	same "docker-build-buildkit$b-real-key" "$K" "$(seen ctr-build-$b x-api-key)"
done
# nothing of sbx's is committed into the built image's layers
got=$(X sh -c 'docker save sbxtest/built0 | tar -xOf - --wildcards "*/layer.tar" | tar -it' 2>&1)
[[ $got == *got* && $got != *sbx* ]] && pass docker-build-layers-clean || fail docker-build-layers-clean "$got"
# dockerd's pull through interception: the registry's host has a secret bound
got=$(X docker pull -q registry.sbx.test/sbx/busybox:1 2>&1)
expect docker-pull-intercepted "registry.sbx.test/sbx/busybox:1" "$got"
grep -q '"path": "/v2/sbx/busybox/manifests/1"' "$tmp/seen.jsonl" && pass registry-saw-pull ||
	fail registry-saw-pull "no manifest request reached the registry"
"$SBX" policy log --json 2>/dev/null | grep -q 'registry.sbx.test' && pass pull-in-policy-log ||
	fail pull-in-policy-log

if grep -qF -e proxy-managed -e "$PH" "$tmp/seen.jsonl"; then
	fail server-never-saw-sentinels "$(grep -cF -e proxy-managed -e "$PH" "$tmp/seen.jsonl") lines"
else
	pass server-never-saw-sentinels
fi

# ---- leave traces a careless design would fill with keys, plus the control marker ----
X sh -c 'env >"$HOME/env.txt"; env >"$1/env.txt"; set >/tmp/set.txt' sh "$ws" >/dev/null 2>&1
X sh -c 'echo "$1" >"$HOME/marker.txt"; echo "$1" >"$2/marker.txt"; echo "$1" >/dev/shm/marker.txt' \
	sh "$M" "$ws" >/dev/null 2>&1
# a process holding the marker in its environ and cmdline (sh stays: `:` runs after sleep)
timeout 180 "$SBX" exec -d -e "SBX_TEST_MARKER=$M" $n sh -c "sleep 900; : $M" >/dev/null 2>&1
R sync >/dev/null 2>&1
grep -q "^ANTHROPIC_API_KEY=proxy-managed$" "$ws/env.txt" && pass workspace-env-has-sentinel ||
	fail workspace-env-has-sentinel "$(head -c 300 "$ws/env.txt" 2>&1)"

# scan.py files|mem ARGS: for each pattern of $SCAN_PATTERNS, its number of hits (one per line)
cat >"$tmp/scan.py" <<'EOF2'
import os, sys
pats = [p.encode() for p in os.environ["SCAN_PATTERNS"].split("\n")]
hits = [0] * len(pats)
keep = max(len(p) for p in pats) - 1
def scan(read_chunks):
    tail = b""
    for chunk in read_chunks:
        buf = tail + chunk
        for i, p in enumerate(pats):
            # count only hits that end inside this chunk (the tail was searched already)
            at = buf.find(p)
            while at >= 0:
                if at + len(p) > len(tail):
                    hits[i] += 1
                at = buf.find(p, at + 1)
        tail = buf[-keep:] if keep else b""
def file_chunks(path):
    with open(path, "rb") as f:
        while True:
            b = f.read(16 << 20)
            if not b:
                return
            yield b
def mem_chunks(f, start, end):
    at = start
    while at < end:
        n = min(16 << 20, end - at)
        try:
            f.seek(at)
            b = f.read(n)
        except OSError:
            b = b""
        if not b:
            yield b"\0" * keep  # an unreadable page: break any match across it
            at += 4096
            continue
        yield b
        at += len(b)
mode, args = sys.argv[1], sys.argv[2:]
scanned = 0
if mode == "files":
    for top in args:
        paths = [top] if os.path.isfile(top) else [
            os.path.join(d, x) for d, _, fs in os.walk(top) for x in fs]
        for p in paths:
            if os.path.isfile(p) and not os.path.islink(p):
                try:
                    scan(file_chunks(p))
                    scanned += os.path.getsize(p)
                except OSError as e:
                    print("unreadable %s: %s" % (p, e), file=sys.stderr)
else:
    pid = args[0]
    with open("/proc/%s/maps" % pid) as m, open("/proc/%s/mem" % pid, "rb", 0) as f:
        for line in m:
            f5 = line.split()
            lo, hi = (int(x, 16) for x in f5[0].split("-"))
            name = f5[5] if len(f5) > 5 else ""
            if "r" not in f5[1] or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            scan(mem_chunks(f, lo, hi))
            scanned += hi - lo
print("scanned %d bytes" % scanned, file=sys.stderr)
for h in hits:
    print(h)
EOF2

# verdict <name> <scan output file>: zero hits of every key and custom value; <name>-control
# passes when the marker (the first pattern) was found
verdict() {
	local m rest
	{ read -r m && rest=$(tr '\n' ' '); } <"$2"
	if [[ -n $rest && -z ${rest//[0 ]/} ]]; then pass "$1-no-key"; else
		fail "$1-no-key" "hits per key: ${rest:-?} ($(tail -n 1 "$tmp/scan.err"))"
	fi
	if [[ ${m:-0} -gt 0 ]]; then pass "$1-control"; else
		fail "$1-control" "the marker was not found: the scan does not work ($(tail -n 1 "$tmp/scan.err"))"
	fi
}

# ---- (a) every process's environ and cmdline in the guest, as root, scanned on the host ----
R sh -c 'for p in /proc/[0-9]*; do echo "== $p"; cat "$p/environ" "$p/cmdline" 2>/dev/null; echo; done
	cat /proc/cmdline' >"$tmp/procs.dump" 2>&1
np=$(grep -ac '^== /proc/' "$tmp/procs.dump")
[[ $np -ge 10 ]] && pass "guest-procs-dumped-$np" || fail guest-procs-dumped "$np processes"
grep -aq "ANTHROPIC_API_KEY=proxy-managed" "$tmp/procs.dump" && pass guest-procs-see-sentinel ||
	fail guest-procs-see-sentinel "no process holds the sentinel"
SCAN_PATTERNS=$pats python3 "$tmp/scan.py" files "$tmp/procs.dump" >"$tmp/scan.out" 2>"$tmp/scan.err"
verdict guest-procs "$tmp/scan.out"

# ---- (b) the guest's disks and shares, on the host ----
qpid=""
for d in /proc/[0-9]*; do
	case $(cat "$d/comm" 2>/dev/null) in qemu*) ;; *) continue ;; esac
	{ tr '\0' '\n' <"$d/cmdline"; } 2>/dev/null | grep -qF "$SBX_HOME" && qpid=${d#/proc/}
done
[[ -n $qpid ]] && pass qemu-found || fail qemu-found "no qemu process names $SBX_HOME"
disks=()
sbdir=$SBX_HOME/data/sandboxes/$n
[[ -f $sbdir/state.img ]] && disks+=("$sbdir/state.img")
[[ -f $SBX_CACHE_DIR/templates/shell/rootfs.img ]] && disks+=("$SBX_CACHE_DIR/templates/shell/rootfs.img")
if [[ -n $qpid ]]; then # every regular file QEMU holds open (its disks, whatever their names)
	for f in /proc/"$qpid"/fd/*; do
		f=$(readlink "$f" 2>/dev/null) || continue
		[[ -f $f && ! " ${disks[*]} " == *" $f "* ]] && disks+=("$f")
	done
fi
[[ " ${disks[*]} " == *" $sbdir/state.img "* ]] && pass "disks-found-${#disks[@]}" ||
	fail disks-found "no $sbdir/state.img (have: ${disks[*]})"
SCAN_PATTERNS=$pats python3 "$tmp/scan.py" files "${disks[@]}" >"$tmp/scan.out" 2>"$tmp/scan.err"
verdict guest-disks "$tmp/scan.out"
SCAN_PATTERNS=$pats python3 "$tmp/scan.py" files "$ws" >"$tmp/scan.out" 2>"$tmp/scan.err"
verdict workspace-share "$tmp/scan.out"
# sbxd's data dir (logs, database, sandboxes): never the key; no control there
SCAN_PATTERNS=$pats python3 "$tmp/scan.py" files "$SBX_HOME/data" >"$tmp/scan.out" 2>"$tmp/scan.err"
rest=$(tail -n +2 "$tmp/scan.out" | tr '\n' ' ')
[[ -n $rest && -z ${rest//[0 ]/} ]] && pass sbx-data-no-key || fail sbx-data-no-key "hits per key: $rest"

# ---- (c) the guest's RAM, read from QEMU's memory ----
if [[ -n $qpid ]]; then
	SCAN_PATTERNS=$pats python3 "$tmp/scan.py" mem "$qpid" >"$tmp/scan.out" 2>"$tmp/scan.err"
	verdict guest-ram "$tmp/scan.out"
	sz=$(sed -n 's/^scanned \([0-9]*\) bytes$/\1/p' "$tmp/scan.err")
	[[ ${sz:-0} -ge $((1 << 30)) ]] && pass "guest-ram-size-$((sz >> 20))MiB" ||
		fail guest-ram-size "scanned ${sz:-0} bytes, less than the guest's 1 GiB"
fi

timeout 180 "$SBX" rm -f $n >/dev/null 2>&1
[[ $fails -eq 0 ]]
