/* sbx-init's egress relay: one event-loop process carrying the guest's TCP (explicit proxy,
 * netfilter-redirected) and DNS (stub, UDP and TCP) over vsock to sbxd (src/proto/egress.h).
 * Parses nothing but the DNS length framing; never blocks, never forks or threads per
 * connection, and no client behaviour ends the loop (a bad client is closed, nothing more). */
#include "guest/gi.h"
#include "proto/egress.h"

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

#define RELAY_CONN_MAX	   1024
#define RELAY_BUF	   (2 + 65535 + 3) /* 64 KiB each way; holds one largest DNS frame */
#define DNS_TIMEOUT_MS	   5000
#define GI_SO_ORIGINAL_DST 80 /* <linux/netfilter_ipv4.h>, absent from musl */
#define GI_AF_VSOCK	   40
#define GI_HOST_CID	   2u

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

long gi_dns_frame(const uint8_t *b, size_t len)
{
	size_t n;

	if (len < 2)
		return 0;
	n = (size_t)b[0] << 8 | b[1];
	if (n == 0)
		return -1;
	return len - 2 >= n ? (long)(n + 2) : 0;
}

size_t gi_dns_servfail(const uint8_t *q, size_t n, uint8_t *out, size_t cap)
{
	if (n < 12 || n > cap)
		return 0;
	memmove(out, q, n);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, keep OPCODE and RD; clear AA, TC */
	out[3] = 0x80 | 2;			  /* RA, RCODE SERVFAIL */
	return n;
}

int gi_dns_fifo_push(struct gi_dns_fifo *f, const struct gi_dns_pend *p)
{
	if (f->n >= GI_DNS_PEND_MAX)
		return -1;
	f->e[(f->head + f->n) % GI_DNS_PEND_MAX] = *p;
	f->n++;
	return 0;
}

int gi_dns_fifo_pop(struct gi_dns_fifo *f, struct gi_dns_pend *p)
{
	if (f->n == 0)
		return -1;
	*p = f->e[f->head];
	f->head = (f->head + 1) % GI_DNS_PEND_MAX;
	f->n--;
	return 0;
}

long gi_dns_answers(const uint8_t *b, size_t len, struct gi_dns_fifo *f, gi_dns_deliver_fn deliver,
		    void *arg)
{
	size_t off = 0;

	for (;;) {
		long fl = gi_dns_frame(b + off, len - off);
		struct gi_dns_pend p;

		if (fl == 0)
			return (long)off;
		if (fl < 0 || gi_dns_fifo_pop(f, &p) < 0)
			return -1;
		deliver(arg, &p, b + off + 2, (size_t)fl - 2);
		off += (size_t)fl;
	}
}

/* ---- the event loop --------------------------------------------------------------------- */

/* A bounded byte queue: data in b[off, off+len). */
struct rbuf {
	uint8_t *b;
	size_t off, len;
};

enum { K_FREE, K_PROXY, K_TRANSP, K_DNSTCP };

/* One client connection and (proxy, transparent) its host stream. */
struct rconn {
	int kind;
	int cfd, hfd;
	uint32_t gen;
	bool hconnecting;     /* non-blocking connect to the host in progress */
	bool c_eof, h_eof;    /* read side reached EOF */
	bool c_shut, h_shut;  /* we sent our FIN to it */
	bool broken;	      /* DNS client not reading its answers: reset at the next look */
	bool h_data;	      /* the host stream delivered at least one byte */
	unsigned dns_out;     /* DNS client: its queries the host has not answered yet */
	uint32_t cev, hev;    /* events registered in epoll (0: not registered) */
	struct rbuf up, down; /* client -> host, host -> client */
};

/* The shared DNS stream to the host. */
struct dnsh {
	int fd;
	bool connecting;
	uint32_t ev;
	struct rbuf out, in;
	struct gi_dns_fifo q;
};

/* epoll tags: bits 0-7 say what, 8-31 the connection slot, 32-63 its generation */
enum { T_CFD = 1, T_HFD, T_PROXY_L, T_TRANSP_L, T_DNSU_L, T_DNST_L, T_DNSH };

static struct relay {
	const struct gi_relay_cfg *cfg;
	int ep;
	uint32_t gen;
	struct rconn c[RELAY_CONN_MAX];
	struct dnsh d;
	uint8_t pkt[RELAY_BUF];
} * R;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t rb_room(struct rbuf *r)
{
	if (r->off && r->off + r->len == RELAY_BUF) {
		memmove(r->b, r->b + r->off, r->len);
		r->off = 0;
	}
	return RELAY_BUF - r->off - r->len;
}

