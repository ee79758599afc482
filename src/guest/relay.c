/* sbx-init's relay: one event-loop process carrying the guest's TCP (explicit proxy,
 * netfilter-redirected) and DNS (relay_dns.c) over vsock to sbxd (src/proto/egress.h), and the
 * host's published-port streams into the guest (relay_in.c). This file: the loop, the buffers,
 * the TCP pump. Never blocks, never forks or threads per connection, and no peer's behaviour
 * ends the loop (a bad peer is closed, nothing more). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "guest/relay_int.h"
#include "proto/egress.h"

#define GI_SO_ORIGINAL_DST 80 /* <linux/netfilter_ipv4.h>, absent from musl */
#define GI_HOST_CID	   2u

struct relay *gi_relay_state;

/* ---- pure parts (unit-tested, fuzzed) --------------------------------------------------- */

int gi_egress_hdr(const struct sockaddr *sa, socklen_t salen, uint8_t *out)
{
	uint16_t port;

	memset(out, 0, EGRESS_ORIG_LEN);
	out[0] = EGRESS_ORIG_MAGIC >> 24;
	out[1] = EGRESS_ORIG_MAGIC >> 16 & 0xff;
	out[2] = EGRESS_ORIG_MAGIC >> 8 & 0xff;
	out[3] = EGRESS_ORIG_MAGIC & 0xff;
	if (sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		out[4] = 4;
		port = ntohs(s4->sin_port);
		memcpy(out + 8, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		out[4] = 6;
		port = ntohs(s6->sin6_port);
		memcpy(out + 8, &s6->sin6_addr, 16);
	} else {
		return -1;
	}
	out[6] = port >> 8;
	out[7] = port & 0xff;
	return 0;
}

/* ---- the event loop --------------------------------------------------------------------- */

long gi_relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t gi_rb_room(struct rbuf *r)
{
	if (r->off && r->off + r->len == RELAY_BUF) {
		memmove(r->b, r->b + r->off, r->len);
		r->off = 0;
	}
	return RELAY_BUF - r->off - r->len;
}

void gi_rb_put(struct rbuf *r, const void *p, size_t n)
{
	if (r->off + r->len + n > RELAY_BUF) {
		memmove(r->b, r->b + r->off, r->len);
		r->off = 0;
	}
	memcpy(r->b + r->off + r->len, p, n);
	r->len += n;
}

void gi_rb_drop(struct rbuf *r, size_t n)
{
	r->off += n;
	r->len -= n;
	if (r->len == 0)
		r->off = 0;
}

/* Register @fd's wanted events @ev (0: remove it, so a hung-up fd cannot spin the loop). */
void gi_relay_ep_set(int fd, uint32_t *cur, uint32_t ev, uint64_t tag)
{
	struct epoll_event e = {.events = ev, .data.u64 = tag};

	if (fd < 0 || *cur == ev)
		return;
	if (ev == 0)
		epoll_ctl(R->ep, EPOLL_CTL_DEL, fd, NULL);
	else if (epoll_ctl(R->ep, *cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &e) < 0)
		gi_log("relay: epoll: %s", strerror(errno));
	*cur = ev;
}

/* Connect to the host's egress @port without blocking. Return the fd (*@pending when the
 * connect is still in progress), or -1. */
int gi_relay_host_connect(uint32_t port, bool *pending)
{
	int fd;

	*pending = false;
	if (R->cfg->host_unix) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", R->cfg->host_unix,
				     port) >= sizeof(sa.sun_path))
			return -1;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	struct gi_relay_vsa vsa = {.family = GI_AF_VSOCK, .port = port, .cid = GI_HOST_CID};

	fd = socket(GI_AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&vsa, sizeof(vsa)) < 0) {
		if (errno != EINPROGRESS) {
			close(fd);
			return -1;
		}
		*pending = true;
	}
	return fd;
}

/* ---- TCP connections ---- */

void gi_relay_conn_close(struct rconn *c, bool reset)
{
	if (c->cfd >= 0) {
		if (reset) {
			struct linger l = {.l_onoff = 1, .l_linger = 0};

			setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->cfd); /* closing also removes it from epoll */
	}
	if (c->hfd >= 0)
		close(c->hfd);
	free(c->up.b);
	free(c->down.b);
	memset(c, 0, sizeof(*c));
	c->kind = K_FREE;
	c->cfd = c->hfd = -1;
}

uint64_t gi_relay_conn_tag(const struct rconn *c, int what)
{
	return (uint64_t)c->gen << 32 | (uint64_t)(c - R->c) << 8 | (uint64_t)what;
}

/* Recompute what @c waits for. */
void gi_relay_conn_arm(struct rconn *c)
{
	uint32_t ce = 0, he = 0;

	if (!c->c_eof && gi_rb_room(&c->up))
		ce |= EPOLLIN;
	if (c->down.len)
		ce |= EPOLLOUT;
	if (c->hfd >= 0) {
		if (c->hconnecting)
			he = EPOLLOUT;
		else {
			if (!c->h_eof && gi_rb_room(&c->down))
				he |= EPOLLIN;
			if (c->up.len)
				he |= EPOLLOUT;
		}
	}
	gi_relay_ep_set(c->cfd, &c->cev, ce, gi_relay_conn_tag(c, T_CFD));
	gi_relay_ep_set(c->hfd, &c->hev, he, gi_relay_conn_tag(c, T_HFD));
}

