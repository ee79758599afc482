/* sbx-init's internal interfaces: boot steps, the connection server, exec sessions, users.
 * Everything here is plain libc so it also builds for the host (libguest.a, unit tests);
 * every name is prefixed gi_ so it never clashes with host symbols. */
#ifndef SBX_GUEST_GI_H
#define SBX_GUEST_GI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "proto/agent.h"

/* Set once in main(): true when running as the VM's PID 1 (set the clock, power off...). */
extern bool gi_vm_mode;
/* True when exec may switch users (PID 1, or the host test mode running as root). */
extern bool gi_switch_users;

/**
 * gi_log() - one console line "sbx-init: <fmt...>" on stderr.
 */
void gi_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * gi_boot() - PID 1 boot: /dev /proc /sys, modules, disks, overlay root, switch root, mounts
 * inside it, hostname, clock, lo. Powers off (never returns) when there is no base disk.
 */
void gi_boot(void);

/* One host directory shared into the VM (kernel parameter sbx.shares=, see
 * engine_shares_cmdline() on the host for the format). */
#define GI_SHARES_MAX	 16
#define GI_SHARE_TAG_MAX 36
struct gi_share {
	char tag[GI_SHARE_TAG_MAX + 1];
	char path[4096]; /* decoded absolute path: the mount point */
	bool readonly;
	bool file; /* "rofile": a single read-only file; the tag serves its directory showing only
		      it, mounted at /run/sbx/shares/<tag> and the file bind-mounted at path */
};

/* The workspace (first share) once mounted, else "": exec's default working directory. */
extern char gi_workspace[4096];

/**
 * gi_shares_parse() - decode @val ("TAG:PCT-PATH:rw;TAG:PCT-PATH:ro;TAG:PCT-PATH:rofile...")
 * into at most @max entries of @out. An entry with an empty or over-long tag, a bad %XX escape,
 * a decoded NUL, a path that is not absolute or has a "." or ".." component, a mode other than
 * rw/ro/rofile, or a file path ending in "/" is skipped and counted in *@bad. Return: the number
 * of entries decoded.
 */
int gi_shares_parse(const char *val, struct gi_share *out, int max, int *bad);

/**
 * gi_cmdline_get() - value of "@key=..." on the kernel command line into @out (size @n).
 * Return: 0 found, -1 not there.
 */
int gi_cmdline_get(const char *key, char *out, size_t n);

/**
 * gi_poweroff() - stop every process (SIGTERM, 5 s, SIGKILL), sync, remount the root and the
 * state disk read-only, and reboot (the VM runs with -no-reboot, so that ends it). No return.
 */
void gi_poweroff(void) __attribute__((noreturn));

/**
 * gi_serve() - accept connections on @lfd forever, one handler process each; reap every
 * child. @hybrid: expect the "CONNECT <port>\n" handshake first (host test mode over a unix
 * socket). Returns only in host test mode, after a SHUTDOWN request (0) or a fatal error (-1).
 */
int gi_serve(int lfd, bool hybrid);

/* One connection's buffers. Received bytes in @in; bytes to send in @out[outoff..outlen). */
#define GI_OUT_CAP (2 * (SBX_FRAME_HDR + SBX_FRAME_MAX))
struct gi_conn {
	int fd;
	size_t inlen, outoff, outlen;
	uint8_t in[SBX_FRAME_HDR + SBX_FRAME_MAX];
	uint8_t out[GI_OUT_CAP];
};

/**
 * gi_conn_flush() - send what is queued in @c->out; with @block, until all is sent.
 * Return: 0, or -1 when the host is gone.
 */
int gi_conn_flush(struct gi_conn *c, bool block);

/**
 * gi_exec_session() - run the EXEC request @x (parsed from the first @frame_len bytes of
 * @c->in) and relay its stdio, signals and resizes over @c until it exits. Sends EXIT (or
 * ERROR + EXIT, or STARTED for detach). Return: 0, or -1 when the host went away.
 */
int gi_exec_session(struct gi_conn *c, const struct agent_exec_req *x, size_t frame_len);