static void rb_put(struct rbuf *r, const void *p, size_t n)
{
	if (r->off + r->len + n > RELAY_BUF) {
		memmove(r->b, r->b + r->off, r->len);
		r->off = 0;
	}
	memcpy(r->b + r->off + r->len, p, n);
	r->len += n;
}

static void rb_drop(struct rbuf *r, size_t n)
{
	r->off += n;
	r->len -= n;
	if (r->len == 0)
		r->off = 0;
}

/* Register @fd's wanted events @ev (0: remove it, so a hung-up fd cannot spin the loop). */
static void ep_set(int fd, uint32_t *cur, uint32_t ev, uint64_t tag)
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
static int host_connect(uint32_t port, bool *pending)
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
	struct {
		sa_family_t family;
		unsigned short reserved1;
		unsigned int port, cid;
		unsigned char flags, zero[3];
	} vsa = {.family = GI_AF_VSOCK, .port = port, .cid = GI_HOST_CID};
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

static void conn_close(struct rconn *c, bool reset)
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

/* Recompute what @c waits for. */
static void conn_arm(struct rconn *c)
{
	uint64_t slot = (uint64_t)c->gen << 32 | (uint64_t)(c - R->c) << 8;
	uint32_t ce = 0, he = 0;

	if (!c->c_eof && rb_room(&c->up))
		ce |= EPOLLIN;
	if (c->down.len)
		ce |= EPOLLOUT;
	if (c->hfd >= 0) {
		if (c->hconnecting)
			he = EPOLLOUT;
		else {
			if (!c->h_eof && rb_room(&c->down))
				he |= EPOLLIN;
			if (c->up.len)
				he |= EPOLLOUT;
		}
	}
	ep_set(c->cfd, &c->cev, ce, slot | T_CFD);
	ep_set(c->hfd, &c->hev, he, slot | T_HFD);
}

