#!/usr/bin/env bash
# End-to-end test of the sandbox's private Docker daemon (issue 5), offline, with ONE sandbox (and a
# second one only to see a new sandbox starts empty): exec not waiting for dockerd, the docker
# wrapper waiting for it, the daemon being the sandbox's own, /var/lib/docker on the state disk,
# `docker load` (an image tarball made here by hand from busybox-static), `docker import`, a FROM
# scratch `docker build` of a static binary, `docker run` on the default bridge, `-p` reached from
# the sandbox, `docker-compose up -d` of two local services, containers' TCP and DNS through the
# egress path (sbxd decides), dockerd's proxy environment, images surviving stop/start and gone
# after rm. Cleans up every process and file it starts.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/sandbox.bash
sbx_test_init --cache sbxdocker
export SBX_HOSTS_FILE=$tmp/hosts
ws=$tmp/ws
n=dkr

sbx_test_need_cache docker
for need in /bin/busybox "$top/build/guest/docker_hello"; do
	if [[ ! -x $need ]]; then
		echo "SKIP docker: $need missing (apt-get install busybox-static; make)"
		exit 0
	fi
done
mkdir -p "$ws/build" "$tmp/www" "$tmp/rootfs"/{bin,www,etc,tmp}
echo "hello from the host" >"$tmp/www/hello.txt"

# ---- images made on the host: a busybox rootfs, as a rootfs tar and as a docker-archive ----
cp /bin/busybox "$tmp/rootfs/bin/busybox"
for a in sh ls cat echo wget httpd sleep true hostname ip nslookup grep head; do
	ln -s busybox "$tmp/rootfs/bin/$a"
done
echo "served by a container" >"$tmp/rootfs/www/index.html"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$tmp/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/rootfs/etc/group"
tar -C "$tmp/rootfs" --owner=0 --group=0 -cf "$ws/rootfs.tar" . || exit 1
python3 - "$ws/rootfs.tar" "$ws/busybox-image.tar" <<'EOF' || exit 1
# docker-archive (docker save's format): manifest.json, the config, one layer tar
import hashlib, io, json, sys, tarfile, time
layer = open(sys.argv[1], "rb").read()
diff = "sha256:" + hashlib.sha256(layer).hexdigest()
cfg = json.dumps({
    "architecture": "amd64", "os": "linux",
    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"], "WorkingDir": "/"},
    "rootfs": {"type": "layers", "diff_ids": [diff]},
    "history": [{"created_by": "sbx e2e test: busybox-static"}],
}).encode()
cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
lid = hashlib.sha256(diff.encode()).hexdigest()
manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["sbxtest/busybox:1"],
                        "Layers": [lid + "/layer.tar"]}]).encode()
with tarfile.open(sys.argv[2], "w") as t:
    for name, data in ((cfg_name, cfg), (lid + "/layer.tar", layer), (lid + "/VERSION", b"1.0"),
                       ("manifest.json", manifest)):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime = len(data), int(time.time())
        t.addfile(ti, io.BytesIO(data))
EOF
cp "$top/build/guest/docker_hello" "$ws/build/hello"
printf 'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n' >"$ws/build/Dockerfile"
mkdir -p "$ws/compose"
cat >"$ws/compose/docker-compose.yml" <<'EOF'
version: "3"
services:
  web:
    image: sbxtest/busybox:1
    command: httpd -f -p 80 -h /www
  client:
    image: sbxtest/imported
    command: sh -c 'while :; do wget -q -O /tmp/got http://web/ && break; sleep 1; done; sleep 3600'
    depends_on: [web]
EOF

# ---- the outside: an HTTP server on 127.0.0.1, names through SBX_HOSTS_FILE ----
(cd "$tmp/www" && exec python3 -m http.server --bind 127.0.0.1 0 >"$tmp/http.out" 2>&1) &
srv_pids+=($!)
for _ in $(seq 50); do grep -q 'port' "$tmp/http.out" 2>/dev/null && break; sleep 0.1; done
HP=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$tmp/http.out" | head -n 1)
[[ -n $HP ]] || {
	fail http-server "$(cat "$tmp/http.out")"
	exit 1
}
printf '127.0.0.1 allowed.test denied.test registry.test\n' >"$SBX_HOSTS_FILE"

X() { timeout 300 "$SBX" exec "$n" "$@"; }
R() { timeout 300 "$SBX" exec -u root "$n" "$@"; }
got=$("$SBX" create -q --name $n -m 2g shell "$ws" 2>"$tmp/err")
expect create "$n" "$got"
"$SBX" policy allow network -g "allowed.test,registry.test" >/dev/null 2>"$tmp/err" ||
	fail rule-allow "$(cat "$tmp/err")"

