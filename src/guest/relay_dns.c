/* The relay's DNS stub: queries from guest clients (UDP and TCP on 198.18.0.1:53) go in order
 * over one shared EGRESS_PORT_DNS stream to sbxd; answers come back in order (a FIFO of askers).
 * Parses nothing but the DNS length framing and the 12-byte header for SERVFAIL. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest/relay_int.h"
#include "proto/egress.h"

#define DNS_TIMEOUT_MS 5000

/* ---- pure parts (unit-tested, fuzzed) ---- */

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

/* ---- the DNS stub ---- */

/* A DNS-over-TCP client: hand its complete queries to the host stream while there is room. */
int gi_relay_dnstcp_take(struct rconn *c)
{
	for (;;) {
		long fl = gi_dns_frame(c->up.b + c->up.off, c->up.len);
		struct gi_dns_pend p = {.kind = GI_DNS_TCP};

		if (fl < 0)
			return -1;
		if (fl == 0 || !gi_relay_dns_can_take((size_t)fl - 2))
			return 0;
		p.slot = (uint32_t)(c - R->c);
		p.gen = c->gen;
		c->dns_out++;
		gi_relay_dns_submit(c->up.b + c->up.off + 2, (size_t)fl - 2, &p);
		gi_rb_drop(&c->up, (size_t)fl);
	}
}

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
	if (msg == NULL || gi_rb_room(&c->down) < n + 2) {
		if (msg)
			c->broken = true; /* not reading its answers */
		gi_relay_conn_arm(c);
		return;
	}
	gi_rb_put(&c->down, len, 2);
	gi_rb_put(&c->down, msg, n);
	gi_relay_conn_arm(c); /* written when the loop comes round: no re-entry from here */
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
		gi_rb_drop(&d->out, (size_t)fl);
	}
	dns_reset();
}

static void dns_arm(void)
{
	struct dnsh *d = &R->d;
	uint32_t ev = 0;

	if (d->fd >= 0)
		ev = d->connecting ? EPOLLOUT : EPOLLIN | (d->out.len ? EPOLLOUT : 0);
	gi_relay_ep_set(d->fd, &d->ev, ev, T_DNSH);
}

bool gi_relay_dns_can_take(size_t n)
{
	return R->d.q.n < GI_DNS_PEND_MAX && gi_rb_room(&R->d.out) >= n + 2;
}

/* Queue one query (the caller checked dns_can_take), opening the stream if needed. */
void gi_relay_dns_submit(const uint8_t *msg, size_t n, const struct gi_dns_pend *p)
{
	struct dnsh *d = &R->d;
	uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	struct gi_dns_pend e = *p;

	e.deadline_ms = gi_relay_now_ms() + DNS_TIMEOUT_MS;
	gi_rb_put(&d->out, len, 2);
	gi_rb_put(&d->out, msg, n);
	gi_dns_fifo_push(&d->q, &e);
	if (d->fd < 0) {
		d->fd = gi_relay_host_connect(EGRESS_PORT_DNS, &d->connecting);
		if (d->fd < 0) {
			dns_fail_all();
			return;
		}
	}
	dns_arm();
}

void gi_relay_dns_pump(void)
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
	if (gi_relay_drain(d->fd, &d->out) < 0) {
		dns_reset();
		return;
	}
	r = gi_relay_fill(d->fd, &d->in);
	used = gi_dns_answers(d->in.b + d->in.off, d->in.len, &d->q, dns_deliver, NULL);
	if (used < 0 || r != 0 || (d->in.len == RELAY_BUF && used == 0)) {
		if (used < 0)
			gi_log("relay: the host's DNS stream is out of step; reconnecting");
		dns_reset(); /* host closed, errored or misbehaved: reconnect on the next query */
		return;
	}
	gi_rb_drop(&d->in, (size_t)used);
	dns_arm();
}

void gi_relay_dns_udp_read(void)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		struct gi_dns_pend p = {.kind = GI_DNS_UDP};
		ssize_t n = recvfrom(R->cfg->dns_udp_fd, R->pkt, 65535, MSG_DONTWAIT,
				     (struct sockaddr *)&peer, &pl);

		if (n < 0)
			return;
		if (n == 0 || peer.sin_family != AF_INET || !gi_relay_dns_can_take((size_t)n))
			continue; /* empty, or full: dropped, the client retries */
		memcpy(p.peer, &peer, sizeof(peer));
		gi_relay_dns_submit(R->pkt, (size_t)n, &p);
	}
}

/* The oldest query went unanswered too long: the host is stuck, start over. */
void gi_relay_dns_tick(void)
{
	if (R->d.q.n && gi_relay_now_ms() > R->d.q.e[R->d.q.head].deadline_ms) {
		gi_log("relay: no DNS answer from the host in %d s; reconnecting",
		       DNS_TIMEOUT_MS / 1000);
		dns_reset();
	}
}
