/* Hybrid vsock host side: the unix listener ("CONNECT <port>\n" handshake), per-stream sockets
 * to "<uds>_<port>", non-blocking relaying with a bounded host-bound buffer, and timeouts.
 * Owns every syscall on stream sockets; never touches the virtqueues (device.c does). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "virtio/vsock/vsock_int.h"

uint64_t vsock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int uds_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a->sun_path, path);
	return 0;
}

static void conn_event(int fd, uint32_t events, void *opaque);

void vsock_conn_close_fd(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	if (c->ev_mask != ~0u)
		evloop_del(d->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->ev_mask = ~0u;
}

void vsock_conn_update_events(struct vsock_dev *d, struct vsock_conn *c)
{
	uint32_t mask = 0;

	if (c->fd < 0 || c->hup)
		return;
	if (c->state == VCONN_HANDSHAKE) {
		mask = EPOLLIN;
	} else if (c->state == VCONN_ESTABLISHED) {
		if (!c->readable && !c->eof && !(c->peer_shut & VSOCK_SHUTDOWN_RCV) &&
		    vconn_peer_credit(c) > 0)
			mask |= EPOLLIN;
		if (c->buf_len)
			mask |= EPOLLOUT;
	}
	if (mask == c->ev_mask)
		return;
	if (c->ev_mask == ~0u) {
		if (evloop_add(d->loop, c->fd, mask, conn_event, c) < 0) {
			sbx_log("vsock: cannot watch stream socket: %s", strerror(errno));
			return;
		}
	} else {
		evloop_mod(d->loop, c->fd, mask);
	}
	c->ev_mask = mask;
}

int vsock_conn_connect_host(struct vsock_dev *d, struct vsock_conn *c)
{
	struct sockaddr_un a;
	char path[sizeof(a.sun_path) + 16];
	int fd;

	if (snprintf(path, sizeof(path), "%s_%u", d->uds_path, c->local_port) >=
		(int)sizeof(path) ||
	    uds_addr(path, &a) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	return 0;
}

static void maybe_credit_update(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->fwd_cnt - c->last_fwd_adv >= VSOCK_CREDIT_THRESH) {
		c->pending |= VPEND_CREDIT;
		vsock_rx_enqueue(d, c);
	}
}

static ssize_t send_iov(int fd, const struct iovec *iov, int niov)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov};

	return sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int vsock_conn_write_guest_data(struct vsock_dev *d, struct vsock_conn *c, const struct iovec *iov,
				int niov, size_t len)
{
	size_t done = 0, skip;
	ssize_t n;
	int i;

	c->rx_cnt += (uint32_t)len;
	if (c->hup || c->wr_shut) { /* nobody to deliver to: count it as forwarded */
		c->fwd_cnt += (uint32_t)len;
		maybe_credit_update(d, c);
		return 0;
	}
	if (c->buf_len == 0 && len) {
		n = send_iov(c->fd, iov, niov);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			vsock_conn_kill(d, c, true);
			return -1;
		}
		if (n > 0)
			done = (size_t)n;
		c->fwd_cnt += (uint32_t)done;
	}
	if (done < len) {
		if (!c->buf) {
			c->buf = malloc(VSOCK_BUF_ALLOC);
			if (!c->buf) {
				sbx_log("vsock: out of memory buffering stream data; reset");
				vsock_conn_kill(d, c, true);
				return -1;
			}
		}
		skip = done;
		for (i = 0; i < niov; i++) {
			const uint8_t *p = iov[i].iov_base;
			size_t l = iov[i].iov_len;
			if (skip >= l) {
				skip -= l;
				continue;
			}
			p += skip;
			l -= skip;
			skip = 0;
			while (l) {
				uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
				size_t room = VSOCK_BUF_ALLOC - tail;
				if (room > l)
					room = l;
				if (c->buf_len + room > VSOCK_BUF_ALLOC)
					return 0; /* cannot happen: checked against credit */
				memcpy(c->buf + tail, p, room);
				c->buf_len += (uint32_t)room;
				p += room;
				l -= room;
			}
		}
	}
	maybe_credit_update(d, c);
	return 0;
}