/* Move bytes from @fd into @r. Return 0, 1 at EOF, -1 on error. */
static int fill(int fd, struct rbuf *r)
{
	size_t room;

	while ((room = rb_room(r)) > 0) {
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
static int drain(int fd, struct rbuf *r)
{
	while (r->len) {
		ssize_t n = send(fd, r->b + r->off, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			rb_drop(r, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	}
	return 0;
}

static void dns_submit(const uint8_t *msg, size_t n, const struct gi_dns_pend *p);
static bool dns_can_take(size_t n);

/* A DNS-over-TCP client: hand its complete queries to the host stream while there is room. */
static int dnstcp_take(struct rconn *c)
{
	for (;;) {
		long fl = gi_dns_frame(c->up.b + c->up.off, c->up.len);
		struct gi_dns_pend p = {.kind = GI_DNS_TCP};

		if (fl < 0)
			return -1;
		if (fl == 0 || !dns_can_take((size_t)fl - 2))
			return 0;
		p.slot = (uint32_t)(c - R->c);
		p.gen = c->gen;
		c->dns_out++;
		dns_submit(c->up.b + c->up.off + 2, (size_t)fl - 2, &p);
		rb_drop(&c->up, (size_t)fl);
	}
}

/* Do whatever @c can do now, then re-arm it or close it. */
static void conn_pump(struct rconn *c)
{
	int r;

	if (!c->c_eof) {
		r = fill(c->cfd, &c->up);
		if (r < 0)
			goto reset;
		c->c_eof = r == 1;
	}
	if (c->kind == K_DNSTCP) {
		if (dnstcp_take(c) < 0)
			goto reset;
		if (c->broken || drain(c->cfd, &c->down) < 0)
			goto reset;
		if (c->c_eof && c->down.len == 0 && c->dns_out == 0 &&
		    gi_dns_frame(c->up.b + c->up.off, c->up.len) == 0) {
			conn_close(c, false); /* all it asked is answered (or dropped) */
			return;
		}
		conn_arm(c);
		return;
	}
	if (c->hconnecting) {
		conn_arm(c);
		return;
	}
	if (drain(c->hfd, &c->up) < 0)
		goto reset;
	if (c->c_eof && c->up.len == 0 && !c->h_shut) {
		shutdown(c->hfd, SHUT_WR);
		c->h_shut = true;
	}
	if (!c->h_eof) {
		size_t before = c->down.len;

		r = fill(c->hfd, &c->down);
		if (r < 0)
			goto reset;
		c->h_eof = r == 1;
		c->h_data |= c->down.len != before;
	}
	/* transparent: the host ending the stream before a single byte is how sbxd refuses
	 * (policy) or fails to connect: the client gets a reset, as from a firewall */
	if (c->kind == K_TRANSP && c->h_eof && !c->h_data)
		goto reset;
	if (drain(c->cfd, &c->down) < 0)
		goto reset;
	if (c->h_eof && c->down.len == 0 && !c->c_shut) {
		shutdown(c->cfd, SHUT_WR);
		c->c_shut = true;
	}
	if (c->c_shut && c->h_shut) {
		conn_close(c, false);
		return;
	}
	conn_arm(c);
	return;
reset:
	conn_close(c, true);
}

/* The host stream's non-blocking connect finished: go on, or reset the client. */
static void conn_connected(struct rconn *c)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->hfd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
		conn_close(c, true);
		return;
	}
	c->hconnecting = false;
	conn_pump(c);
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
			conn_close(&tmp, true); /* full: reset at once rather than hang */
			continue;
		}
		*c = tmp;
		c->kind = kind;
		c->gen = ++R->gen;
		c->up.b = malloc(RELAY_BUF);
		c->down.b = malloc(RELAY_BUF);
		if (!c->up.b || !c->down.b) {
			conn_close(c, true);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		if (kind == K_DNSTCP) {
			conn_arm(c);
			continue;
		}
		if (kind == K_TRANSP) {
			uint8_t h[EGRESS_ORIG_LEN];

			if (R->cfg->fake_orig_dst)
				od = *R->cfg->fake_orig_dst;
			else if (getsockopt(fd, SOL_IP, GI_SO_ORIGINAL_DST, &od, &ol) < 0) {
				conn_close(c, true); /* not redirected: nowhere to go */
				continue;
			}
			if (gi_egress_hdr((struct sockaddr *)&od, sizeof(od), h) < 0) {
				conn_close(c, true);
				continue;
			}
			rb_put(&c->up, h, sizeof(h));
		}
		c->hfd = host_connect(
		    kind == K_TRANSP ? EGRESS_PORT_TRANSPARENT : EGRESS_PORT_PROXY, &pending);
		if (c->hfd < 0) {
			conn_close(c, true); /* host refuses: the client sees a reset now */
			continue;
		}
		c->hconnecting = pending;
		conn_pump(c);
	}
}

/* ---- DNS ---- */

static void dns_deliver(void *arg, const struct gi_dns_pend *p, const uint8_t *msg, size_t n)
{
	(void)arg;
	if (p->kind == GI_DNS_UDP) {
		if (msg && R->cfg->dns_udp_fd >= 0)
			sendto(R->cfg->dns_udp_fd, msg, n, MSG_DONTWAIT,
			       (const struct sockaddr *)p->peer, sizeof(struct sockaddr_in));
		return;
	}
	if (p->slot >= RELAY_CONN_MAX)
		return;
	struct rconn *c = &R->c[p->slot];
	uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};

	if (c->kind != K_DNSTCP || c->gen != p->gen)
		return; /* that client is gone */
	c->dns_out--;
	if (msg == NULL || rb_room(&c->down) < n + 2) {
		if (msg)
			c->broken = true; /* not reading its answers */
		conn_arm(c);
		return;
	}
	rb_put(&c->down, len, 2);
	rb_put(&c->down, msg, n);
	conn_arm(c); /* written when the loop comes round: no re-entry from here */
}

/* Drop the host stream; queries already sent are lost (their clients retry). */
static void dns_reset(void)
{
	struct dnsh *d = &R->d;

	struct gi_dns_pend p;

	while (gi_dns_fifo_pop(&d->q, &p) == 0)
		dns_deliver(NULL, &p, NULL, 0); /* dropped: the asker stops waiting for it */
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->ev = 0;
	d->connecting = false;
	d->out.off = d->out.len = d->in.off = d->in.len = 0;
}

/* The stream could not be opened: nothing was sent, so the queued frames in d->out are the
 * pending queries in order; answer each with SERVFAIL so resolvers fail fast. */