/* Move bytes from @fd into @r. Return 0, 1 at EOF, -1 on error. */
int gi_relay_fill(int fd, struct rbuf *r)
{
	size_t room;

	while ((room = gi_rb_room(r)) > 0) {
		ssize_t n = recv(fd, r->b + r->off + r->len, room, MSG_DONTWAIT);

		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
	return 0;
}

/* Move bytes from @r to @fd. Return 0 or -1 on error. */
int gi_relay_drain(int fd, struct rbuf *r)
{
	while (r->len) {
		ssize_t n = send(fd, r->b + r->off, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			gi_rb_drop(r, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	}
	return 0;
}

/* Do whatever @c can do now, then re-arm it or close it. */
void gi_relay_conn_pump(struct rconn *c)
{
	int r;

	if (!c->c_eof) {
		r = gi_relay_fill(c->cfd, &c->up);
		if (r < 0)
			goto reset;
		c->c_eof = r == 1;
	}
	if (c->kind == K_DNSTCP) {
		if (gi_relay_dnstcp_take(c) < 0)
			goto reset;
		if (c->broken || gi_relay_drain(c->cfd, &c->down) < 0)
			goto reset;
		if (c->c_eof && c->down.len == 0 && c->dns_out == 0 &&
		    gi_dns_frame(c->up.b + c->up.off, c->up.len) == 0) {
			gi_relay_conn_close(c, false); /* all it asked is answered (or dropped) */
			return;
		}
		gi_relay_conn_arm(c);
		return;
	}
	if (c->hconnecting) {
		gi_relay_conn_arm(c);
		return;
	}
	if (gi_relay_drain(c->hfd, &c->up) < 0)
		goto reset;
	if (c->c_eof && c->up.len == 0 && !c->h_shut) {
		shutdown(c->hfd, SHUT_WR);
		c->h_shut = true;
	}
	if (!c->h_eof) {
		size_t before = c->down.len;

		r = gi_relay_fill(c->hfd, &c->down);
		if (r < 0)
			goto reset;
		c->h_eof = r == 1;
		c->h_data |= c->down.len != before;
	}
	/* transparent: the host ending the stream before a single byte is how sbxd refuses
	 * (policy) or fails to connect: the client gets a reset, as from a firewall */
	if (c->kind == K_TRANSP && c->h_eof && !c->h_data)
		goto reset;
	if (gi_relay_drain(c->cfd, &c->down) < 0)
		goto reset;
	if (c->h_eof && c->down.len == 0 && !c->c_shut) {
		shutdown(c->cfd, SHUT_WR);
		c->c_shut = true;
	}
	if (c->c_shut && c->h_shut) {
		gi_relay_conn_close(c, false);
		return;
	}
	gi_relay_conn_arm(c);
	return;
reset:
	gi_relay_conn_close(c, true);
}

/* The host stream's non-blocking connect finished: go on, or reset the client. */
static void conn_connected(struct rconn *c)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->hfd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
		gi_relay_conn_close(c, true);
		return;
	}
	c->hconnecting = false;
	gi_relay_conn_pump(c);
}

static void accept_all(int lfd, int kind)
{
	for (;;) {
		struct sockaddr_in od;
		socklen_t ol = sizeof(od);
		struct rconn *c = NULL;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		bool pending;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				gi_log("relay: accept: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < RELAY_CONN_MAX && !c; i++)
			if (R->c[i].kind == K_FREE)
				c = &R->c[i];
		struct rconn tmp = {.cfd = fd, .hfd = -1};
		if (!c) {
			gi_relay_conn_close(&tmp, true); /* full: reset at once rather than hang */
			continue;
		}
		*c = tmp;
		c->kind = kind;
		c->gen = ++R->gen;
		c->up.b = malloc(RELAY_BUF);
		c->down.b = malloc(RELAY_BUF);
		if (!c->up.b || !c->down.b) {
			gi_relay_conn_close(c, true);
			continue;
		}
		if (kind == K_IN) {
			gi_relay_in_start(c); /* a published port's stream from the host */
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		if (kind == K_DNSTCP) {
			gi_relay_conn_arm(c);
			continue;
		}
		if (kind == K_TRANSP) {
			uint8_t h[EGRESS_ORIG_LEN];

			if (R->cfg->fake_orig_dst)
				od = *R->cfg->fake_orig_dst;
			else if (getsockopt(fd, SOL_IP, GI_SO_ORIGINAL_DST, &od, &ol) < 0) {
				gi_relay_conn_close(c, true); /* not redirected: nowhere to go */
				continue;
			}
			if (gi_egress_hdr((struct sockaddr *)&od, sizeof(od), h) < 0) {
				gi_relay_conn_close(c, true);
				continue;
			}
			gi_rb_put(&c->up, h, sizeof(h));
		}
		c->hfd = gi_relay_host_connect(
		    kind == K_TRANSP ? EGRESS_PORT_TRANSPARENT : EGRESS_PORT_PROXY, &pending);
		if (c->hfd < 0) {
			gi_relay_conn_close(c,
					    true); /* host refuses: the client sees a reset now */
			continue;
		}
		c->hconnecting = pending;
		gi_relay_conn_pump(c);
	}
}

/* ---- main loop ---- */

static void listen_add(int fd, int tag)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint64_t)tag};

	if (fd >= 0 && epoll_ctl(R->ep, EPOLL_CTL_ADD, fd, &e) < 0)
		gi_log("relay: epoll: %s", strerror(errno));
}

