/* The relay's published ports, guest side: each stream sbxd opens on the inbound listener
 * (vsock PORTS_VSOCK_PORT) carries one src/proto/ports.h header, then a TCP connection's bytes
 * (to 127.0.0.1:port, else [::1]:port) or framed UDP datagrams (to 127.0.0.1:port). Every
 * byte from the host is untrusted and read only through proto/ports.c's parsers; nothing here
 * blocks or stalls another connection. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest/relay_int.h"
#include "proto/ports.h"

#define IN_HDR_MS    10000 /* the header, then the local connect, each within this */
#define IN_TICK_MS   500   /* how often deadlines are looked at */
#define IN_UDP_BURST 64	   /* datagrams read from a server per wake-up (fairness) */
#define GI_CID_ANY   0xffffffffu

/* Connect @c to the server, IPv4 loopback first, then (c->in_v6) IPv6 loopback.
 * Return: 0 connected or in progress (c->hconnecting), -1 when this attempt failed at once. */
static int tcp_attempt(struct rconn *c)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(c->in_port)};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(c->in_port)};
	int fd, r;

	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s6.sin6_addr = in6addr_loopback;
	fd = socket(c->in_v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	if (c->in_v6)
		r = connect(fd, (struct sockaddr *)&s6, sizeof(s6));
	else
		r = connect(fd, (struct sockaddr *)&s4, sizeof(s4));
	if (r < 0 && errno != EINPROGRESS && errno != EINTR) {
		close(fd);
		return -1;
	}
	c->hfd = fd;
	c->hev = 0;
	c->hconnecting = r < 0;
	return 0;
}

/* Go on with @c's connection to the server after its current attempt (if any) failed: the
 * next address, or closing the host stream without a byte (sbxd resets its client). */
static void tcp_next(struct rconn *c)
{
	if (c->hfd >= 0) {
		close(c->hfd); /* also leaves epoll */
		c->hfd = -1;
		c->hev = 0;
		c->hconnecting = false;
		if (c->in_v6) {
			gi_relay_conn_close(c, false);
			return;
		}
		c->in_v6 = true;
	}
	while (tcp_attempt(c) < 0) {
		if (c->in_v6) {
			gi_relay_conn_close(c, false);
			return;
		}
		c->in_v6 = true;
	}
	gi_relay_conn_pump(c); /* connecting: waits; connected: relays what the host sent */
}

/* The server connection's non-blocking connect finished: relay, or try the next address. */
static void tcp_connected(struct rconn *c)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->hfd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
		tcp_next(c);
		return;
	}
	c->hconnecting = false;
	gi_relay_conn_pump(c);
}

/* ---- UDP: one connected socket per host stream, datagrams framed on the stream ---- */

static void udp_arm(struct rconn *c)
{
	uint32_t ce = 0;

	if (!c->c_eof && gi_rb_room(&c->up))
		ce |= EPOLLIN;
	if (c->down.len)
		ce |= EPOLLOUT;
	gi_relay_ep_set(c->cfd, &c->cev, ce, gi_relay_conn_tag(c, T_CFD));
	gi_relay_ep_set(c->hfd, &c->hev, EPOLLIN, gi_relay_conn_tag(c, T_HFD));
}

/* Send the host's complete frames, one datagram each (dropped when the socket would block or
 * the server refused an earlier one). Return: 0, or -1 on a malformed frame. */
static int udp_send(struct rconn *c, long now)
{
	long fl;

	while ((fl = ports_dgram_frame(c->up.b + c->up.off, c->up.len)) > 0) {
		send(c->hfd, c->up.b + c->up.off + 2, (size_t)fl - 2, MSG_DONTWAIT | MSG_NOSIGNAL);
		gi_rb_drop(&c->up, (size_t)fl);
		c->in_ms = now;
	}
	return fl < 0 ? -1 : 0;
}

