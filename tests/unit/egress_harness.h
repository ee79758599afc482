/* The harness shared by egress_loop_test.c, egress_mitm_test.c and egress_ca_test.c: sbxd's
 * egress service run in this process with one sandbox "sb" whose run directory is a temp
 * directory, so the guest side is plain unix sockets there (what sbx-init's relay would reach
 * over vsock); a hosts file and a policy database for the names the test allows; loopback
 * servers with a thread per connection standing in for the outside; the log rows waited for.
 * Test-only; include once per test binary. */
#ifndef SBX_TESTS_EGRESS_HARNESS_H
#define SBX_TESTS_EGRESS_HARNESS_H

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/paths.h"
#include "daemon/egress/egress.h"
#include "daemon/netpol.h"
#include "daemon/sandbox.h"
#include "daemon/store.h"

#define EH_SANDBOX "sb"

static char eh_dir[64]; /* the temp directory: the sandbox's run directory */

/**
 * eh_tmpdir() - make the temp directory from the mkdtemp() template @tmpl into eh_dir, point
 * @paths->data at its "data" and create that.
 * Return: 0, or -1.
 */
static inline int eh_tmpdir(const char *tmpl, struct sbx_paths *paths)
{
	snprintf(eh_dir, sizeof(eh_dir), "%s", tmpl);
	if (!mkdtemp(eh_dir))
		return -1;
	snprintf(paths->data, sizeof(paths->data), "%s/data", eh_dir);
	return mkdir(paths->data, 0700);
}

/**
 * eh_hosts() - write @line (addresses and names, newline-terminated) as the hosts file in
 * eh_dir and point SBX_HOSTS_FILE at it.
 * Return: 0, or -1.
 */
static inline int eh_hosts(const char *line)
{
	char path[sizeof(eh_dir) + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hosts", eh_dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(line, f);
	fclose(f);
	return setenv("SBX_HOSTS_FILE", path, 1);
}

/**
 * eh_policy_open() - open the database in @ctx->paths.data into @ctx->store and the policy
 * tables on it.
 * Return: 0, or -1.
 */
static inline int eh_policy_open(struct sbxd_ctx *ctx)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/sbx.db", ctx->paths.data);
	return store_open(path, &ctx->store) < 0 || netpol_init(ctx) < 0 ? -1 : 0;
}

/**
 * eh_allow() - add an "allow" policy for each of the @n exact names @hosts (explicit, so
 * their 127.0.0.1 may be connected to).
 * Return: 0, or -1.
 */
static inline int eh_allow(const char *const *hosts, size_t n)
{
	struct store_policy pol;
	char err[256];

	for (size_t i = 0; i < n; i++) {
		if (netpol_policy_add("allow", hosts[i], NULL, &pol, err, sizeof(err)) != 201)
			return -1;
		free(pol.resources);
	}
	return 0;
}

/**
 * eh_sandbox_start() - start the egress service and add sandbox EH_SANDBOX with eh_dir as
 * its run directory; the reason of a failure goes into @err.
 * Return: 0, or -1.
 */
static inline int eh_sandbox_start(char *err, size_t cap)
{
	if (egress_start() < 0 || egress_sandbox_add(EH_SANDBOX, INT64_MAX, eh_dir, err, cap) < 0)
		return -1;
	return 0;
}

/**
 * eh_finish() - close the policy tables and the database of @ctx (NULL: none were opened)
 * and remove eh_dir.
 */
static inline void eh_finish(struct sbxd_ctx *ctx)
{
	char cmd[sizeof(eh_dir) + 16];

	if (ctx) {
		netpol_close();
		store_close(ctx->store);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", eh_dir);
	(void)!system(cmd);
}

/**
 * eh_guest_connect() - connect to the sandbox's listener for vsock @port, as the guest would,
 * with a 10 s receive timeout.
 * Return: the fd, or -1.
 */
static inline int eh_guest_connect(unsigned port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 10};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vsock.sock_%u", eh_dir, port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/**
 * eh_listen_local() - a TCP socket listening on 127.0.0.1 at a free port, put in *@port.
 * Return: the fd, or -1.
 */
static inline int eh_listen_local(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/**
 * struct eh_conn - one accepted connection, handed to a server's per-connection function,
 * which owns (closes) @fd and frees the struct.
 * @arg: the server's argument given to eh_serve().
 * @fd:  the connection.
 */
struct eh_conn {
	void *arg;
	int fd;
};

struct eh_server {
	int lfd;
	void *(*fn)(void *);
	void *arg;
};

static inline void *eh_accept_loop(void *p)
{
	struct eh_server *s = p;
	int fd;

	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct eh_conn *c = malloc(sizeof(*c));
		pthread_t t;

		if (!c) {
			close(fd);
			continue;
		}
		c->arg = s->arg;
		c->fd = fd;
		if (pthread_create(&t, NULL, s->fn, c) == 0) {
			pthread_detach(t);
		} else {
			close(fd);
			free(c);
		}
	}
	return NULL;
}

/**
 * eh_serve() - accept on @lfd for the rest of the process, in a detached thread, running
 * @fn with a fresh struct eh_conn (carrying @arg) in a detached thread per connection.
 * Return: 0, or -1.
 */
static inline int eh_serve(int lfd, void *(*fn)(void *), void *arg)
{
	struct eh_server *s = malloc(sizeof(*s));
	pthread_t t;

	if (!s)
		return -1;
	s->lfd = lfd;
	s->fn = fn;
	s->arg = arg;
	if (pthread_create(&t, NULL, eh_accept_loop, s) != 0) {
		free(s);
		return -1;
	}
	return pthread_detach(t) == 0 ? 0 : -1;
}

/**
 * eh_log_row() - the log row of sandbox EH_SANDBOX for @proxy to @host (and to @port, unless
 * @port is negative), waited for up to 3 s (connections are logged as they close).
 * Return: 0 with *@row set to the last such row, or -1.
 */
static inline int eh_log_row(const char *proxy, const char *host, int port,
			     struct store_log_row *row)
{
	for (int i = 0; i < 300; i++) {
		struct store_log_row *rows;
		size_t n;
		int found = -1;

		if (netpol_log_list(EH_SANDBOX, &rows, &n) == 0) {
			for (size_t j = 0; j < n; j++)
				if (strcmp(rows[j].proxy, proxy) == 0 &&
				    strcmp(rows[j].host, host) == 0 &&
				    (port < 0 || rows[j].port == port)) {
					*row = rows[j];
					found = 0;
				}
			free(rows);
		}
		if (found == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

#endif