static void dns_fail_all(void)
{
	struct dnsh *d = &R->d;
	struct gi_dns_pend p;

	while (gi_dns_fifo_pop(&d->q, &p) == 0) {
		long fl = gi_dns_frame(d->out.b + d->out.off, d->out.len);
		size_t n;

		if (fl <= 0)
			break;
		n = gi_dns_servfail(d->out.b + d->out.off + 2, (size_t)fl - 2, R->pkt,
				    sizeof(R->pkt));
		dns_deliver(NULL, &p, n ? R->pkt : NULL, n);
		rb_drop(&d->out, (size_t)fl);
	}
	dns_reset();
}

static void dns_arm(void)
{
	struct dnsh *d = &R->d;
	uint32_t ev = 0;

	if (d->fd >= 0)
		ev = d->connecting ? EPOLLOUT : EPOLLIN | (d->out.len ? EPOLLOUT : 0);
	ep_set(d->fd, &d->ev, ev, T_DNSH);
}

static bool dns_can_take(size_t n)
{
	return R->d.q.n < GI_DNS_PEND_MAX && rb_room(&R->d.out) >= n + 2;
}

/* Queue one query (the caller checked dns_can_take), opening the stream if needed. */
static void dns_submit(const uint8_t *msg, size_t n, const struct gi_dns_pend *p)
{
	struct dnsh *d = &R->d;
	uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	struct gi_dns_pend e = *p;

	e.deadline_ms = now_ms() + DNS_TIMEOUT_MS;
	rb_put(&d->out, len, 2);
	rb_put(&d->out, msg, n);
	gi_dns_fifo_push(&d->q, &e);
	if (d->fd < 0) {
		d->fd = host_connect(EGRESS_PORT_DNS, &d->connecting);
		if (d->fd < 0) {
			dns_fail_all();
			return;
		}
	}
	dns_arm();
}

static void dns_pump(void)
{
	struct dnsh *d = &R->d;
	int r;
	long used;

	if (d->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
			dns_fail_all();
			return;
		}
		d->connecting = false;
	}
	if (drain(d->fd, &d->out) < 0) {
		dns_reset();
		return;
	}
	r = fill(d->fd, &d->in);
	used = gi_dns_answers(d->in.b + d->in.off, d->in.len, &d->q, dns_deliver, NULL);
	if (used < 0 || r != 0 || (d->in.len == RELAY_BUF && used == 0)) {
		if (used < 0)
			gi_log("relay: the host's DNS stream is out of step; reconnecting");
		dns_reset(); /* host closed, errored or misbehaved: reconnect on the next query */
		return;
	}
	rb_drop(&d->in, (size_t)used);
	dns_arm();
}

static void dns_udp_read(void)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		struct gi_dns_pend p = {.kind = GI_DNS_UDP};
		ssize_t n = recvfrom(R->cfg->dns_udp_fd, R->pkt, 65535, MSG_DONTWAIT,
				     (struct sockaddr *)&peer, &pl);

		if (n < 0)
			return;
		if (n == 0 || peer.sin_family != AF_INET || !dns_can_take((size_t)n))
			continue; /* empty, or full: dropped, the client retries */
		memcpy(p.peer, &peer, sizeof(peer));
		dns_submit(R->pkt, (size_t)n, &p);
	}
}

/* The oldest query went unanswered too long: the host is stuck, start over. */
static void dns_tick(void)
{
	if (R->d.q.n && now_ms() > R->d.q.e[R->d.q.head].deadline_ms) {
		gi_log("relay: no DNS answer from the host in %d s; reconnecting",
		       DNS_TIMEOUT_MS / 1000);
		dns_reset();
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
	for (;;) {
		int n = epoll_wait(R->ep, ev, 64, R->d.q.n ? 500 : -1);

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
			case T_DNSU_L:
				dns_udp_read();
				break;
			case T_DNSH:
				if (R->d.fd >= 0)
					dns_pump();
				break;
			case T_HFD:
				if (live && c->hconnecting)
					conn_connected(c);
				else if (live)
					conn_pump(c);
				break;
			case T_CFD:
				if (live)
					conn_pump(c);
				break;
			}
		}
		/* DNS TCP clients blocked on a full host stream, and answers queued above */
		for (int i = 0; i < RELAY_CONN_MAX; i++)
			if (R->c[i].kind == K_DNSTCP &&
			    (R->c[i].up.len || R->c[i].down.len || R->c[i].c_eof || R->c[i].broken))
				conn_pump(&R->c[i]);
		dns_tick();
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
	return (cfg->proxy_fd >= 0) + (cfg->transp_fd >= 0) + (cfg->dns_udp_fd >= 0) +
	       (cfg->dns_tcp_fd >= 0);
}
