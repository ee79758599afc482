/* Host side of the agent protocol (see agent_client.h): hybrid-vsock handshake, control
 * requests, and the exec relay between this process's stdio/terminal and a guest process.
 * Owns the local terminal only inside agent_exec_run() and restores it on every path.
 * Never waits without a deadline except on a running exec session (which ends when the guest
 * process or the connection does). */
#include "proto/agent_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "proto/agent.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll one fd for @ev until @deadline (ms, monotonic). Return 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = ev};
		int64_t left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return 0;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* Write all of @b to the non-blocking socket @fd before @deadline. Return 0 or -1 (errno). */
static int send_deadline(int fd, const void *b, size_t n, int64_t deadline)
{
	const char *p = b;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline) <= 0)
			return -1;
	}
	return 0;
}

/* Read exactly @n bytes before @deadline. Return 0, or -1 (errno; ECONNRESET on EOF). */
static int recv_deadline(int fd, void *b, size_t n, int64_t deadline)
{
	char *p = b;

	while (n) {
		ssize_t r = recv(fd, p, n, MSG_DONTWAIT);

		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		if (wait_fd(fd, POLLIN, deadline) <= 0)
			return -1;
	}
	return 0;
}

int agent_connect(const char *uds_path, uint32_t port, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[32];
	size_t have = 0;
	int fd, n, e;

	if (strlen(uds_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, uds_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		socklen_t sl = sizeof(e);

		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) { /* listen backlog full: retry briefly */
			if (now_ms() >= deadline) {
				errno = ETIMEDOUT;
				goto fail;
			}
			usleep(1000);
			continue;
		}
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, deadline) <= 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
			goto fail;
		if (e) {
			errno = e;
			goto fail;
		}
		break;
	}
	n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (send_deadline(fd, line, (size_t)n, deadline) < 0)
		goto fail;
	/* Read the reply line without consuming anything after its '\n'. */
	for (;;) {
		ssize_t r = recv(fd, line + have, sizeof(line) - have, MSG_PEEK | MSG_DONTWAIT);
		char *nl;
		size_t take;

		if (r == 0) { /* the VM's socket closed: no listener on that port */
			errno = ECONNREFUSED;
			goto fail;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				goto fail;
			if (wait_fd(fd, POLLIN, deadline) <= 0)
				goto fail;
			continue;
		}
		nl = memchr(line + have, '\n', (size_t)r);
		take = nl ? (size_t)(nl - (line + have)) + 1 : (size_t)r;
		if (recv(fd, line + have, take, MSG_DONTWAIT) != (ssize_t)take)
			goto fail;
		have += take;
		if (nl)
			break;
		if (have == sizeof(line)) {
			errno = EPROTO;
			goto fail;
		}
	}
	if (agent_hybrid_ok_parse(line, have) < 0) {
		errno = EPROTO;
		goto fail;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Send a payload-less request (or u64) and wait for one reply frame of type @want. */
static int request(int fd, const uint8_t *req, size_t n, uint8_t want, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t b[SBX_FRAME_HDR + 64];
	struct agent_hdr h;
	struct agent_msg m;

	if (send_deadline(fd, req, n, deadline) < 0)
		return -1;
	if (recv_deadline(fd, b, SBX_FRAME_HDR, deadline) < 0)
		return -1;
	if (agent_hdr_parse(b, &h) < 0 || h.len > sizeof(b) - SBX_FRAME_HDR) {
		errno = EPROTO;
		return -1;
	}
	if (recv_deadline(fd, b + SBX_FRAME_HDR, h.len, deadline) < 0)
		return -1;
	if (agent_parse_g2h(&h, b + SBX_FRAME_HDR, &m) < 0 || m.type != want) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int agent_ping(int fd, int timeout_ms)
{
	uint8_t b[SBX_FRAME_HDR];

	return request(fd, b, agent_put(b, sizeof(b), AGENT_PING, 0, NULL, 0), AGENT_PONG,
		       timeout_ms);
}

int agent_settime(int fd, int timeout_ms)
{
	uint8_t b[SBX_FRAME_HDR + 8];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return request(fd, b,
		       agent_put_u64(b, sizeof(b), AGENT_SETTIME,
				     (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec),
		       AGENT_ACK, timeout_ms);
}

int agent_shutdown(int fd, int timeout_ms)
{
	uint8_t b[SBX_FRAME_HDR];

	return request(fd, b, agent_put(b, sizeof(b), AGENT_SHUTDOWN, 0, NULL, 0), AGENT_ACK,
		       timeout_ms);
}

int agent_wait_ready(const char *uds_path, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int delay_ms = 5;

	for (;;) {
		int64_t left = deadline - now_ms();
		int fd;

		if (left <= 0)
			break;
		fd = agent_connect(uds_path, SBX_AGENT_PORT, (int)(left < 1000 ? left : 1000));
		if (fd >= 0) {
			int r = agent_ping(fd, 1000);

			close(fd);
			if (r == 0)
				return 0;
		}
		left = deadline - now_ms();
		if (left <= 0)
			break;
		usleep((useconds_t)(left < delay_ms ? left : delay_ms) * 1000);
		if (delay_ms < 100)
			delay_ms *= 2;
	}
	errno = ETIMEDOUT;
	return -1;
}

/* ---- exec relay ---- */

#define OUT_CAP (2 * (SBX_FRAME_HDR + SBX_FRAME_MAX))

struct xrun {
	int fd;
	const char *cmd;
	size_t inlen, outoff, outlen;
	uint8_t in[SBX_FRAME_HDR + SBX_FRAME_MAX];
	uint8_t out[OUT_CAP];
	struct agent_exec_req req;
};

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* pipe full: the signal is dropped, which is fine for repeats */
	}
	errno = e;
}

/* Write all of @n bytes to a local fd that may be non-blocking. Return 0 or -1. */
static int out_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};

			poll(&pf, 1, -1);
		} else if (!(w < 0 && errno == EINTR)) {
			return -1;
		}
	}
	return 0;
}