int vsock_conn_flush(struct vsock_dev *d, struct vsock_conn *c)
{
	while (c->buf_len) {
		struct iovec iov[2];
		int niov = 1;
		uint32_t first = VSOCK_BUF_ALLOC - c->buf_head;
		ssize_t n;

		if (first > c->buf_len)
			first = c->buf_len;
		iov[0] = (struct iovec){c->buf + c->buf_head, first};
		if (first < c->buf_len) {
			iov[1] = (struct iovec){c->buf, c->buf_len - first};
			niov = 2;
		}
		n = send_iov(c->fd, iov, niov);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			vsock_conn_kill(d, c, true);
			return -1;
		}
		c->buf_head = (uint32_t)((c->buf_head + (size_t)n) % VSOCK_BUF_ALLOC);
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	maybe_credit_update(d, c);
	if (c->buf_len == 0 && (c->peer_shut & VSOCK_SHUTDOWN_SEND) && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	vsock_conn_update_events(d, c);
	vsock_conn_check_done(d, c);
	return c->state == VCONN_FREE ? -1 : 0;
}

int vsock_conn_established(struct vsock_dev *d, struct vsock_conn *c)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->local_port);

	if (send(c->fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
		vsock_conn_kill(d, c, true);
		return -1;
	}
	c->state = VCONN_ESTABLISHED;
	c->deadline = 0;
	vsock_conn_update_events(d, c);
	return 0;
}

static void handshake_done(struct vsock_dev *d, struct vsock_conn *c)
{
	uint32_t port, i;

	if (vsock_connect_line_parse(c->hs, c->hs_len, &port) < 0) {
		sbx_log("vsock: bad handshake line from host peer; closing");
		vsock_conn_kill(d, c, false);
		return;
	}
	for (i = 0; i < 4096; i++) {
		uint32_t p = d->next_port++;
		if (d->next_port == 0)
			d->next_port = 1u << 30;
		if (vconn_lookup(&d->t, p, port))
			continue;
		c->local_port = p;
		c->peer_port = port;
		vconn_hash_add(&d->t, c);
		c->state = VCONN_CONNECTING;
		c->deadline = vsock_now_ms() + VSOCK_CONNECT_MS;
		c->pending |= VPEND_REQUEST;
		vsock_conn_update_events(d, c);
		vsock_rx_enqueue(d, c);
		return;
	}
	vsock_conn_kill(d, c, false);
}

static void handshake_read(struct vsock_dev *d, struct vsock_conn *c)
{
	while (c->hs_len < sizeof(c->hs)) {
		char ch;
		ssize_t n = read(c->fd, &ch, 1); /* one byte: never consume payload after '\n' */
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			vsock_conn_kill(d, c, false);
			return;
		}
		c->hs[c->hs_len++] = ch;
		if (ch == '\n') {
			handshake_done(d, c);
			return;
		}
	}
	sbx_log("vsock: handshake line too long from host peer; closing");
	vsock_conn_kill(d, c, false);
}

static void peer_hup(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->ev_mask != ~0u)
		evloop_del(d->loop, c->fd);
	c->ev_mask = ~0u;
	c->hup = true;
	c->fwd_cnt += c->buf_len; /* undeliverable now */
	c->buf_len = 0;
	if (!c->eof) {
		c->readable = true; /* drain what is left, then EOF */
	} else {
		c->shut_send = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
		c->pending |= VPEND_SHUTDOWN;
	}
	vsock_rx_enqueue(d, c);
}