/* A resolved user. */
struct gi_user {
	uid_t uid;
	gid_t gid;
	bool in_passwd; /* supplementary groups come from /etc/group */
	char name[64];
	char home[256];
	char shell[256];
};

/**
 * gi_user_resolve() - resolve @spec ("root", a name, or a numeric uid; NULL = "agent") in
 * /etc/passwd. Without gi_switch_users the current user is used whatever @spec says.
 * Return: 0, or -1 with a message in @err.
 */
int gi_user_resolve(const char *spec, struct gi_user *u, char *err, size_t errlen);

/**
 * gi_user_switch() - in a child about to exec: initgroups, setgid, setuid to @u (no-op without
 * gi_switch_users). Return: 0 or -1 with errno.
 */
int gi_user_switch(const struct gi_user *u);

/* An environment being built: defaults, then the request's entries override by key. */
#define GI_ENV_MAX (AGENT_ENV_MAX + 32)
struct gi_env {
	size_t n, used;
	char *v[GI_ENV_MAX + 1];
	char buf[4096];
};

/**
 * gi_env_build() - defaults (PATH, HOME, USER, LOGNAME, SHELL, LANG, the egress proxy variables
 * HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY in both cases, gi_ca_env while gi_ca_trusted, and
 * TERM with @tty) for @u, then @req
 * ("K=V", NULL-terminated) replacing same-named defaults. The result (e->v, NULL-terminated) points
 * into @e and @req. Return: 0 or -1 (too many entries).
 */
int gi_env_build(struct gi_env *e, const struct gi_user *u, bool tty, const char *const *req);

/* ---- whole files (fileio.c) ---- */

/**
 * gi_file_read_fd() - the regular file open at @fd (at most @max bytes) in a new buffer of
 * *@len bytes with a NUL after them; @fd is closed. Return: the buffer, or NULL with errno
 * (EINVAL not a regular file, EFBIG over @max, ENOMEM).
 */
char *gi_file_read_fd(int fd, size_t max, size_t *len);

/**
 * gi_file_read() - gi_file_read_fd() of @path opened read-only (never a terminal, never
 * blocking on a FIFO).
 */
char *gi_file_read(const char *path, size_t max, size_t *len);

/**
 * gi_file_write_atomic() - write @len bytes of @data to @path with @mode through a temp file
 * beside it and rename(2), fsync'd first when @sync. Return: 0, or -1 with errno (the temp
 * file removed, @path untouched).
 */
int gi_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode, bool sync);

/* ---- sbxd's proxy CA (ca.c) ---- */

/* True once gi_ca_setup() found the CA installed: gi_env_build() then adds gi_ca_env. */
extern bool gi_ca_trusted;

/* The trust variables every process gets while gi_ca_trusted: {name, value} pairs ending in
 * {NULL, NULL} (NODE_EXTRA_CA_CERTS names the CA file; SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
 * CURL_CA_BUNDLE and GIT_SSL_CAINFO the system bundle holding it). */
extern const char *const gi_ca_env[][2];

/**
 * gi_ca_pem_check() - whether the @len bytes at @pem look like a PEM certificate the host
 * may hand us: 1..CA_PEM_MAX bytes, starting with "-----BEGIN CERTIFICATE-----", holding an
 * "-----END CERTIFICATE-----", only printable ASCII and line ends (no NUL). No parsing of
 * the DER inside (the guest has no TLS library; the TLS clients judge it).
 * Return: 0 acceptable, -1 not.
 */
int gi_ca_pem_check(const char *pem, size_t len);

/**
 * gi_ca_bundle_merge() - the CA bundle @old (@oldlen bytes) with every block sbx-init wrote
 * before removed (from a "# BEGIN sbx proxy CA" line to its "# END sbx proxy CA" line; an
 * unterminated one to the end) and one new block holding @pem (@pemlen bytes) appended at
 * the end, into @out (@cap bytes). Other lines are kept byte for byte.
 * Return: the length written, or 0 when it does not fit in @cap.
 */
size_t gi_ca_bundle_merge(const char *old, size_t oldlen, const char *pem, size_t pemlen, char *out,
			  size_t cap);