# ---- exec does not wait for dockerd; the first docker command does ----
t0=$(date +%s.%N)
got=$(X sh -c 'test -S /run/docker.sock && echo up || echo starting' 2>"$tmp/err")
first=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
case $got in
starting) pass "exec-before-dockerd (first exec ${first}s, dockerd still starting)" ;;
up) pass "exec-before-dockerd (dockerd was already up; first exec ${first}s)" ;;
*) fail exec-before-dockerd "$got" ;;
esac
t0=$(date +%s.%N)
got=$(X docker version --format '{{.Server.Os}}' 2>"$tmp/err")
echo "dockerd answered $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the first exec"
expect docker-first-command-waits linux "$got"
if grep -q "sbx: waiting for the sandbox's Docker daemon" "$tmp/err"; then
	pass docker-wait-message
elif [[ ${got:-} == linux ]] && ! grep -q . "$tmp/err"; then
	pass "docker-wait-message (not needed: dockerd was up within 2 s)"
else
	fail docker-wait-message "$(head -c 300 "$tmp/err")"
fi

# ---- the daemon is the sandbox's own, its data on the state disk ----
# the host's daemon would name the host and show its images and containers
expect docker-info-own-daemon "$n 0 0" "$(X docker info --format '{{.Name}} {{.Containers}} {{.Images}}' 2>&1)"
expect docker-storage "overlay2 extfs" "$(X docker info --format '{{.Driver}} {{index .DriverStatus 0 1}}' 2>&1)"
expect var-lib-docker-on-state-disk "ext2/ext3 ext2/ext3" "$(R stat -f -c %T /var/lib/docker /var/lib/containerd 2>&1 | tr '\n' ' ' | sed 's/ $//')"
expect agent-in-docker-group yes "$(X sh -c 'id -nG | grep -qw docker && echo yes' 2>&1)"
got=$(R sh -c 'tr "\0" "\n" </proc/$(pidof dockerd)/environ | grep -E "^(HTTPS?_PROXY|NO_PROXY)=" | sort | tr "\n" " "' 2>&1)
expect dockerd-proxy-env "HTTPS_PROXY=http://127.0.0.1:3128 HTTP_PROXY=http://127.0.0.1:3128 NO_PROXY=localhost,127.0.0.1,::1,172.16.0.0/12,192.168.0.0/16 " "$got"

# ---- images: load, import, build FROM scratch ----
got=$(X docker load -i "$ws/busybox-image.tar" 2>&1)
expect docker-load "Loaded image: sbxtest/busybox:1" "$(echo "$got" | tail -n 1)"
got=$(X docker import "$ws/rootfs.tar" sbxtest/imported 2>&1)
[[ $got == sha256:* ]] && pass docker-import || fail docker-import "$got"
X docker build -q -t sbxtest/hello "$ws/build" >"$tmp/out" 2>&1
expect docker-build-scratch 0 "$?"
expect docker-run-scratch "hello from scratch sbx" "$(X docker run --rm sbxtest/hello sbx 2>&1)"
expect docker-run-imported imported-ok "$(X docker run --rm sbxtest/imported echo imported-ok 2>&1)"

# ---- the default bridge, -p from inside the sandbox ----
got=$(X docker run --rm sbxtest/busybox:1 hostname -i 2>&1)
[[ $got == 172.17.* ]] && pass "docker-run-bridge ($got)" || fail docker-run-bridge "$got"
X docker run -d --name web -p 8080:80 sbxtest/busybox:1 httpd -f -p 80 -h /www >"$tmp/out" 2>&1 ||
	fail docker-run-detached "$(cat "$tmp/out")"
got=$(X sh -c 'for i in $(seq 60); do curl -sf --max-time 5 http://127.0.0.1:8080/ && exit; sleep 1; done' 2>&1)
expect docker-publish-localhost "served by a container" "$got"
ip=$(X docker inspect -f '{{.NetworkSettings.IPAddress}}' web 2>&1)
expect docker-container-ip-direct "served by a container" "$(X curl -sf --noproxy "*" --max-time 10 "http://$ip/" 2>&1)"
# the container's port published to the host with sbx ports (issue 6)
hp=$(timeout 30 "$SBX" ports $n -p 8080 2>&1 | sed -n 's|^Published 127\.0\.0\.1:\([0-9]*\) -> 8080/tcp$|\1|p')
expect docker-container-published-to-host "served by a container" \
	"$(curl --noproxy '*' -sf --max-time 30 "http://127.0.0.1:${hp:-1}/" 2>&1)"
