#!/usr/bin/env bash
# End-to-end test of the guest trusting sbxd's per-install CA (issue 7) with the real sbxd and
# ONE sandbox: a local HTTPS server whose certificate for "trusted.test" is signed with the CA
# sbxd made ($SBX_HOME/data/tls), and the same server with a certificate from another CA,
# both on 127.0.0.1 through SBX_HOSTS_FILE (sbxd's resolver test hook) and an exact allow
# rule. Checks, without -k or any CA flag: curl, python3 urllib, node fetch and git reach the
# first and curl refuses the second; the console line; the variables in exec, login shell,
# sudo and dockerd; one sbx block in the bundle after a stop/start. Docker containers and
# builds trusting the CA are a later step (not checked). Cleans up everything it starts.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/sandbox.bash
sbx_test_init --cache sbxtrust
export SBX_HOSTS_FILE=$tmp/hosts
ws=$tmp/ws
n=trust
CERT=/usr/local/share/ca-certificates/sbx-proxy-ca.crt
BUNDLE=/etc/ssl/certs/ca-certificates.crt

sbx_test_need_cache trust
mkdir -p "$ws" "$tmp/www"
echo "hello over trusted tls" >"$tmp/www/hello.txt"
echo "127.0.0.1 trusted.test" >"$SBX_HOSTS_FILE"

X() { timeout 180 "$SBX" exec "$n" "$@"; }
got=$(timeout 120 "$SBX" create -q --name $n -m 1g shell "$ws" 2>"$tmp/err")
expect create "$n" "$got"
"$SBX" policy allow network -g "trusted.test" >/dev/null 2>"$tmp/err" &&
	pass rule-allow || fail rule-allow "$(cat "$tmp/err")"

# ---- sbxd made its CA at start ----
CA=$SBX_HOME/data/tls
if [[ -s $CA/ca.pem && -s $CA/ca.key ]]; then pass ca-created; else
	fail ca-created "$(ls -la "$CA" 2>&1)"
	exit 1
fi
expect ca-key-private 600 "$(stat -c %a "$CA/ca.key")"
grep -q "proxy CA: created" "$SBX_HOME/data/sbxd.log" 2>/dev/null && pass ca-created-logged ||
	fail ca-created-logged "$(tail -n 3 "$SBX_HOME/data/sbxd.log" 2>&1)"

# ---- the outside: a certificate from sbxd's CA, and one from another CA ----
cat >"$tmp/ext" <<'EOF2'
subjectAltName=DNS:trusted.test
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF2
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=trusted.test \
	-keyout "$tmp/good.key" -out "$tmp/good.csr" >/dev/null 2>&1
openssl x509 -req -in "$tmp/good.csr" -CA "$CA/ca.pem" -CAkey "$CA/ca.key" -CAcreateserial \
	-CAserial "$tmp/ca.srl" -days 2 -extfile "$tmp/ext" -out "$tmp/good.pem" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=other-test-ca -keyout "$tmp/other-ca.key" -out "$tmp/other-ca.pem" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=trusted.test \
	-keyout "$tmp/bad.key" -out "$tmp/bad.csr" >/dev/null 2>&1
openssl x509 -req -in "$tmp/bad.csr" -CA "$tmp/other-ca.pem" -CAkey "$tmp/other-ca.key" \
	-CAcreateserial -CAserial "$tmp/other.srl" -days 2 -extfile "$tmp/ext" -out "$tmp/bad.pem" \
	>/dev/null 2>&1
openssl verify -CAfile "$CA/ca.pem" "$tmp/good.pem" >"$tmp/out" 2>&1 && pass host-cert-made ||
	fail host-cert-made "$(cat "$tmp/out")"