/**
 * gi_ca_setup() - PID 1, after gi_boot() and before Docker and the relay start: fetch the CA
 * from the host's CA_PORT (2 s at most), install it (CA_GUEST_CERT, a block in
 * CA_GUEST_BUNDLE), set gi_ca_trusted, and write /etc/profile.d/sbx-ca.sh and
 * /etc/sudoers.d/sbx-ca (removed when untrusted). One console line, installed or why not;
 * never fatal.
 */
void gi_ca_setup(void);

/* ---- containers' trust in the proxy CA (oci_ca.c, runc.c) ---- */

/* A runc wrapper (/run/sbx/bin/runc, a link to sbx-init, first in containerd's and dockerd's
 * PATH) gives every container and build step the CA: two read-only bind mounts under the
 * container's /dev tmpfs (never committed into an image layer) and the trust variables. */

/* Where the container sees the files (GI_OCI_DEV_BUNDLE: its image's bundle plus the CA). */
#define GI_OCI_DEV_CA	  "/dev/sbx-proxy-ca.crt"
#define GI_OCI_DEV_BUNDLE "/dev/sbx-ca-bundle.crt"
/* The largest config.json or process file the wrapper rewrites. */
#define GI_OCI_SPEC_MAX (4u << 20)

/**
 * gi_json_valid() - whether the @len bytes at @s are one JSON value (RFC 8259 grammar, at
 * most 64 arrays/objects deep; the bytes inside strings are not checked as UTF-8).
 * Return: 0 valid, -1 not.
 */
int gi_json_valid(const char *s, size_t len);

/* Which OCI document gi_oci_ca_patch() is given. */
enum gi_oci_kind {
	GI_OCI_CONFIG,	/* a runtime spec (config.json of runc create/run) */
	GI_OCI_PROCESS, /* a bare Process object (runc exec --process FILE) */
};

/**
 * gi_oci_ca_patch() - the OCI document @in (@len bytes) with the proxy CA added, into @out
 * (@cap bytes). GI_OCI_CONFIG: only when "mounts" has a tmpfs on "/dev": append read-only
 * bind mounts @ca_src -> GI_OCI_DEV_CA and @bundle_src -> GI_OCI_DEV_BUNDLE (a destination
 * already there is not added again), and add to "process"."env" (created when the process
 * lacks one) SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO (the bundle)
 * and NODE_EXTRA_CA_CERTS (the CA), each only when not already set. GI_OCI_PROCESS: the
 * same variables into the top-level "env"; @ca_src and @bundle_src unused. Member names match
 * case-insensitively and the last of duplicates counts (as runc's Go decoder does).
 * Insertions only: all other bytes are kept; when nothing is to change, @out is @in.
 * Return: the length written, or -1 with errno EINVAL (@in is not JSON of that shape) or
 * ENOSPC (@cap too small).
 */
long gi_oci_ca_patch(const char *in, size_t len, enum gi_oci_kind kind, const char *ca_src,
		     const char *bundle_src, char *out, size_t cap);

/**
 * gi_oci_root_path() - the runtime spec @in's (@len bytes) "root"."path", decoded, into @out
 * (@cap bytes, NUL-terminated). Return: 0, or -1 (not JSON, no or empty path, a path holding
 * a NUL or longer than @cap - 1).
 */
int gi_oci_root_path(const char *in, size_t len, char *out, size_t cap);

/* Where gi_runc_prepare() finds the guest's trust (tests pass temporary files). */
struct gi_runc_paths {
	const char *ca;	    /* the CA's PEM (CA_GUEST_CERT) */
	const char *bundle; /* the guest's bundle holding it (CA_GUEST_BUNDLE) */
};

/**
 * gi_runc_prepare() - the wrapper's work before runc runs, for runc's @argc/@argv: for
 * create and run, write <bundle>/sbx-proxy-ca.crt (the CA) and <bundle>/sbx-ca-bundle.crt
 * (the image's own bundle, read inside root.path with RESOLVE_IN_ROOT, merged with the CA;
 * the guest's bundle when the image has none) and rewrite <bundle>/config.json with
 * gi_oci_ca_patch(); for exec, rewrite the --process file. Rewrites are atomic and keep the
 * file's mode. Nothing when @p->ca is missing or not a PEM certificate, or for another
 * subcommand. A failure is one stderr line "sbx-runc: <what>: <why>; container starts
 * without the proxy CA". Return: 1 patched, 0 nothing to do, -1 failed (told).
 */