static void conn_event(int fd, uint32_t events, void *opaque)
{
	struct vsock_conn *c = opaque;
	struct vsock_dev *d = c->owner;

	switch (c->state) {
	case VCONN_HANDSHAKE:
		handshake_read(d, c);
		break;
	case VCONN_CONNECTING: /* not watching: only HUP/ERR get here */
		vsock_conn_kill(d, c, true);
		break;
	case VCONN_ESTABLISHED:
		if (events & EPOLLERR) {
			vsock_conn_kill(d, c, true);
			break;
		}
		if ((events & EPOLLOUT) && vsock_conn_flush(d, c) < 0)
			break;
		if (events & EPOLLHUP) {
			peer_hup(d, c);
		} else if (events & EPOLLIN) {
			c->readable = true;
			vsock_conn_update_events(d, c);
			vsock_rx_enqueue(d, c);
		}
		break;
	case VCONN_CLOSING:
		if (c->ev_mask != ~0u)
			evloop_del(d->loop, c->fd);
		c->ev_mask = ~0u;
		break;
	default:
		break;
	}
	vsock_rx_run(d);
}

static void listen_event(int fd, uint32_t events, void *opaque)
{
	struct vsock_dev *d = opaque;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				sbx_log("vsock: accept on %s: %s", d->uds_path, strerror(errno));
			return;
		}
		c = vconn_alloc(&d->t);
		if (!c) {
			sbx_log("vsock: %d streams open, refusing host connection",
				VSOCK_MAX_CONNS);
			close(cfd);
			continue;
		}
		c->owner = d;
		c->fd = cfd;
		c->state = VCONN_HANDSHAKE;
		c->deadline = vsock_now_ms() + VSOCK_HANDSHAKE_MS;
		vsock_conn_update_events(d, c);
	}
}

static void timer_event(int fd, uint32_t events, void *opaque)
{
	struct vsock_dev *d = opaque;
	uint64_t now = vsock_now_ms(), ticks;
	int i;

	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		sbx_log("vsock: timer: %s", strerror(errno));
	for (i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &d->t.c[i];
		if (c->state == VCONN_FREE || !c->deadline || now < c->deadline)
			continue;
		if (c->state == VCONN_HANDSHAKE)
			sbx_log("vsock: no handshake line within %d ms; closing",
				VSOCK_HANDSHAKE_MS);
		else if (c->state == VCONN_CONNECTING)
			sbx_log("vsock: guest did not answer connection to port %u within %d ms",
				c->peer_port, VSOCK_CONNECT_MS);
		vsock_conn_kill(d, c, c->state != VCONN_HANDSHAKE);
	}
	vsock_rx_run(d);
}

int vsock_hybrid_start(struct vsock_dev *d)
{
	struct itimerspec its = {.it_interval = {0, 250000000}, .it_value = {0, 250000000}};

	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timer_fd < 0)
		return -1;
	if (timerfd_settime(d->timer_fd, 0, &its, NULL) < 0 ||
	    evloop_add(d->loop, d->timer_fd, EPOLLIN, timer_event, d) < 0) {
		close(d->timer_fd);
		d->timer_fd = -1;
		return -1;
	}
	return 0;
}

int vsock_dev_listen(struct vsock_dev *d)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, probe;

	if (uds_addr(d->uds_path, &a) < 0)
		return -1;
	if (lstat(d->uds_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0) {
			close(probe);
			errno = EADDRINUSE;
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(d->uds_path); /* stale socket of a dead process */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    evloop_add(d->loop, fd, EPOLLIN, listen_event, d) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	d->listen_fd = fd;
	return 0;
}

void vsock_hybrid_stop(struct vsock_dev *d)
{
	if (d->listen_fd >= 0) {
		evloop_del(d->loop, d->listen_fd);
		close(d->listen_fd);
		unlink(d->uds_path);
		d->listen_fd = -1;
	}
	if (d->timer_fd >= 0) {
		evloop_del(d->loop, d->timer_fd);
		close(d->timer_fd);
		d->timer_fd = -1;
	}
}