cat >"$tmp/serve.py" <<'EOF2'
import http.server, socketserver, ssl, sys, os
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
os.chdir(sys.argv[1])
s = S(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF2
python3 "$tmp/serve.py" "$tmp/www" "$tmp/good.pem" "$tmp/good.key" >"$tmp/good.port" 2>/dev/null &
srv_pids+=($!)
python3 "$tmp/serve.py" "$tmp/www" "$tmp/bad.pem" "$tmp/bad.key" >"$tmp/bad.port" 2>/dev/null &
srv_pids+=($!)
for _ in $(seq 100); do [[ -s $tmp/good.port && -s $tmp/bad.port ]] && break; sleep 0.1; done
GP=$(cat "$tmp/good.port")
BP=$(cat "$tmp/bad.port")
# a git repository served by the same server (dumb HTTP protocol)
git init -q --bare "$tmp/www/repo.git"
git clone -q "$tmp/www/repo.git" "$tmp/src" 2>/dev/null
echo "from the host repo" >"$tmp/src/README"
git -C "$tmp/src" add README && git -C "$tmp/src" -c user.name=t -c user.email=t@e commit -qm one &&
	git -C "$tmp/src" push -q origin HEAD:master 2>/dev/null
git -C "$tmp/www/repo.git" symbolic-ref HEAD refs/heads/master
git -C "$tmp/www/repo.git" update-server-info
want_head=$(git -C "$tmp/www/repo.git" rev-parse HEAD)

URL=https://trusted.test:$GP/hello.txt
WANT="hello over trusted tls"
console=$SBX_HOME/data/sandboxes/$n/console.log

# check_boot <suffix>: the console line and one sbx block in the bundle
check_boot() {
	local bytes line
	bytes=$(wc -c <"$CA/ca.pem")
	line=$(grep -a "sbx-init: proxy CA" "$console" 2>/dev/null)
	expect "console-line$1" "sbx-init: proxy CA installed ($bytes bytes)" "$(echo "$line" | tr -d '\r')"
	expect "bundle-one-block$1" 1 "$(X grep -c '^# BEGIN sbx proxy CA' $BUNDLE 2>&1)"
	expect "cert-file$1" "$(cat "$CA/ca.pem")" "$(X cat $CERT 2>&1)"
}

# ---- inside ----
expect boot-ok ok "$(X echo ok 2>/dev/null)"
check_boot ""
expect curl-trusted "$WANT" "$(X curl -sS --max-time 30 "$URL" 2>&1)"
expect curl-transparent-trusted "$WANT" "$(X curl -sS --noproxy '*' --max-time 30 "$URL" 2>&1)"
X curl -sS --max-time 30 "https://trusted.test:$BP/hello.txt" >"$tmp/out" 2>&1
rc=$?
[[ $rc -eq 60 ]] && pass curl-other-ca-refused || fail curl-other-ca-refused "rc=$rc $(cat "$tmp/out")"
expect python-urllib "$WANT" \
	"$(X python3 -c "import urllib.request; print(urllib.request.urlopen('$URL', timeout=30).read().decode().strip())" 2>&1)"
got=$(X python3 -c "
import urllib.request
try:
    urllib.request.urlopen('https://trusted.test:$BP/hello.txt', timeout=30); print('accepted')
except Exception as e:
    print('refused' if 'CERTIFICATE_VERIFY_FAILED' in str(e) else repr(e))" 2>&1)
expect python-other-ca-refused refused "$got"
expect node-fetch "$WANT" \
	"$(X node -e "fetch('$URL').then(r => r.text()).then(t => console.log(t.trim()), e => { console.log(String(e.cause || e)); })" 2>/dev/null)"
expect node-https "$WANT" \
	"$(X node -e "require('https').get('$URL', r => { let d = ''; r.on('data', c => d += c); r.on('end', () => console.log(d.trim())); }).on('error', e => console.log(String(e)))" 2>/dev/null)"
got=$(X git ls-remote "https://trusted.test:$GP/repo.git" 2>&1 | awk '$2 == "HEAD" {print $1}')
expect git-ls-remote "$want_head" "$got"

# ---- where the variables are: exec, login shell, sudo, dockerd ----
expect env-exec "$CERT $BUNDLE $BUNDLE $BUNDLE $BUNDLE" \
	"$(X sh -c 'echo $NODE_EXTRA_CA_CERTS $SSL_CERT_FILE $REQUESTS_CA_BUNDLE $CURL_CA_BUNDLE $GIT_SSL_CAINFO' 2>&1)"
expect env-login-shell "$CERT $BUNDLE" \
	"$(X env -i HOME=/home/agent bash -lc 'echo $NODE_EXTRA_CA_CERTS $SSL_CERT_FILE' 2>&1)"
expect env-sudo "$BUNDLE" "$(X sudo -n sh -c 'echo $SSL_CERT_FILE' 2>&1)"
got=""
for _ in $(seq 60); do # dockerd starts in the background after boot (slow under TCG)
	got=$(timeout 180 "$SBX" exec -u root $n sh -c 'p=$(pgrep -x dockerd | head -n 1) &&
		tr "\0" "\n" </proc/$p/environ | grep "^SSL_CERT_FILE="' 2>&1)
	[[ $got == SSL_CERT_FILE=* ]] && break
	sleep 2
done
expect env-dockerd "SSL_CERT_FILE=$BUNDLE" "$got"

# ---- a stop/start: the block is replaced, not added (same CA: the bundle is unchanged) ----
sum1=$(X sha256sum $BUNDLE 2>&1)
timeout 180 "$SBX" stop $n >/dev/null 2>&1
expect restart-boot-ok ok "$(X echo ok 2>/dev/null)"
check_boot -after-restart
expect bundle-unchanged-after-restart "$sum1" "$(X sha256sum $BUNDLE 2>&1)"
expect curl-after-restart "$WANT" "$(X curl -sS --max-time 30 "$URL" 2>&1)"

timeout 180 "$SBX" rm -f $n >/dev/null 2>&1
[[ $fails -eq 0 ]]
