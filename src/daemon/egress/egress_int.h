/* The egress service's internals, shared by its files: the per-sandbox state, one
 * connection's state machine data, the resolver and the transparent-header parser. Never
 * included outside src/daemon/egress and its tests. Everything here runs on the egress thread
 * except the resolver's workers (resolve.c), which only see copies. */
#ifndef SBX_DAEMON_EGRESS_EGRESS_INT_H
#define SBX_DAEMON_EGRESS_EGRESS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/iobuf.h"
#include "daemon/dns/msg.h"
#include "daemon/policy/addr.h"
#include "daemon/policy/pattern.h"
#include "proto/egress.h"

#define EG_HOST_MAX   253
#define EG_ADDRS_MAX  8
#define EG_C2U_CAP    (32u << 10) /* holds a whole request head or ClientHello */
#define EG_U2C_CAP    (256u << 10)
#define EG_HEAD_MS    10000	       /* to send a request head / ClientHello / header */
#define EG_CONNECT_MS 15000	       /* resolve + connect */
#define EG_IDLE_MS    (15 * 60 * 1000) /* a tunnel with no byte either way */
#define EG_CONNS_MAX  4096	       /* per sandbox */
#define EG_DNS_TTL    60

enum eg_kind { EG_PROXY, EG_TRANSPARENT, EG_DNS, EG_CA, EG_KINDS };

struct eg_conn;

/* One sandbox being served. */
struct eg_sandbox {
	char name[64];
	int64_t created; /* created_at: global secrets set later do not apply */
	int lfd[EG_KINDS];
	struct dns_pool *pool;
	struct eg_conn *conns; /* every open connection of it */
	unsigned nconns;
	struct eg_sandbox *next;
};

enum eg_state {
	EG_ST_ORIG,    /* transparent: reading struct egress_orig_dst */
	EG_ST_PEEK,    /* reading the request head (proxy) or the first bytes (transparent) */
	EG_ST_RESOLVE, /* waiting for the resolver */
	EG_ST_CONNECT, /* non-blocking connect in progress */
	EG_ST_HELLO,   /* CONNECT tunnel up: the client's first bytes are checked (SNI) */
	EG_ST_SPLICE,  /* bytes both ways */
	EG_ST_FINISH,  /* our own response is being written; then close */
	EG_ST_MITM,    /* TLS intercepted (a bound secret): see mitm.h */
};

struct eg_mitm;

struct eg_conn {
	uint64_t id; /* resolver token */
	struct eg_sandbox *sb;
	enum eg_kind kind;
	enum eg_state state;
	int cfd, ufd;
	uint32_t cev, uev; /* epoll interest registered now (0: not registered) */
	struct iobuf c2u, u2c;
	bool c_eof, u_eof;		 /* read side saw EOF */
	bool c_shut, u_shut;		 /* we sent SHUT_WR to that side */
	long long deadline;		 /* monotonic ms */
	const char *proxy;		 /* "http" | "connect" | "transparent" | "dns" |
					    "intercept" */
	char host[EG_HOST_MAX + 1];	 /* what policy judges: name, or "" for a bare IP */
	char pool_host[EG_HOST_MAX + 1]; /* transparent: the name behind a synthetic address */
	uint16_t port;
	struct pol_addr ip; /* bare-IP destination (host == "") */
	struct pol_addr addrs[EG_ADDRS_MAX];
	size_t naddrs, ai;
	size_t head_len; /* proxy absolute-form: request head bytes replaced by the rewrite */
	bool logged;
	char rule[POL_PATTERN_MAX], reason[160];
	uint64_t bytes;
	struct eg_mitm *mitm; /* EG_ST_MITM: both TLS sessions and the rewriter */
	struct eg_conn *prev, *next;
	struct eg_conn *id_next; /* loop.c's id hash chain (resolver results find it) */
};

/* loop.c */
long long eg_now_ms(void);
struct evloop *eg_loop(void);
void eg_conn_close(struct eg_conn *c);
void eg_conn_update(struct eg_conn *c);

/* conn.c: the proxy and transparent state machine */
void eg_conn_start(struct eg_conn *c);
void eg_conn_event(struct eg_conn *c, int fd, uint32_t events);
void eg_conn_resolved(struct eg_conn *c, int err, const struct pol_addr *addrs, size_t n);
void eg_conn_timeout(struct eg_conn *c);

/* dnssrv.c: one DNS stream */
void eg_dns_event(struct eg_conn *c, int fd, uint32_t events);

/* casrv.c: the proxy-CA handout (src/proto/ca.h) */
/**
 * eg_ca_start() - a new EG_CA stream @c (its u2c holds CA_PEM_MAX bytes): queue sbxd's CA
 * PEM and start sending it; with no CA, close @c at once.
 */
void eg_ca_start(struct eg_conn *c);
/**
 * eg_ca_event() - @c's guest socket is writable (or failed): send more, close when all went.
 */
void eg_ca_event(struct eg_conn *c, int fd, uint32_t events);

/* resolve.c */
typedef void (*eg_resolved_cb)(uint64_t token, int err, const struct pol_addr *addrs, size_t n);
int eg_resolver_start(struct evloop *l, eg_resolved_cb cb);
int eg_resolve_submit(const char *host, uint64_t token);

/* orig.c: the one parser of the transparent stream's header */
/**
 * eg_orig_parse() - decode struct egress_orig_dst from the first @len bytes of @buf.
 * Return: 1 with *@addr and *@port set, 0 when fewer than EGRESS_ORIG_LEN bytes are there,
 * -1 when they are not a valid header (magic, family 4 or 6, reserved 0, port non-zero, an
 * IPv4 address padded with zeros).
 */
int eg_orig_parse(const uint8_t *buf, size_t len, struct pol_addr *addr, uint16_t *port);

#endif