timeout 30 "$SBX" ports $n --unpublish 8080 >/dev/null 2>&1
X docker rm -f web >/dev/null 2>&1

# ---- compose: two local services, one reaching the other by name on their own network ----
X sh -c "cd $ws/compose && docker-compose -p sbxt up -d" >"$tmp/out" 2>&1
expect compose-up 0 "$?"
got=$(X sh -c 'for i in $(seq 90); do docker exec sbxt_client_1 cat /tmp/got 2>/dev/null && exit; sleep 1; done' 2>&1)
expect compose-service-to-service "served by a container" "$got"
expect compose-ps "2" "$(X docker ps -q --filter label=com.docker.compose.project=sbxt 2>&1 | wc -l)"
X sh -c "cd $ws/compose && docker-compose -p sbxt down" >"$tmp/out" 2>&1
expect compose-down 0 "$?"

# ---- containers' traffic leaves only through sbxd ----
got=$(X docker run --rm sbxtest/busybox:1 nslookup allowed.test 2>&1)
[[ $got == *"Address: 198.1"[89]* ]] && pass container-dns-synthetic || fail container-dns-synthetic "$(echo "$got" | tr '\n' ' ')"
# (the FROM scratch image's static binary as the client: musl resolves through resolv.conf)
expect container-egress-allowed "hello from the host" \
	"$(X docker run --rm sbxtest/hello get allowed.test "$HP" /hello.txt 2>&1)"
got=$(X docker run --rm sbxtest/hello get denied.test "$HP" /hello.txt 2>&1)
[[ $got == *"resolving denied.test"* ]] && pass container-egress-denied-dns ||
	fail container-egress-denied-dns "$got"
# a raw IP: the transparent path, judged by sbxd (no rule allows it: reset)
got=$(X docker run --rm sbxtest/hello get 203.0.113.7 "$HP" / 2>&1)
[[ $got == *"docker_hello: "* && $got != *"hello from the host"* ]] &&
	pass container-raw-ip-blocked || fail container-raw-ip-blocked "$got"
# a container's own loopback is its own, never the sandbox's or the host's
got=$(X docker run --rm sbxtest/hello get 127.0.0.1 "$HP" /hello.txt 2>&1)
[[ $got == *"connect"* ]] && pass container-loopback-own || fail container-loopback-own "$got"
# dockerd's registry traffic: through the explicit proxy (the pull itself fails: no registry)
X docker pull "registry.test:$HP/none:1" >"$tmp/out" 2>&1
"$SBX" policy log $n --json >"$tmp/log.json" 2>&1
if python3 - "$tmp/log.json" <<'EOF' 2>"$tmp/pyerr"; then pass egress-log-rows; else fail egress-log-rows "$(tail -n 2 "$tmp/pyerr" | cut -c1-400)"; fi
import json, sys
j = json.load(open(sys.argv[1]))
allowed, blocked = j["allowed"], j["blocked"]
def has(rows, host, proxy):
    return any(r["host"] == host and r["proxy"] == proxy for r in rows)
assert has(allowed, "allowed.test", "transparent"), allowed  # the container's wget
assert has(allowed, "allowed.test", "dns"), allowed
assert has(blocked, "denied.test", "dns"), blocked
assert has(blocked, "203.0.113.7", "transparent"), blocked
assert has(allowed, "registry.test", "connect"), allowed  # dockerd's pull
EOF

# ---- images survive stop/start; a new sandbox has none ----
timeout 120 "$SBX" stop $n >"$tmp/out" 2>&1
expect stop 0 "$?"
got=$(X docker images --format '{{.Repository}}' 2>/dev/null | sort | tr '\n' ' ')
expect images-survive-restart "sbxtest/busybox sbxtest/hello sbxtest/imported " "$got"
expect run-after-restart "hello from scratch again" "$(X docker run --rm sbxtest/hello again 2>&1)"
timeout 120 "$SBX" rm -f $n >"$tmp/out" 2>&1
expect rm 0 "$?"
"$SBX" create -q --name $n -m 2g shell "$ws" >/dev/null 2>"$tmp/err" || fail create-again "$(cat "$tmp/err")"
expect new-sandbox-no-images "0 0" "$(X docker info --format '{{.Images}} {{.Containers}}' 2>/dev/null)"

echo "docker: $fails failed"
[[ $fails -eq 0 ]]