int gi_runc_prepare(int argc, char **argv, const struct gi_runc_paths *p);

/**
 * gi_runc_main() - sbx-init run as "runc": gi_runc_prepare() with the guest's CA files, then
 * execv() the real runc (the first executable of /usr/sbin, /usr/bin, /usr/local/sbin,
 * /usr/local/bin that is not this binary) with @argv unchanged. Return: 127 only when there
 * is no runc (one stderr line).
 */
int gi_runc_main(int argc, char **argv);

/* ---- Docker (docker.c) ---- */

/**
 * gi_docker_prepare() - PID 1, in the initramfs after the boot modules: open the modules listed
 * in /etc/sbx/modules-late (Docker's) so they can be loaded after the switch root, in the
 * background. Nothing when the list is absent.
 */
void gi_docker_prepare(void);

/**
 * gi_docker_start() - PID 1, after boot: fork the Docker supervisor (loads the late modules,
 * bind-mounts /var/lib/docker and /var/lib/containerd from the state disk, starts containerd
 * and dockerd with the egress environment, restarts them a few times) and return at once.
 */
void gi_docker_start(void);

/* ---- egress and published ports, guest side (net.c: interface, routes, resolver, filter;
 * relay*.c: the relay) ---- */

/* Where every process's proxy variables point (the relay's explicit-proxy listener). */
#define GI_PROXY_URL "http://127.0.0.1:3128"
#define GI_NO_PROXY  "localhost,127.0.0.1,::1,172.16.0.0/12,192.168.0.0/16" /* + Docker's pools */

/**
 * gi_net_setup() - PID 1, after the switch to the real root: the dummy interface sbx0 with
 * 198.18.0.1/15 and IPv6 disabled on it, up; the IPv4 default route via sbx0 (no IPv6 route,
 * so IPv6 connections fail at once with ENETUNREACH); /etc/resolv.conf naming the stub;
 * /etc/profile.d/sbx-proxy.sh and a sudoers env_keep for the proxy variables; then
 * gi_net_filter(). Every failure is one console line; never fatal.
 * Return: 0 when sbx0 and its route are up, -1 otherwise.
 */
int gi_net_setup(void);

/**
 * gi_net_filter() - the netfilter rules, all in one place (table nat: OUTPUT tcp routed out sbx0,
 * and tcp from Docker's bridges not to Docker's networks, not to 127/8 or 198.18.0.1 ->
 * REDIRECT to EGRESS_GUEST_TRANSPARENT_PORT; see net.c), loaded
 * with the root's iptables-restore in at most ~2 s. Skipped when the root has no iptables.
 * Return: 0 loaded, 1 skipped (no iptables), -1 failed (one console line).
 */
int gi_net_filter(void);

/* The relay's listening sockets (non-blocking; -1: that service is off) and where the host
 * is. */
struct gi_relay_cfg {
	int proxy_fd;	/* TCP, explicit proxy (127.0.0.1:3128) */
	int transp_fd;	/* TCP, netfilter REDIRECT target (0.0.0.0:3129: containers' land on
			   their bridge's address) */
	int dns_udp_fd; /* UDP, DNS stub (198.18.0.1:53) */
	int dns_tcp_fd; /* TCP, DNS stub (198.18.0.1:53) */
	int inbound_fd; /* published ports: the host's streams (vsock PORTS_VSOCK_PORT; host
			   tests: a unix socket), each one src/proto/ports.h header first */
	/* NULL: the host is vsock CID 2; else (host tests) a unix socket "<host_unix>_<port>" */
	const char *host_unix;
	/* transparent connections: take this as the original destination instead of asking
	 * netfilter (host tests, where nothing was redirected); NULL in the VM */
	const struct sockaddr_in *fake_orig_dst;
};

