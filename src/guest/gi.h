/* sbx-init's internal interfaces: boot steps, the connection server, exec sessions, users.
 * Everything here is plain libc so it also builds for the host (libguest.a, unit tests);
 * every name is prefixed gi_ so it never clashes with host symbols. */
#ifndef SBX_GUEST_GI_H
#define SBX_GUEST_GI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
#define GI_ENV_MAX (AGENT_ENV_MAX + 16)
struct gi_env {
	size_t n, used;
	char *v[GI_ENV_MAX + 1];
	char buf[4096];
};

/**
 * gi_env_build() - defaults (PATH, HOME, USER, LOGNAME, SHELL, LANG, and TERM with @tty) for
 * @u, then @req ("K=V", NULL-terminated) replacing same-named defaults. The result (e->v,
 * NULL-terminated) points into @e and @req. Return: 0 or -1 (too many entries).
 */
int gi_env_build(struct gi_env *e, const struct gi_user *u, bool tty, const char *const *req);

#endif
