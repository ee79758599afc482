/* sbx-init's server: accept host connections (vsock port 1024, or a unix socket with the
 * hybrid "CONNECT" handshake in host test mode), one handler process per connection, and
 * reap every child (as PID 1, of the whole system). Dispatches each stream's requests.
 * Never exits or dies as PID 1: every failure is a log line and the loop goes on. */
#include "guest/gi.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIG_SHUTDOWN SIGUSR2 /* a handler asks the server (PID 1) to power off */

bool gi_vm_mode;

/* Read until @c->in holds a whole frame, waiting at most @timeout_ms (-1: forever).
 * Return: frame length, 0 on EOF/timeout/error, -1 if malformed. */
static long read_frame(struct gi_conn *c, struct agent_hdr *h, int timeout_ms)
{
	for (;;) {
		long n = agent_frame_next(c->in, c->inlen, h);
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		ssize_t r;

		if (n != 0)
			return n;
		if (poll(&p, 1, timeout_ms) <= 0)
			return 0;
		r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
		if (r > 0)
			c->inlen += (size_t)r;
	}
}

/* Host test mode: "CONNECT <port>\n" -> "OK <port>\n". Return 0 or -1. */
static int hybrid_accept(int fd)
{
	char line[32];
	size_t n = 0;

	while (n < sizeof(line)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 5000) <= 0 || recv(fd, line + n, 1, 0) != 1)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	if (agent_hybrid_connect_parse(line, n) != 1024)
		return -1;
	return agent_write_full(fd, "OK 1024\n", 8);
}

static void reply(struct gi_conn *c, uint8_t type)
{
	c->outlen += agent_put(c->out + c->outlen, GI_OUT_CAP - c->outlen, type, 0, NULL, 0);
}

/* A connection's handler process. Never returns. */
static void handle(int fd, bool hybrid)
{
	struct gi_conn *c = calloc(1, sizeof(*c));
	struct agent_exec_req *x = malloc(sizeof(*x));
	int timeout_ms = 10000; /* for the first frame; later ones may come whenever */

	signal(SIGPIPE, SIG_IGN);
	if (!c || !x || (hybrid && hybrid_accept(fd) < 0))
		_exit(1);
	c->fd = fd;
	for (;;) {
		struct agent_hdr h;
		struct agent_msg m;
		long n = read_frame(c, &h, timeout_ms);
		struct timespec ts;

		timeout_ms = -1;
		if (n == 0)
			_exit(0);
		if (n < 0 || agent_parse_h2g(&h, c->in + SBX_FRAME_HDR, &m, x) < 0) {
			gi_log("refused a malformed %s frame from the host",
			       agent_type_name(h.type));
			c->outlen += agent_put_error(c->out, GI_OUT_CAP, EPROTO, AGENT_ERR_PROTO,
						     "malformed frame");
			gi_conn_flush(c, true);
			_exit(1);
		}
		switch (m.type) {
		case AGENT_EXEC:
			_exit(gi_exec_session(c, x, (size_t)n) < 0 ? 1 : 0);
		case AGENT_PING:
			reply(c, AGENT_PONG);
			break;
		case AGENT_SETTIME:
			ts.tv_sec = (time_t)(m.u.time_ns / 1000000000u);
			ts.tv_nsec = (long)(m.u.time_ns % 1000000000u);
			if (gi_vm_mode && clock_settime(CLOCK_REALTIME, &ts) < 0)
				gi_log("setting the clock: %s", strerror(errno));
			reply(c, AGENT_ACK);
			break;
		case AGENT_SHUTDOWN:
			reply(c, AGENT_ACK);
			gi_conn_flush(c, true);
			kill(getppid(), SIG_SHUTDOWN);
			_exit(0);
		default:
			c->outlen += agent_put_error(c->out, GI_OUT_CAP, EPROTO, AGENT_ERR_PROTO,
						     "unexpected frame");
			gi_conn_flush(c, true);
			_exit(1);
		}
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
		if (gi_conn_flush(c, true) < 0)
			_exit(0);
	}
}

static void reap(void)
{
	int st;

	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

int gi_serve(int lfd, bool hybrid)
{
	sigset_t set, old;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIG_SHUTDOWN);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		gi_log("signalfd: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		struct signalfd_siginfo si;
		bool stop = false;

		if (poll(p, 2, -1) < 0) {
			if (errno != EINTR)
				usleep(10000);
			continue;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIG_SHUTDOWN)
				stop = true;
			else if (!gi_vm_mode && (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
				stop = true;
		}
		reap();
		if (stop) {
			if (gi_vm_mode)
				gi_poweroff();
			close(sfd);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return 0;
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			pid_t pid;

			if (fd < 0) {
				if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
					gi_log("accept: %s", strerror(errno));
				if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
					usleep(10000);
				continue;
			}
			pid = fork();
			if (pid == 0) {
				close(lfd);
				close(sfd);
				sigprocmask(SIG_SETMASK, &old, NULL);
				handle(fd, hybrid);
			}
			if (pid < 0)
				gi_log("fork: %s", strerror(errno));
			close(fd);
		}
	}
}