/**
 * gi_relay_listen() - open the standard listeners into @cfg (host = vsock). A listener that
 * cannot be opened is one console line and stays -1. Return: the number opened.
 */
int gi_relay_listen(struct gi_relay_cfg *cfg);

/**
 * gi_relay_run() - the relay's event loop over @cfg's listeners, forever: each accepted TCP
 * connection gets its own host stream (EGRESS_PORT_PROXY, or EGRESS_PORT_TRANSPARENT after
 * the struct egress_orig_dst header), relayed both ways with half-close and 64 KiB buffers;
 * DNS queries go over one shared EGRESS_PORT_DNS stream. A refused host stream resets the
 * client (DNS: SERVFAIL). Each stream accepted on inbound_fd is a published port's
 * connection: after its header, TCP goes to 127.0.0.1:port (else [::1]:port; neither: the
 * stream is closed without a byte), UDP as framed datagrams to and from 127.0.0.1:port.
 * Return: -1 only when the loop itself cannot run (epoll).
 */
int gi_relay_run(const struct gi_relay_cfg *cfg);

/**
 * gi_egress_hdr() - the struct egress_orig_dst for the original destination @sa (AF_INET or
 * AF_INET6, @salen bytes) into @out (EGRESS_ORIG_LEN bytes, big-endian).
 * Return: 0, or -1 for another family or a short address.
 */
int gi_egress_hdr(const struct sockaddr *sa, socklen_t salen, uint8_t *out);

/**
 * gi_dns_frame() - the DNS-over-TCP frame at the front of @b (@len bytes).
 * Return: its total length (2 + message length) when complete, 0 when more bytes are
 * needed, -1 for an empty message (a protocol error).
 */
long gi_dns_frame(const uint8_t *b, size_t len);

/**
 * gi_dns_servfail() - a SERVFAIL answer to the query @q (@n bytes) into @out (@cap bytes):
 * the query echoed with QR, RA and RCODE 2 set (its ID and question kept, so resolvers
 * accept it). Return: its length, or 0 when @n < 12 (no DNS header) or @n > @cap.
 */
size_t gi_dns_servfail(const uint8_t *q, size_t n, uint8_t *out, size_t cap);

/* Who asked a DNS query sent to the host: answers come back in order, so a FIFO. */
enum { GI_DNS_UDP = 1, GI_DNS_TCP = 2 };
struct gi_dns_pend {
	uint8_t kind;	  /* GI_DNS_UDP or GI_DNS_TCP */
	uint32_t slot;	  /* TCP: the relay connection slot ... */
	uint32_t gen;	  /* ... and its generation (a reused slot does not get it) */
	long deadline_ms; /* CLOCK_MONOTONIC ms after which the host is considered stuck */
	uint8_t peer[16]; /* UDP: the client's struct sockaddr_in */
};
#define GI_DNS_PEND_MAX 256
struct gi_dns_fifo {
	unsigned head, n;
	struct gi_dns_pend e[GI_DNS_PEND_MAX];
};

/**
 * gi_dns_fifo_push() - append @p to @f. Return: 0, or -1 when @f is full.
 */
int gi_dns_fifo_push(struct gi_dns_fifo *f, const struct gi_dns_pend *p);

/**
 * gi_dns_fifo_pop() - take the oldest entry of @f into @p. Return: 0, or -1 when empty.
 */
int gi_dns_fifo_pop(struct gi_dns_fifo *f, struct gi_dns_pend *p);

/* Called once per answer with its asker and the DNS message (without the length prefix). */
typedef void (*gi_dns_deliver_fn)(void *arg, const struct gi_dns_pend *p, const uint8_t *msg,
				  size_t n);

/**
 * gi_dns_answers() - the host's answer stream parser: for each complete frame at the front of
 * @b (@len bytes), pop the oldest asker from @f and call @deliver. Stops at an incomplete
 * frame. Return: the bytes consumed, or -1 when the host sent an empty frame or more answers
 * than there were questions (the stream is out of step: reset it).
 */
long gi_dns_answers(const uint8_t *b, size_t len, struct gi_dns_fifo *f, gi_dns_deliver_fn deliver,
		    void *arg);

#endif