/* Queue a small frame (RESIZE, SIGNAL, STDIN_EOF); dropped only if 64 KiB of them queue up. */
static void queue_small(struct xrun *x, size_t (*put)(struct xrun *, uint8_t *, size_t))
{
	if (x->outoff == x->outlen)
		x->outoff = x->outlen = 0;
	x->outlen += put(x, x->out + x->outlen, OUT_CAP - x->outlen);
}

static uint32_t pending_sig;
static uint16_t pending_rows, pending_cols;

static size_t put_sig(struct xrun *x, uint8_t *b, size_t cap)
{
	return agent_put_u32(b, cap, AGENT_SIGNAL, pending_sig);
}

static size_t put_resize(struct xrun *x, uint8_t *b, size_t cap)
{
	return agent_put_resize(b, cap, pending_rows, pending_cols);
}

static size_t put_eof(struct xrun *x, uint8_t *b, size_t cap)
{
	return agent_put(b, cap, AGENT_STDIN_EOF, 0, NULL, 0);
}

static void print_guest_error(const struct xrun *x, const struct agent_msg *m)
{
	const char *c = x->cmd;

	switch (m->u.err.kind) {
	case AGENT_ERR_EXEC:
		if (m->u.err.code == ENOENT)
			sbx_err("exec %s: no such file or directory in the sandbox (check PATH)",
				c);
		else if (m->u.err.code == EACCES)
			sbx_err("exec %s: permission denied in the sandbox (check the file's mode)",
				c);
		else
			sbx_err("exec %s: %s in the sandbox", c, m->u.err.msg);
		break;
	case AGENT_ERR_CWD:
		sbx_err("exec %s: %s (check the working directory, -w)", c, m->u.err.msg);
		break;
	case AGENT_ERR_USER:
		sbx_err("exec %s: %s (check the user, -u)", c, m->u.err.msg);
		break;
	default:
		sbx_err("exec %s: sandbox agent: %s (see the sandbox's log)", c, m->u.err.msg);
		break;
	}
}

/* Handle every whole frame in x->in. Return 1 done (*status set), 0 more, -1 error printed. */
static int handle_frames(struct xrun *x, int *status, bool detach)
{
	size_t off = 0;
	int ret = 0;

	while (ret == 0) {
		struct agent_hdr h;
		struct agent_msg m;
		long n = agent_frame_next(x->in + off, x->inlen - off, &h);

		if (n == 0)
			break;
		if (n < 0 || agent_parse_g2h(&h, x->in + off + SBX_FRAME_HDR, &m) < 0) {
			sbx_err("exec %s: malformed reply from the sandbox agent (rebuild the "
				"initramfs: sbx-init and sbx differ?)",
				x->cmd);
			return -1;
		}
		off += (size_t)n;
		switch (m.type) {
		case AGENT_STDOUT:
		case AGENT_STDERR:
			if (out_all(m.type == AGENT_STDOUT ? 1 : 2, m.u.data.p, m.u.data.n) < 0) {
				if (errno == EPIPE)
					return -1;
			}
			break;
		case AGENT_EXIT:
			*status = (int)m.u.status;
			ret = 1;
			break;
		case AGENT_STARTED:
			if (detach) {
				*status = 0;
				ret = 1;
			}
			break;
		case AGENT_ERROR:
			print_guest_error(x, &m);
			break;
		default:
			sbx_err("exec %s: unexpected %s frame from the sandbox agent", x->cmd,
				agent_type_name(m.type));
			return -1;
		}
	}
	memmove(x->in, x->in + off, x->inlen - off);
	x->inlen -= off;
	return ret;
}

