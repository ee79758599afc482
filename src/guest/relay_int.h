/* The relay's internals shared by its files (relay.c: loop, buffers, egress TCP; relay_dns.c:
 * the DNS stub; relay_in.c: published ports, inbound). Included by those files only: nothing
 * outside the relay may see these names. */
#ifndef SBX_GUEST_RELAY_INT_H
#define SBX_GUEST_RELAY_INT_H

#include "guest/gi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_CONN_MAX 1024
#define RELAY_BUF      (2 + 65535 + 3) /* 64 KiB each way; holds one largest DNS frame */
#define GI_AF_VSOCK    40

/* struct sockaddr_vm, spelled out: musl's headers do not carry <linux/vm_sockets.h>. */
struct gi_relay_vsa {
	unsigned short family;
	unsigned short reserved1;
	unsigned int port, cid;
	unsigned char flags, zero[3];
};

/* A bounded byte queue: data in b[off, off+len). */
struct rbuf {
	uint8_t *b;
	size_t off, len;
};

/* K_IN*: published ports (relay_in.c); the "client" side (cfd) is then the host's stream and
 * the "host" side (hfd) the connection to the server inside the guest. */
enum { K_FREE, K_PROXY, K_TRANSP, K_DNSTCP, K_IN, K_INTCP, K_INUDP };

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
	bool in_v6;	      /* inbound TCP: now trying [::1] */
	uint16_t in_port;     /* inbound: the guest port */
	long in_ms;	      /* inbound: header/connect deadline; UDP: last datagram */
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
enum { T_CFD = 1, T_HFD, T_PROXY_L, T_TRANSP_L, T_DNSU_L, T_DNST_L, T_DNSH, T_IN_L };

struct relay {
	const struct gi_relay_cfg *cfg;
	int ep;
	uint32_t gen;
	bool in_timed; /* inbound connections with a deadline exist: wake up to check it */
	struct rconn c[RELAY_CONN_MAX];
	struct dnsh d;
	uint8_t pkt[RELAY_BUF];
};

/* The relay's one state (relay.c); short name, used everywhere in the relay. */
extern struct relay *gi_relay_state;
#define R gi_relay_state

/* ---- relay.c: buffers, epoll, the TCP pump ---- */

/** gi_relay_now_ms() - CLOCK_MONOTONIC in ms. */
long gi_relay_now_ms(void);

/** gi_rb_room() - free bytes at the end of @r (compacts it when that gains room). */
size_t gi_rb_room(struct rbuf *r);

/** gi_rb_put() - append @n bytes (the caller checked the room). */
void gi_rb_put(struct rbuf *r, const void *p, size_t n);

/** gi_rb_drop() - consume @n bytes from the front of @r. */
void gi_rb_drop(struct rbuf *r, size_t n);

/**
 * gi_relay_ep_set() - register @fd's wanted events @ev (0: remove it, so a hung-up fd cannot
 * spin the loop); *@cur holds what is registered now.
 */
void gi_relay_ep_set(int fd, uint32_t *cur, uint32_t ev, uint64_t tag);

/**
 * gi_relay_host_connect() - connect to the host's egress @port without blocking.
 * Return: the fd (*@pending when the connect is still in progress), or -1.
 */
int gi_relay_host_connect(uint32_t port, bool *pending);

/** gi_relay_fill() - move bytes from @fd into @r. Return: 0, 1 at EOF, -1 on error. */
int gi_relay_fill(int fd, struct rbuf *r);

/** gi_relay_drain() - move bytes from @r to @fd. Return: 0 or -1 on error. */
int gi_relay_drain(int fd, struct rbuf *r);

/** gi_relay_conn_close() - close both sides of @c (@reset: the client with RST), free it. */
void gi_relay_conn_close(struct rconn *c, bool reset);

/** gi_relay_conn_arm() - recompute what @c waits for (the TCP relay's rules). */
void gi_relay_conn_arm(struct rconn *c);

/** gi_relay_conn_tag() - @c's epoll tag for side @what (T_CFD, T_HFD). */
uint64_t gi_relay_conn_tag(const struct rconn *c, int what);

/** gi_relay_conn_pump() - relay @c's bytes both ways now, then re-arm it or close it. */
void gi_relay_conn_pump(struct rconn *c);

/* ---- relay_dns.c ---- */

/** gi_relay_dns_can_take() - true when a @n-byte query fits on the host stream now. */
bool gi_relay_dns_can_take(size_t n);

/** gi_relay_dns_submit() - queue one query (checked with gi_relay_dns_can_take()). */
void gi_relay_dns_submit(const uint8_t *msg, size_t n, const struct gi_dns_pend *p);

/** gi_relay_dnstcp_take() - hand @c's complete queries to the host. Return: 0, -1 bad frame. */
int gi_relay_dnstcp_take(struct rconn *c);

/** gi_relay_dns_pump() - the host DNS stream is ready: send, read and deliver answers. */
void gi_relay_dns_pump(void);

/** gi_relay_dns_udp_read() - take the queries waiting on the UDP stub. */
void gi_relay_dns_udp_read(void);

/** gi_relay_dns_tick() - reset the host stream when its oldest query is overdue. */
void gi_relay_dns_tick(void);

/* ---- relay_in.c ---- */

/** gi_relay_in_start() - a host stream was just accepted into @c (kind K_IN): await its header. */
void gi_relay_in_start(struct rconn *c);

/** gi_relay_in_event() - an epoll event on side @what (T_CFD, T_HFD) of inbound @c. */
void gi_relay_in_event(struct rconn *c, int what);

/**
 * gi_relay_in_tick() - close inbound connections past their deadline (header, connect) and
 * UDP flows idle for PORTS_UDP_IDLE_MS. Return: true while any has a deadline to watch.
 */
bool gi_relay_in_tick(void);

/**
 * gi_relay_in_listen() - the inbound listener: AF_VSOCK, any CID, port PORTS_VSOCK_PORT,
 * non-blocking. Return: its fd, or -1 (one console line).
 */
int gi_relay_in_listen(void);

#endif
