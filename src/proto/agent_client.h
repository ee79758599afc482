/* Host side of the host<->guest agent protocol: how sbx and sbxd talk to sbx-init.
 * Connects through the VM's hybrid vsock socket (Firecracker convention: connect to the unix
 * socket, write "CONNECT <port>\n", read "OK <n>\n"), then speaks the frames of agent.h.
 * Owns no terminal state except inside agent_exec_run(), which restores it on every path. */
#ifndef SBX_PROTO_AGENT_CLIENT_H
#define SBX_PROTO_AGENT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#define SBX_AGENT_PORT 1024 /* guest vsock port sbx-init listens on (exec + control) */

/**
 * agent_connect() - open a stream to guest vsock @port through the hybrid socket @uds_path.
 * @timeout_ms: bound on connect + handshake; never blocks longer.
 * The fd is non-blocking and close-on-exec; the other agent_* calls expect exactly that.
 * Return: connected fd, or -1 with errno (ECONNREFUSED/ENOENT: VM or agent not there,
 * ETIMEDOUT, EPROTO: bad handshake reply).
 */
int agent_connect(const char *uds_path, uint32_t port, int timeout_ms);

/**
 * agent_wait_ready() - retry agent_connect()+agent_ping() until the guest answers or
 * @timeout_ms passes. Return: 0 ready, -1 timed out (errno ETIMEDOUT) or failed.
 */
int agent_wait_ready(const char *uds_path, int timeout_ms);

/**
 * agent_ping() - one PING/PONG round trip on a connected fd. Return 0 or -1.
 */
int agent_ping(int fd, int timeout_ms);

/**
 * agent_settime() - tell the guest the host's wall clock (UTC, ns) so it sets its clock.
 * Return 0 or -1.
 */
int agent_settime(int fd, int timeout_ms);

/**
 * agent_shutdown() - ask sbx-init to stop every process, sync, unmount and power off.
 * Returns once the guest acknowledged (it then powers off by itself). Return 0 or -1.
 */
int agent_shutdown(int fd, int timeout_ms);

struct agent_exec_opts {
	char *const *argv; /* NULL-terminated, argv[0] looked up in the guest's PATH */
	char *const *env;  /* NULL-terminated "K=V" added to the guest's default env; may be NULL */
	const char *cwd;   /* NULL: the user's home directory */
	const char *user;  /* "root", "agent", a name or a numeric uid; NULL: "agent" */
	bool tty;	   /* allocate a pty in the guest (-t) */
	bool interactive;  /* forward our stdin (-i); without it the guest's stdin is empty */
	bool detach;	   /* -d: start it and return at once, no output (status 0 if started) */
};

/**
 * agent_exec_run() - run one command in the guest over the connected @fd, relaying this
 * process's stdin/stdout/stderr (and, with tty, putting the local terminal in raw mode,
 * forwarding window size changes, restoring the terminal on every exit path).
 * Signals: with tty, Ctrl-C travels as a byte and the guest's line discipline delivers it;
 * without tty, SIGINT/SIGTERM/SIGHUP/SIGQUIT received here are forwarded to the guest process.
 * Return: the command's exit status as a shell reports it (0-255, 128+N when killed by
 * signal N), or -1 with an error already printed (agent gone, protocol error, exec failed
 * in the guest: that prints "sbx: exec <cmd>: <reason>" and returns 126/127 like a shell).
 */
int agent_exec_run(int fd, const struct agent_exec_opts *o);

#endif
