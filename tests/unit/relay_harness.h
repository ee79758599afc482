/* The harness shared by guest_net_test.c and guest_ports_test.c: sbx-init's relay
 * (gi_relay_run) run in a child process on this host, its listeners on loopback and unix
 * sockets standing in for the VM's, and the small blocking-with-timeout socket helpers both
 * tests use to talk to it. Test-only; include once per test binary. */
#ifndef SBX_TESTS_RELAY_HARNESS_H
#define SBX_TESTS_RELAY_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/gi.h"

/**
 * rh_loop_addr() - the loopback address of @family (AF_INET or AF_INET6) with @port into @ss.
 * Return: the address's length.
 */
static inline socklen_t rh_loop_addr(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons(port);
		return sizeof(*s4);
	}
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	return sizeof(struct sockaddr_in6);
}

/**
 * rh_loop_socket() - a socket of @type (SOCK_STREAM or SOCK_DGRAM, may carry SOCK_NONBLOCK)
 * bound on the loopback of @family to *@port (0: any free port), listening when a stream.
 * The port bound goes into *@port.
 * Return: the fd, or -1 (that loopback does not exist here, or the port is taken).
 */
static inline int rh_loop_socket(int family, int type, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t l = rh_loop_addr(family, *port, &ss);
	int fd = socket(family, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, l) < 0 ||
	    ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM && listen(fd, 128) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &l) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* The unix socket address of @path into @sa; aborts when @path does not fit. */
static inline void rh_unix_addr(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path))
		abort();
	memcpy(sa->sun_path, path, n);
}

/**
 * rh_unix_listen() - a stream listener (socket @flags such as SOCK_NONBLOCK, @backlog) on
 * the unix socket @path, replacing any file there. Aborts the test binary on failure (a
 * @path too long for a sockaddr_un included).
 * Return: the fd.
 */
static inline int rh_unix_listen(const char *path, int flags, int backlog)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | flags, 0);

	rh_unix_addr(path, &sa);
	unlink(sa.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0)
		abort();
	return fd;
}

/**
 * rh_unix_connect() - a blocking stream connected to the unix socket @path. Aborts the test
 * binary on failure. Return: the fd.
 */
static inline int rh_unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	rh_unix_addr(path, &sa);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	return fd;
}

/**
 * rh_accept_within() - accept one connection on the listener @lfd within @ms milliseconds.
 * Return: the connection's fd, or -1 (none came, or accept failed).
 */
static inline int rh_accept_within(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept(lfd, NULL, NULL);
}

/**
 * rh_read_n() - read exactly @n bytes from @fd into @buf, waiting at most 5 s for each piece.
 * Return: the bytes read (fewer at EOF, error or timeout).
 */
static inline size_t rh_read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/**
 * rh_closed_empty() - whether @fd ends (EOF or reset) within @ms milliseconds without
 * delivering a single byte first.
 */
static inline bool rh_closed_empty(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;
	ssize_t r;

	if (poll(&p, 1, ms) != 1)
		return false;
	r = read(fd, &b, 1);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

/**
 * rh_relay_start() - run gi_relay_run() over @cfg in a child process (SIGPIPE ignored there),
 * then close the parent's copies of @cfg's listeners (those >= 0): from now on only the relay
 * accepts on them. Aborts the test binary when fork fails.
 * Return: the child's pid, for rh_relay_alive() and rh_relay_stop().
 */
static inline pid_t rh_relay_start(const struct gi_relay_cfg *cfg)
{
	const int fds[] = {cfg->proxy_fd, cfg->transp_fd, cfg->dns_udp_fd, cfg->dns_tcp_fd,
			   cfg->inbound_fd};
	pid_t pid = fork();

	if (pid < 0)
		abort();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		gi_relay_run(cfg);
		_exit(1);
	}
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return pid;
}

/** rh_relay_alive() - whether the relay @pid is still running (it never returns on its own). */
static inline bool rh_relay_alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/** rh_relay_stop() - kill the relay @pid and reap it. */
static inline void rh_relay_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

#endif