int gi_relay_run(const struct gi_relay_cfg *cfg)
{
	static struct epoll_event ev[64];

	R = calloc(1, sizeof(*R));
	if (!R)
		return -1;
	R->cfg = cfg;
	R->ep = epoll_create1(EPOLL_CLOEXEC);
	R->d.out.b = malloc(RELAY_BUF);
	R->d.in.b = malloc(RELAY_BUF);
	if (R->ep < 0 || !R->d.out.b || !R->d.in.b) {
		gi_log("relay: cannot start: %s", strerror(errno));
		return -1;
	}
	R->d.fd = -1;
	for (int i = 0; i < RELAY_CONN_MAX; i++)
		R->c[i].cfd = R->c[i].hfd = -1;
	listen_add(cfg->proxy_fd, T_PROXY_L);
	listen_add(cfg->transp_fd, T_TRANSP_L);
	listen_add(cfg->dns_udp_fd, T_DNSU_L);
	listen_add(cfg->dns_tcp_fd, T_DNST_L);
	listen_add(cfg->inbound_fd, T_IN_L);
	for (;;) {
		int n = epoll_wait(R->ep, ev, 64, R->d.q.n || R->in_timed ? 500 : -1);

		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			struct rconn *c = &R->c[(tag >> 8 & 0xffffff) % RELAY_CONN_MAX];
			bool live = c->kind != K_FREE && c->gen == (uint32_t)(tag >> 32);

			switch (tag & 0xff) {
			case T_PROXY_L:
				accept_all(cfg->proxy_fd, K_PROXY);
				break;
			case T_TRANSP_L:
				accept_all(cfg->transp_fd, K_TRANSP);
				break;
			case T_DNST_L:
				accept_all(cfg->dns_tcp_fd, K_DNSTCP);
				break;
			case T_IN_L:
				accept_all(cfg->inbound_fd, K_IN);
				break;
			case T_DNSU_L:
				gi_relay_dns_udp_read();
				break;
			case T_DNSH:
				if (R->d.fd >= 0)
					gi_relay_dns_pump();
				break;
			case T_HFD:
				if (live && c->kind >= K_IN)
					gi_relay_in_event(c, T_HFD);
				else if (live && c->hconnecting)
					conn_connected(c);
				else if (live)
					gi_relay_conn_pump(c);
				break;
			case T_CFD:
				if (live && c->kind >= K_IN)
					gi_relay_in_event(c, T_CFD);
				else if (live)
					gi_relay_conn_pump(c);
				break;
			}
		}
		/* DNS TCP clients blocked on a full host stream, and answers queued above */
		for (int i = 0; i < RELAY_CONN_MAX; i++)
			if (R->c[i].kind == K_DNSTCP &&
			    (R->c[i].up.len || R->c[i].down.len || R->c[i].c_eof || R->c[i].broken))
				gi_relay_conn_pump(&R->c[i]);
		gi_relay_dns_tick();
		R->in_timed = gi_relay_in_tick();
	}
}

static int listen_on(int type, const char *addr, unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 512) < 0)) {
		gi_log("relay: listening on %s:%u/%s: %s", addr, port,
		       type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int gi_relay_listen(struct gi_relay_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->proxy_fd = listen_on(SOCK_STREAM, "127.0.0.1", EGRESS_GUEST_PROXY_PORT);
	/* any address: REDIRECT in PREROUTING (containers, net.c) sends to the address of the
	 * bridge the connection came in on; route_localnet instead would open every loopback
	 * service of the guest to the containers */
	cfg->transp_fd = listen_on(SOCK_STREAM, "0.0.0.0", EGRESS_GUEST_TRANSPARENT_PORT);
	cfg->dns_udp_fd = listen_on(SOCK_DGRAM, EGRESS_GUEST_ADDR, 53);
	cfg->dns_tcp_fd = listen_on(SOCK_STREAM, EGRESS_GUEST_ADDR, 53);
	cfg->inbound_fd = gi_relay_in_listen();
	return (cfg->proxy_fd >= 0) + (cfg->transp_fd >= 0) + (cfg->dns_udp_fd >= 0) +
	       (cfg->dns_tcp_fd >= 0) + (cfg->inbound_fd >= 0);
}