static void term_size(uint16_t *rows, uint16_t *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if ((ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) && ws.ws_row &&
	    ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static const int fwd_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
#define NSIGS (sizeof(fwd_sigs) / sizeof(fwd_sigs[0]))

int agent_exec_run(int fd, const struct agent_exec_opts *o)
{
	struct sigaction old[NSIGS], sa;
	struct termios saved;
	bool raw = false, stdin_open = o->interactive && !o->detach, done = false;
	int status = -1, r;
	size_t i;
	struct xrun *x = calloc(1, sizeof(*x));

	if (!x) {
		sbx_err("exec %s: out of memory", o->argv[0]);
		return -1;
	}
	x->fd = fd;
	x->cmd = o->argv[0];
	x->req.flags = (uint8_t)((o->tty ? AGENT_EXEC_TTY : 0) |
				 (o->interactive ? AGENT_EXEC_INTERACTIVE : 0) |
				 (o->detach ? AGENT_EXEC_DETACH : 0));
	x->req.user = o->user ? o->user : "agent";
	x->req.cwd = o->cwd;
	for (i = 0; i < AGENT_ARGV_MAX && o->argv[i]; i++)
		x->req.argv[i] = o->argv[i];
	bool too_many = o->argv[i] != NULL;
	for (i = 0; o->env && i < AGENT_ENV_MAX && o->env[i]; i++)
		x->req.env[i] = o->env[i];
	too_many |= o->env && o->env[i];
	if (o->tty)
		term_size(&x->req.rows, &x->req.cols);
	x->outlen = too_many ? 0 : agent_put_exec(x->out, OUT_CAP, &x->req);
	if (!x->outlen) {
		sbx_err("exec %s: command line or environment too long (at most %u KiB in total)",
			x->cmd, SBX_FRAME_MAX / 1024);
		free(x);
		return -1;
	}
	/* Send EXEC first: the guest starts while we set up the terminal and signals. */
	{
		ssize_t w = send(fd, x->out, x->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0)
			x->outoff = (size_t)w;
		if (x->outoff == x->outlen)
			x->outoff = x->outlen = 0;
	}
	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		sbx_err("exec %s: pipe: %s", x->cmd, strerror(errno));
		free(x);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIGS; i++)
		sigaction(fwd_sigs[i], &sa, &old[i]);
	if (o->tty && !o->detach && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;

		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
	}

	while (!done) {
		struct pollfd p[3] = {
		    {.fd = fd, .events = POLLIN},
		    {.fd = stdin_open && x->outlen == 0 ? 0 : -1, .events = POLLIN},
		    {.fd = sig_pipe[0], .events = POLLIN},
		};
		if (x->outlen)
			p[0].events |= POLLOUT;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			sbx_err("exec %s: poll: %s", x->cmd, strerror(errno));
			break;
		}
		if (p[2].revents & POLLIN) {
			unsigned char c;

			while (read(sig_pipe[0], &c, 1) == 1) {
				if (c == SIGWINCH) {
					if (!o->tty)
						continue;
					term_size(&pending_rows, &pending_cols);
					queue_small(x, put_resize);
					continue;
				}
				pending_sig = c;
				queue_small(x, put_sig);
				if (o->tty && (c == SIGTERM || c == SIGHUP)) {
					/* our terminal or our caller is going away: hang up */
					pending_sig = SIGHUP;
					queue_small(x, put_sig);
					send(fd, x->out + x->outoff, x->outlen - x->outoff,
					     MSG_NOSIGNAL | MSG_DONTWAIT);
					status = 128 + c;
					done = true;
				}
			}
		}
		if (done)
			break;
		if (p[0].revents & POLLOUT) {
			ssize_t w = send(fd, x->out + x->outoff, x->outlen - x->outoff,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w > 0)
				x->outoff += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				goto lost;
			if (x->outoff == x->outlen)
				x->outoff = x->outlen = 0;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n =
			    recv(fd, x->in + x->inlen, sizeof(x->in) - x->inlen, MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				goto lost;
			if (n > 0) {
				x->inlen += (size_t)n;
				r = handle_frames(x, &status, o->detach);
				if (r != 0) {
					if (r < 0)
						status = -1;
					break;
				}
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(0, x->out + SBX_FRAME_HDR, SBX_CHUNK_MAX);

			if (n > 0) {
				agent_put_hdr(x->out, AGENT_STDIN, 0, (uint32_t)n);
				x->outoff = 0;
				x->outlen = SBX_FRAME_HDR + (size_t)n;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				stdin_open = false;
				queue_small(x, put_eof);
			}
		}
		continue;
	lost:
		sbx_err("exec %s: the sandbox closed the session (is it still running? see sbx ls)",
			x->cmd);
		status = -1;
		break;
	}

	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	for (i = 0; i < NSIGS; i++)
		sigaction(fwd_sigs[i], &old[i], NULL);
	free(x);
	return status;
}
