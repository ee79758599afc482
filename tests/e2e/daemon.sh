#!/usr/bin/env bash
# End-to-end test of sbxd over its unix socket with curl: the REST contract (docs/API.md),
# failures that must leave nothing behind, and the lifecycle (start, stop, supervisor, kill -9
# + restart reattach) first against a fake engine (a python stand-in for sbx-vhost, the guest
# agent and QEMU: fast, always runs), then against real QEMU, and a real VM when sbx-vhost and
# the boot assets exist (SBX_CACHE_DIR). Prints PASS/FAIL/SKIP lines; exits 1 if any failed.
# Cleans up every process and file it started, even on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
SBXD=${SBXD:-$top/build/sbxd}
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/sbx-e2e-d.XXXXXX)
failed=0
sbxd_pid=

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1${2:+: $2}"
	failed=1
}
check() { # check NAME CMD...: PASS if CMD succeeds
	local n=$1
	shift
	if "$@"; then pass "$n"; else fail "$n" "last answer: ${code:-} ${body:0:300}"; fi
}

# Every process whose command line mentions our temp dir was started by this test.
our_pids() {
	local p
	for p in /proc/[0-9]*; do
		[[ ${p#/proc/} == "$$" ]] && continue
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "$tmp" && echo "${p#/proc/}"
	done
}

cleanup() {
	[[ -n $sbxd_pid ]] && kill "$sbxd_pid" 2>/dev/null
	local p
	for p in $(our_pids); do kill -9 "$p" 2>/dev/null; done
	sleep 0.2
	for p in $(our_pids); do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [[ ! -x $SBXD ]]; then
	fail daemon-built "$SBXD missing (run make)"
	exit 1
fi

# ---- helpers ----
home= # current SBX_HOME
sock() { echo "$home/run/sbxd.sock"; }
# api METHOD PATH [BODY]: sets $code and $body (no subshell, so they stay set).
code=
body=
api() {
	local f
	f=$(mktemp "$tmp/body.XXXXXX")
	code=$(curl -sS --max-time 200 --unix-socket "$(sock)" -X "$1" ${3:+-H 'Content-Type: application/json' -d "$3"} \
		-o "$f" -w '%{http_code}' "http://sbx$2" 2>>"$tmp/curl.err") || code=000
	body=$(cat "$f")
	rm -f "$f"
}
# api_print ...: api, then print the body (for background jobs).
api_print() {
	api "$@"
	echo "$body"
}
status_of() {
	api GET "/v1/sandboxes/$1"
	jget status <<<"$body"
}
jget() { # jget FIELD < json
	$PY -c 'import json,sys
d=json.load(sys.stdin); v=d
for k in sys.argv[1].split("."):
    v=v[int(k)] if isinstance(v,list) else v.get(k)
print("" if v is None else v)' "$1" 2>/dev/null
}
# start_sbxd HOME [ENV...]: start sbxd in the foreground (background job), wait for its socket.
start_sbxd() {
	home=$1
	shift
	mkdir -p "$home"
	env SBX_HOME="$home" "$@" "$SBXD" >>"$home.log" 2>&1 &
	sbxd_pid=$!
	for _ in $(seq 100); do
		[[ -S $(sock) ]] && curl -s --max-time 1 --unix-socket "$(sock)" http://sbx/v1/version >/dev/null && return 0
		kill -0 "$sbxd_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "sbxd did not come up; log:"
	tail -n 5 "$home.log"
	return 1
}
stop_sbxd() {
	[[ -n $sbxd_pid ]] || return 0
	kill "$sbxd_pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$sbxd_pid" 2>/dev/null || break; sleep 0.05; done
	wait "$sbxd_pid" 2>/dev/null
	sbxd_pid=
}
kill9_sbxd() {
	{
		kill -9 "$sbxd_pid"
		wait "$sbxd_pid"
	} 2>/dev/null
	sbxd_pid=
}
alive() { [[ -n $1 && $1 != 0 ]] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_gone() { # wait_gone PID SECONDS
	for _ in $(seq $(($2 * 20))); do alive "$1" || return 0; sleep 0.05; done
	return 1
}
db() { $PY -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(sys.argv[2]).fetchone()[0])' "$home/data/sbx.db" "$1"; }

ws="$tmp/ws/My Proj"
mkdir -p "$ws"

# ================= REST contract =================
start_sbxd "$tmp/h1" || { fail sbxd-starts; exit 1; }
pass sbxd-starts
check socket-mode-0600 test "$(stat -c %a "$(sock)")" = 600

api GET /v1/version
v=$body
check version-200 test "$code" = 200
check version-api-1 test "$(jget api <<<"$v")" = 1
a=$(jget accel <<<"$v")
check version-accel test "$a" = tcg -o "$a" = kvm
# qemu where KVM cannot run a stock kernel (accel tcg), else kvm (sbx-vmm is built next to sbxd)
check version-engine test "$(jget engine_default <<<"$v")" = "$([[ $a == tcg ]] && echo qemu || echo kvm)"

# a second sbxd on the same SBX_HOME says so and exits 0 without disturbing the first
out=$(SBX_HOME=$tmp/h1 timeout 10 "$SBXD" 2>&1)
st=$?
check second-sbxd-exits-0 test $st = 0
check second-sbxd-says-running grep -q 'already running' <<<"$out"
api GET /v1/version
check first-sbxd-still-serves test "$code" = 200

api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\"}"
b=$body
check create-201 test "$code" = 201
check create-default-name test "$(jget name <<<"$b")" = shell-my-proj
check create-stopped test "$(jget status <<<"$b")" = stopped
check create-id-8hex grep -Eq '^[0-9a-f]{8}$' <<<"$(jget id <<<"$b")"
check create-mem-default test "$(jget memory_mib <<<"$b")" -ge 512 -a "$(jget memory_mib <<<"$b")" -le 32768
nc=$(nproc)
exp=$((nc > 1 ? nc - 1 : 1))
check create-cpus-default test "$(jget cpus <<<"$b")" = $exp
img=$tmp/h1/data/sandboxes/shell-my-proj/state.img
check state-disk-20g test "$(stat -c %s "$img" 2>/dev/null)" = $((20 << 30))
check state-disk-sparse test "$(du -k "$img" | cut -f1)" -lt 102400
check state-disk-ext4-label test "$(/sbin/dumpe2fs -h "$img" 2>/dev/null | awk -F': *' '/volume name/{print $2}')" = sbx-state

api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\"}"
b=$body
check create-default-name-unique test "$(jget name <<<"$b")" = shell-my-proj-2
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"box1\",\"memory_mib\":1024,\"cpus\":2}"
b=$body
check create-named-201 test "$code" = 201
check create-named-fields test "$(jget memory_mib <<<"$b")/$(jget cpus <<<"$b")" = 1024/2
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"box1\"}"
e=$body
check name-in-use-409 test "$code" = 409
check error-one-line test "$(jget error <<<"$e" | wc -l)" = 1
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"Bad Name\"}"
check bad-name-400 test "$code" = 400
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"-x\"}"
check bad-name-dash-400 test "$code" = 400
api POST /v1/sandboxes '{"agent":"shell","workspace":"rel/path"}'
check relative-workspace-400 test "$code" = 400
api POST /v1/sandboxes "{\"agent\":\"nosuchagent\",\"workspace\":\"$ws\"}"
check unknown-agent-400 test "$code" = 400
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"engine\":\"kvm\"}"
e=$body
if [[ $a == tcg ]]; then
	check engine-kvm-400 test "$code" = 400
	check engine-kvm-message grep -qE '^engine kvm: .+ \(use --engine qemu\)$' <<<"$(jget error <<<"$e")"
fi
api POST /v1/sandboxes '{"agent":'
check bad-json-400 test "$code" = 400
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"cpus\":\"two\"}"
check bad-type-400 test "$code" = 400

api GET /v1/sandboxes
l=$body
check ls-200 test "$code" = 200
check ls-three test "$($PY -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$l")" = 3
check ls-order test "$(jget 0.name <<<"$l") $(jget 2.name <<<"$l")" = "shell-my-proj box1"
api GET /v1/sandboxes/box1
g=$body
check get-200 test "$code" = 200
check get-console-log test "$(jget console_log <<<"$g")" = "$tmp/h1/data/sandboxes/box1/console.log"
check get-no-vsock-when-stopped test -z "$(jget vsock_socket <<<"$g")"
api GET /v1/sandboxes/nope
check get-unknown-404 test "$code" = 404
api DELETE /v1/sandboxes/nope
check rm-unknown-404 test "$code" = 404
api POST /v1/sandboxes/nope/start
check start-unknown-404 test "$code" = 404
api POST /v1/sandboxes/nope/stop
check stop-unknown-404 test "$code" = 404
api GET /v1/nothing
check unknown-endpoint-404 test "$code" = 404
api POST /v1/sandboxes/box1/stop
check stop-stopped-200 test "$code" = 200
api GET /v1/templates
check templates-200 test "$code" = 200

api DELETE /v1/sandboxes/shell-my-proj-2
check rm-204 test "$code" = 204
check rm-deletes-dir test ! -e "$tmp/h1/data/sandboxes/shell-my-proj-2"
api GET /v1/sandboxes/shell-my-proj-2
check rm-then-404 test "$code" = 404

# start without boot assets: 409 naming the command that builds them
if [[ -z ${SBX_CACHE_DIR:-} ]]; then
	api POST /v1/sandboxes/box1/start
e=$body
	check start-no-assets-409 test "$code" = 409
	check start-no-assets-hint grep -q 'sbx template build' <<<"$e"
	check start-no-assets-stopped test "$(status_of box1)" = stopped
fi

# state survives an sbxd restart
stop_sbxd
check sigterm-removes-socket test ! -e "$tmp/h1/run/sbxd.sock"
start_sbxd "$tmp/h1" || fail sbxd-restarts
api GET /v1/sandboxes
check restart-keeps-sandboxes test "$(echo "$body" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2
api POST /v1/reset
check reset-204 test "$code" = 204
api GET /v1/sandboxes
check reset-empties test "$body" = "[]"
check reset-deletes-dirs test -z "$(ls "$tmp/h1/data/sandboxes")"
stop_sbxd

# --daemon: detaches, writes the pid file, logs to <data>/sbxd.log
SBX_HOME=$tmp/h1 timeout 20 "$SBXD" --daemon
st=$?
check daemon-mode-exit-0 test $st = 0
home=$tmp/h1
dpid=$(cat "$tmp/h1/run/sbxd.pid" 2>/dev/null)
check daemon-mode-pidfile alive "$dpid"
api GET /v1/version
check daemon-mode-serves test "$code" = 200
check daemon-mode-log grep -q listening "$tmp/h1/data/sbxd.log"
[[ -n $dpid ]] && kill "$dpid"
check daemon-mode-sigterm wait_gone "$dpid" 5
check daemon-mode-pidfile-removed test ! -e "$tmp/h1/run/sbxd.pid"

# config: accel= overrides the probe; a bad engine= or accel= is one clear line, exit 1
mkdir -p "$tmp/h6/config"
printf '# test\nengine = qemu\naccel=kvm\n' >"$tmp/h6/config/config"
start_sbxd "$tmp/h6" || fail sbxd-starts-h6
api GET /v1/version
check config-accel-kvm test "$(jget accel <<<"$body")" = kvm
stop_sbxd
printf 'engine=hvf\n' >"$tmp/h6/config/config"
out=$(SBX_HOME=$tmp/h6 timeout 10 "$SBXD" 2>&1)
st=$?
check config-bad-engine-exit-1 test $st = 1
check config-bad-engine-line grep -q 'unknown engine hvf (use engine=kvm or engine=qemu)' <<<"$out"
check config-bad-engine-no-socket test ! -e "$tmp/h6/run/sbxd.sock"
printf 'accel=hvf\n' >"$tmp/h6/config/config"
out=$(SBX_HOME=$tmp/h6 timeout 10 "$SBXD" 2>&1)
check config-bad-accel-line grep -q 'unknown accel hvf' <<<"$out"

# a failing mkfs: 500, one line, nothing left behind
start_sbxd "$tmp/h2" SBX_MKFS=/bin/false || fail sbxd-starts-h2
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"full\"}"
e=$body
check mkfs-fail-500 test "$code" = 500
check mkfs-fail-message grep -q 'cannot create sandbox full' <<<"$e"
check mkfs-fail-no-dir test ! -e "$tmp/h2/data/sandboxes/full"
api GET /v1/sandboxes
check mkfs-fail-no-row test "$body" = "[]"
stop_sbxd
start_sbxd "$tmp/h2" SBX_MKFS=/nonexistent/mkfs.ext4 || fail sbxd-starts-h2b
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"nomkfs\"}"
check mkfs-missing-500 test "$code" = 500
check mkfs-missing-hint grep -q 'not found (apt-get install e2fsprogs)' <<<"$body"
check mkfs-missing-no-dir test ! -e "$tmp/h2/data/sandboxes/nomkfs"
stop_sbxd

# ================= lifecycle against a fake engine =================
# fake sbx-vhost: serves the hybrid vsock socket and answers the agent protocol (PING, SETTIME,
# SHUTDOWN) like sbx-init would; exits when the fake QEMU disconnects, like the real one.
fk=$tmp/fake
mkdir -p "$fk"
echo ok >"$fk/vhost.mode"
echo ok >"$fk/qemu.mode"
cat >"$fk/sbx-vhost" <<'EOF'
#!/usr/bin/python3
import os, socket, struct, sys, threading, time
a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
fk = os.environ["FAKE_DIR"]
ev = lambda s: open(fk + "/events.log", "a").write(s + "\n")
if open(fk + "/vhost.mode").read().strip() == "noready":
    print("sbx-vhost: cannot serve: fake failure for the test", file=sys.stderr)
    sys.exit(1)
vs = socket.socket(socket.AF_UNIX); vs.bind(a["--vsock-socket"]); vs.listen(1)
us = socket.socket(socket.AF_UNIX); us.bind(a["--uds"]); us.listen(16)
ev("VHOST_START %d" % os.getpid())
os.write(int(a["--ready-fd"]), b"READY\n"); os.close(int(a["--ready-fd"]))
qemu = vs.accept()[0]
def readn(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d: raise EOFError
        b += d
    return b
def serve(c):
    try:
        line = b""
        while not line.endswith(b"\n"): line += readn(c, 1)
        c.sendall(b"OK 1\n")
        while True:
            ln, t, fl, rs = struct.unpack("<IBBH", readn(c, 8)); readn(c, ln)
            if t == 1: c.sendall(struct.pack("<IBBH", 0, 2, 0, 0))
            elif t == 3: ev("SETTIME"); c.sendall(struct.pack("<IBBH", 0, 5, 0, 0))
            elif t == 4:
                ev("SHUTDOWN"); c.sendall(struct.pack("<IBBH", 0, 5, 0, 0))
                time.sleep(0.1); qemu.sendall(b"POWEROFF\n")
    except Exception:
        pass
    c.close()
def acc():
    while True:
        threading.Thread(target=serve, args=(us.accept()[0],), daemon=True).start()
threading.Thread(target=acc, daemon=True).start()
while qemu.recv(100): pass
ev("VHOST_EXIT")
EOF
# fake QEMU: connects to the vhost-user socket, writes a console line, powers off on request.
cat >"$fk/qemu" <<'EOF'
#!/usr/bin/python3
import os, socket, sys, time
fk = os.environ["FAKE_DIR"]
if open(fk + "/qemu.mode").read().strip() == "fail":
    print("qemu-system-x86_64: -bogus: invalid option", file=sys.stderr); sys.exit(1)
args = sys.argv[1:]
ser = args[args.index("-serial") + 1][5:]
path = [x for x in args[args.index("-chardev") + 1].split(",") if x.startswith("path=")][0][5:]
open(ser, "a").write("fake guest booting\n")
open(fk + "/events.log", "a").write("QEMU_START %d %s\n" % (os.getpid(), " ".join(args)))
s = socket.socket(socket.AF_UNIX); s.connect(path)
d = s.recv(100)
open(fk + "/events.log", "a").write("QEMU_EXIT\n")
EOF
chmod +x "$fk/sbx-vhost" "$fk/qemu"
: >"$fk/kernel"
: >"$fk/initramfs"
: >"$fk/rootfs.img"
fenv=(FAKE_DIR="$fk" SBX_VHOST="$fk/sbx-vhost" SBX_QEMU="$fk/qemu" SBX_TEST_KERNEL="$fk/kernel"
	SBX_TEST_INITRAMFS="$fk/initramfs" SBX_TEST_ROOTFS="$fk/rootfs.img")
start_sbxd "$tmp/h3" "${fenv[@]}" || fail sbxd-starts-h3
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"vm1\",\"memory_mib\":700,\"cpus\":2}"

# two concurrent starts: one boots, the other waits for it; both answer running
api_print POST /v1/sandboxes/vm1/start >"$tmp/s1" &
j1=$!
api_print POST /v1/sandboxes/vm1/start >"$tmp/s2" &
j2=$!
wait $j1 $j2
check start-200-running test "$(jget status <"$tmp/s1")/$(jget status <"$tmp/s2")" = running/running
check start-booted-once test "$(grep -c VHOST_START "$fk/events.log")" = 1
check start-settime-sent grep -q SETTIME "$fk/events.log"
s=$(cat "$tmp/s1")
check start-vsock-socket test "$(jget vsock_socket <<<"$s")" = "$tmp/h3/run/vm/$(jget id <<<"$s")/vsock.sock"
check start-accel-recorded test -n "$(jget accel <<<"$s")"
qline=$(grep QEMU_START "$fk/events.log" | tail -n 1)
check qemu-argv-memory grep -q -- '-m 700 -smp 2' <<<"$qline"
check qemu-argv-name grep -q 'sbx.name=vm1' <<<"$qline"
check qemu-argv-state grep -q "file=$tmp/h3/data/sandboxes/vm1/state.img,if=none,id=state" <<<"$qline"
qpid=$(db "select vmm_pid from sandboxes where name='vm1'")
vpid=$(db "select vhost_pid from sandboxes where name='vm1'")
check vm-procs-alive alive "$qpid"
check vm-procs-detached test "$(ps -o sid= -p "$qpid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')"
api POST /v1/sandboxes/vm1/start
check start-running-idempotent test "$code/$(grep -c VHOST_START "$fk/events.log")" = 200/1
api DELETE /v1/sandboxes/vm1
check rm-running-409 test "$code" = 409

# kill -9 sbxd: the VM keeps running; a new sbxd reattaches and can stop it
kill9_sbxd
sleep 0.3
check kill9-vm-survives alive "$qpid"
start_sbxd "$tmp/h3" "${fenv[@]}" || fail sbxd-restarts-h3
check reattach-running test "$(status_of vm1)" = running
check reattach-logged grep -q 'reattached to sandbox vm1' "$tmp/h3.log"
api POST /v1/sandboxes/vm1/stop
s=$body
check stop-200-stopped test "$code/$(jget status <<<"$s")" = 200/stopped
check stop-asked-guest grep -q SHUTDOWN "$fk/events.log"
check stop-qemu-gone wait_gone "$qpid" 3
check stop-vhost-gone wait_gone "$vpid" 3
check stop-rundir-removed test -z "$(ls "$tmp/h3/run/vm")"
check stop-fast test "$(grep -c QEMU_EXIT "$fk/events.log")" = 1

# SIGTERM of sbxd leaves the VM running too
api POST /v1/sandboxes/vm1/start
qpid=$(db "select vmm_pid from sandboxes where name='vm1'")
stop_sbxd
check sigterm-vm-survives alive "$qpid"
start_sbxd "$tmp/h3" "${fenv[@]}" || fail sbxd-restarts-h3b
check sigterm-reattach test "$(status_of vm1)" = running

# a VM that dies on its own is noticed: stopped, partner killed, run dir cleaned
vpid=$(db "select vhost_pid from sandboxes where name='vm1'")
kill -9 "$qpid"
for _ in $(seq 60); do [[ $(status_of vm1) == stopped ]] && break; sleep 0.1; done
check supervisor-marks-stopped test "$(status_of vm1)" = stopped
check supervisor-kills-partner wait_gone "$vpid" 5
check supervisor-cleans-rundir test -z "$(ls "$tmp/h3/run/vm")"

# a dead VM recorded running is marked stopped at sbxd start (no false reattach)
api POST /v1/sandboxes/vm1/start
qpid=$(db "select vmm_pid from sandboxes where name='vm1'")
vpid=$(db "select vhost_pid from sandboxes where name='vm1'")
kill9_sbxd
kill -9 "$qpid" "$vpid"
wait_gone "$qpid" 3
start_sbxd "$tmp/h3" "${fenv[@]}" || fail sbxd-restarts-h3c
check restart-dead-vm-stopped test "$(status_of vm1)" = stopped

# QEMU failing at once: 500 with the tail of its log, nothing left running
echo fail >"$fk/qemu.mode"
api POST /v1/sandboxes/vm1/start
e=$body
check qemu-fail-500 test "$code" = 500
check qemu-fail-tail grep -q 'did not come up.*invalid option' <<<"$e"
check qemu-fail-stopped test "$(status_of vm1)" = stopped
vpid=$(tail -n 5 "$fk/events.log" | awk '/VHOST_START/{print $2}' | tail -n 1)
check qemu-fail-vhost-killed wait_gone "$vpid" 3
check qemu-fail-rundir-removed test -z "$(ls "$tmp/h3/run/vm")"
echo ok >"$fk/qemu.mode"

# sbx-vhost failing: 500 naming it
echo noready >"$fk/vhost.mode"
api POST /v1/sandboxes/vm1/start
e=$body
check vhost-fail-500 test "$code" = 500
check vhost-fail-message grep -q 'sbx-vhost failed: sbx-vhost: cannot serve' <<<"$e"
check vhost-fail-stopped test "$(status_of vm1)" = stopped
echo ok >"$fk/vhost.mode"

# rm -f of a running sandbox stops it first
api POST /v1/sandboxes/vm1/start
qpid=$(db "select vmm_pid from sandboxes where name='vm1'")
api DELETE '/v1/sandboxes/vm1?force=1'
check rm-force-204 test "$code" = 204
check rm-force-vm-gone wait_gone "$qpid" 3
check rm-force-dir-gone test ! -e "$tmp/h3/data/sandboxes/vm1"

# reset stops running ones too
api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"vm2\"}"
api POST /v1/sandboxes/vm2/start
qpid=$(db "select vmm_pid from sandboxes where name='vm2'")
api POST /v1/reset
check reset-running-204 test "$code" = 204
check reset-vm-gone wait_gone "$qpid" 3
stop_sbxd

# ================= real QEMU =================
kernel=$(ls -d "${SBX_CACHE_DIR:-/nonexistent}"/kernel/*/vmlinux 2>/dev/null | tail -n 1)
[[ -z $kernel && -f /tmp/kdir/vmlinux ]] && kernel=/tmp/kdir/vmlinux
if command -v qemu-system-x86_64 >/dev/null && [[ -n $kernel ]]; then
	# sbx-vhost ready but not speaking vhost-user: real QEMU refuses at once; its own
	# error line must reach the user
	start_sbxd "$tmp/h4" FAKE_DIR="$fk" SBX_VHOST="$tmp/fake/sbx-vhost-nouser" SBX_TEST_KERNEL="$kernel" \
		SBX_TEST_INITRAMFS="$fk/initramfs" SBX_TEST_ROOTFS="$fk/rootfs.img" || fail sbxd-starts-h4
	cat >"$fk/sbx-vhost-nouser" <<'EOF'
#!/usr/bin/python3
import os, sys, time
a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
os.write(int(a["--ready-fd"]), b"READY\n")
time.sleep(30)
EOF
	chmod +x "$fk/sbx-vhost-nouser"
	api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"q1\",\"memory_mib\":512,\"cpus\":1}"
	t0=$(date +%s)
	api POST /v1/sandboxes/q1/start
e=$body
	check real-qemu-error-500 test "$code" = 500
	check real-qemu-error-tail grep -q 'did not come up: QEMU exited: qemu-system-x86_64' <<<"$e"
	check real-qemu-error-fast test $(($(date +%s) - t0)) -lt 20
	check real-qemu-error-cleanup test -z "$(ls "$tmp/h4/run/vm")"
	stop_sbxd
else
	echo "SKIP real-qemu-error (no qemu-system-x86_64 or kernel)"
fi

# ================= a real VM =================
vhost=$top/build/sbx-vhost
if [[ -x $vhost && -n ${SBX_CACHE_DIR:-} ]] && ls "$SBX_CACHE_DIR"/templates/shell/rootfs.img >/dev/null 2>&1; then
	start_sbxd "$tmp/h5" SBX_CACHE_DIR="$SBX_CACHE_DIR" || fail sbxd-starts-h5
	api POST /v1/sandboxes "{\"agent\":\"shell\",\"workspace\":\"$ws\",\"name\":\"real\",\"memory_mib\":1024,\"cpus\":1}"
	t0=$(date +%s.%N)
	api POST /v1/sandboxes/real/start
s=$body
	check real-start-200 test "$code" = 200
	[[ $code == 200 ]] || echo "    $s"
	echo "    real VM start took $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
	uds=$(jget vsock_socket <<<"$s")
	ping_guest() {
		$PY - "$1" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(b"CONNECT 1024\n")
r = b""
while not r.endswith(b"\n"): r += s.recv(1)
assert r.startswith(b"OK "), r
s.sendall(struct.pack("<IBBH", 0, 1, 0, 0))
h = b""
while len(h) < 8: h += s.recv(8 - len(h))
sys.exit(0 if struct.unpack("<IBBH", h)[1] == 2 else 1)
EOF
	}
	check real-guest-answers ping_guest "$uds"
	qpid=$(db "select vmm_pid from sandboxes where name='real'")
	kill9_sbxd
	check real-kill9-vm-survives alive "$qpid"
	start_sbxd "$tmp/h5" SBX_CACHE_DIR="$SBX_CACHE_DIR" || fail sbxd-restarts-h5
	check real-reattach-running test "$(status_of real)" = running
	check real-reattach-guest-answers ping_guest "$uds"
	t0=$(date +%s)
	api POST /v1/sandboxes/real/stop
s=$body
	check real-stop-200 test "$code/$(jget status <<<"$s")" = 200/stopped
	check real-stop-qemu-gone wait_gone "$qpid" 5
	check real-stop-clean-poweroff test $(($(date +%s) - t0)) -lt 15
	api DELETE /v1/sandboxes/real
	check real-rm-204 test "$code" = 204
	stop_sbxd
else
	echo "SKIP real-vm (needs build/sbx-vhost and a shell template in SBX_CACHE_DIR)"
fi

leftover=$(our_pids)
check no-leftover-processes test -z "$leftover"
exit $failed