/* Frame the server's datagrams for the host, whole or not at all (no room: dropped). */
static void udp_recv(struct rconn *c, long now)
{
	for (int i = 0; i < IN_UDP_BURST; i++) {
		uint8_t len[2];
		ssize_t n = recv(c->hfd, R->pkt, PORTS_DGRAM_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno == ECONNREFUSED || errno == EINTR)
				continue; /* an earlier send found no server: nothing to frame */
			return;
		}
		c->in_ms = now;
		if ((size_t)n > PORTS_DGRAM_MAX || gi_rb_room(&c->down) < (size_t)n + 2)
			continue;
		ports_dgram_put_len(len, (size_t)n);
		gi_rb_put(&c->down, len, 2);
		gi_rb_put(&c->down, R->pkt, (size_t)n);
	}
}

static void udp_pump(struct rconn *c)
{
	long now = gi_relay_now_ms();
	int r;

	if (!c->c_eof) {
		r = gi_relay_fill(c->cfd, &c->up);
		if (r < 0)
			goto end;
		c->c_eof = r == 1;
	}
	if (udp_send(c, now) < 0 || c->c_eof)
		goto end; /* malformed, or the host ended the flow */
	udp_recv(c, now);
	if (gi_relay_drain(c->cfd, &c->down) < 0)
		goto end;
	udp_arm(c);
	return;
end:
	gi_relay_conn_close(c, false);
}

static void udp_open(struct rconn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->in_port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		gi_relay_conn_close(c, false);
		return;
	}
	c->hfd = fd;
	c->in_ms = gi_relay_now_ms();
	udp_pump(c);
}

/* ---- the header, and dispatch ---- */

/* Read until the header is complete, then start its TCP or UDP relay. */
static void hdr_pump(struct rconn *c)
{
	uint8_t proto = 0;
	uint16_t port = 0;
	int r = gi_relay_fill(c->cfd, &c->up);

	if (r < 0) {
		gi_relay_conn_close(c, false);
		return;
	}
	c->c_eof = r == 1;
	r = ports_hdr_parse(c->up.b + c->up.off, c->up.len, &proto, &port);
	if (r < 0 || (r == 0 && c->c_eof)) {
		gi_relay_conn_close(c, false); /* malformed or cut short */
		return;
	}
	if (r == 0) {
		gi_relay_conn_arm(c);
		return;
	}
	gi_rb_drop(&c->up, PORTS_HDR_LEN); /* what follows stays queued for the server */
	c->in_port = port;
	c->in_ms = gi_relay_now_ms() + IN_HDR_MS; /* now the deadline of the local connect */
	if (proto == PORTS_PROTO_TCP) {
		c->kind = K_INTCP;
		tcp_next(c);
	} else {
		c->kind = K_INUDP;
		udp_open(c);
	}
}

void gi_relay_in_start(struct rconn *c)
{
	c->in_ms = gi_relay_now_ms() + IN_HDR_MS;
	R->in_timed = true;
	hdr_pump(c);
}

void gi_relay_in_event(struct rconn *c, int what)
{
	switch (c->kind) {
	case K_IN:
		hdr_pump(c);
		break;
	case K_INTCP:
		if (what == T_HFD && c->hconnecting)
			tcp_connected(c);
		else
			gi_relay_conn_pump(c);
		break;
	case K_INUDP:
		udp_pump(c);
		break;
	}
}

bool gi_relay_in_tick(void)
{
	static long next;
	long now = gi_relay_now_ms();
	bool timed = false;

	if (now < next)
		return R->in_timed;
	next = now + IN_TICK_MS;
	for (int i = 0; i < RELAY_CONN_MAX; i++) {
		struct rconn *c = &R->c[i];

		if (c->kind == K_IN || (c->kind == K_INTCP && c->hconnecting)) {
			if (now > c->in_ms)
				gi_relay_conn_close(c, false); /* header or server too slow */
			else
				timed = true;
		} else if (c->kind == K_INUDP) {
			if (now - c->in_ms > PORTS_UDP_IDLE_MS)
				gi_relay_conn_close(c, false); /* idle flow */
			else
				timed = true;
		}
	}
	return timed;
}

int gi_relay_in_listen(void)
{
	struct gi_relay_vsa sa = {
	    .family = GI_AF_VSOCK, .port = PORTS_VSOCK_PORT, .cid = GI_CID_ANY};
	int fd = socket(GI_AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
		gi_log("relay: listening on vsock port %u: %s", PORTS_VSOCK_PORT, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}
