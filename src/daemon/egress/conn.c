/* One guest TCP connection through the egress service: the explicit proxy (absolute-URI HTTP
 * and CONNECT tunnels whose TLS SNI must match the CONNECT host) and the transparent relay
 * (decided by the name behind a synthetic address, the TLS SNI on 443 or the Host on 80, or
 * the bare IP), each asked of policy before and again after resolving (blocked ranges), then
 * connected by sbxd itself and spliced with bounded buffers. Denials get a 403 naming the rule
 * and the command that would allow it (explicit proxy) or a reset (transparent). Never
 * connects anywhere policy did not allow for the address it connects to. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "daemon/dns/pool.h"
#include "daemon/egress/egress_int.h"
#include "daemon/egress/mitm.h"
#include "daemon/netpol.h"
#include "daemon/proxy/http_head.h"
#include "daemon/proxy/tls_hello.h"

static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";

/* ---- logging and endings ---- */

static const char *shown_host(const struct eg_conn *c, char *buf, size_t n)
{
	if (c->host[0])
		return c->host;
	pol_addr_format(&c->ip, buf, n);
	return buf;
}

static void log_once(struct eg_conn *c, bool allowed)
{
	char ipbuf[POL_ADDR_STRLEN];
	struct netpol_event ev = {.sandbox = c->sb->name,
				  .host = shown_host(c, ipbuf, sizeof(ipbuf)),
				  .port = c->port,
				  .proxy = c->proxy,
				  .allowed = allowed,
				  .rule = c->rule,
				  .reason = c->reason,
				  .bytes = c->bytes};

	if (c->logged)
		return;
	c->logged = true;
	netpol_log(&ev);
}

/* Close the client side so the guest sees a reset, not an orderly end. */
static void reset_close(struct eg_conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (c->cfd >= 0)
		setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	eg_conn_close(c);
}

/* Answer the explicit-proxy client with @status and @body, then close. */
static void respond(struct eg_conn *c, int status, const char *body)
{
	char resp[2048];
	int n = http_resp_simple(resp, sizeof(resp), status, NULL, body);

	if (c->ufd >= 0) {
		close(c->ufd); /* before eg_conn_update drops its interest: never registered */
		c->ufd = -1;
		c->uev = 0;
	}
	c->u2c.off = c->u2c.len = 0;
	if (n > 0)
		iobuf_put(&c->u2c, resp, (size_t)n);
	c->state = EG_ST_FINISH;
	c->deadline = eg_now_ms() + EG_HEAD_MS;
}

/* The rule that made @v: its name ("allow-3", "preset-balanced") and resource text. */
static void rule_text(const struct netpol_snapshot *s, struct pol_verdict v, char *name,
		      size_t nlen, char *res, size_t rlen)
{
	if (v.rule < 0 || (size_t)v.rule >= s->n) {
		snprintf(name, nlen, "none");
		res[0] = 0;
		return;
	}
	netpol_rule_name(s, &s->rules[v.rule], name, nlen);
	pol_pattern_format(&s->rules[v.rule].pat, res, rlen);
}

/* Policy said no: log, then a 403 (explicit proxy) or a reset (transparent). */
static void deny(struct eg_conn *c, const struct netpol_snapshot *s, struct pol_verdict v,
		 const char *why)
{
	char name[48], res[POL_PATTERN_MAX], body[1400], ipbuf[POL_ADDR_STRLEN];
	const char *h = shown_host(c, ipbuf, sizeof(ipbuf));

	rule_text(s, v, name, sizeof(name), res, sizeof(res));
	snprintf(c->rule, sizeof(c->rule), "%s", res);
	snprintf(c->reason, sizeof(c->reason), "%s", why ? why : v.reason);
	log_once(c, false);
	sbx_log("egress %s: denied %s %s:%u (%s%s%s: %s)", c->sb->name, c->proxy, h, c->port, name,
		res[0] ? " " : "", res, c->reason);
	if (c->kind == EG_TRANSPARENT || c->state == EG_ST_HELLO) {
		reset_close(c);
		return;
	}
	snprintf(body, sizeof(body),
		 "sbx: network policy blocked %s:%u for sandbox %s\n"
		 "decision: deny by %s%s%s%s (%s)\n"
		 "to allow it: sbx policy allow network %s \"%s\"   (every sandbox: -g)\n",
		 h, c->port, c->sb->name, v.rule < 0 ? "default" : "rule ", v.rule < 0 ? "" : name,
		 res[0] ? " " : "", res, c->reason, c->sb->name, h);
	respond(c, 403, body);
	eg_conn_update(c);
}

/* The upstream cannot be reached: 502/504 (explicit proxy) or a reset; logged as allowed. */
static void fail_upstream(struct eg_conn *c, int status, const char *why)
{
	char ipbuf[POL_ADDR_STRLEN], body[512];

	snprintf(c->reason, sizeof(c->reason), "%s", why);
	log_once(c, true);
	if (c->kind == EG_TRANSPARENT) {
		reset_close(c);
		return;
	}
	snprintf(body, sizeof(body), "sbx: %s:%u: %s\n", shown_host(c, ipbuf, sizeof(ipbuf)),
		 c->port, why);
	respond(c, status, body);
	eg_conn_update(c);
}

/* ---- deciding and connecting ---- */

static void try_connect(struct eg_conn *c);

/* First check, before resolving: by name (or bare IP) and port. Return true if allowed. */
static bool decide_early(struct eg_conn *c)
{
	struct netpol_snapshot *s = netpol_get();
	struct pol_verdict v = pol_decide(s->rules, s->n, c->sb->name, c->host[0] ? c->host : NULL,
					  c->host[0] ? NULL : &c->ip, c->port);

	if (v.decision != POL_ALLOW)
		deny(c, s, v, NULL);
	netpol_put(s);
	return v.decision == POL_ALLOW;
}

/* After resolving: keep only the addresses policy allows (blocked ranges), then connect. */
static void decide_addrs(struct eg_conn *c)
{
	struct netpol_snapshot *s = netpol_get();
	struct pol_verdict first = {0}, v;
	size_t kept = 0;

	for (size_t i = 0; i < c->naddrs; i++) {
		v = pol_decide_connect(s->rules, s->n, c->sb->name, c->host[0] ? c->host : NULL,
				       &c->addrs[i], c->port);
		if (v.decision == POL_ALLOW) {
			if (!kept) {
				char name[48], res[POL_PATTERN_MAX];
				rule_text(s, v, name, sizeof(name), res, sizeof(res));
				snprintf(c->rule, sizeof(c->rule), "%s", res);
				snprintf(c->reason, sizeof(c->reason), "%s", v.reason);
			}
			c->addrs[kept++] = c->addrs[i];
		} else if (i == 0 || first.decision == POL_ALLOW) {
			first = v;
		}
	}
	if (!kept) {
		deny(c, s, first, NULL);
		netpol_put(s);
		return;
	}
	netpol_put(s);
	c->naddrs = kept;
	c->ai = 0;
	try_connect(c);
}

static void start_upstream(struct eg_conn *c)
{
	if (!decide_early(c))
		return;
	c->deadline = eg_now_ms() + EG_CONNECT_MS;
	if (!c->host[0]) {
		c->addrs[0] = c->ip;
		c->naddrs = 1;
		decide_addrs(c);
		return;
	}
	if (eg_resolve_submit(c->host, c->id) < 0) {
		fail_upstream(c, 503, "sbxd's resolver is overloaded (try again)");
		return;
	}
	c->state = EG_ST_RESOLVE;
	eg_conn_update(c);
}

void eg_conn_resolved(struct eg_conn *c, int err, const struct pol_addr *addrs, size_t n)
{
	if (err || !n) {
		fail_upstream(c, 502, err == ENOENT ? "no such host" : "cannot resolve the host");
		return;
	}
	memcpy(c->addrs, addrs, n * sizeof(*addrs));
	c->naddrs = n;
	decide_addrs(c);
}

static void try_connect(struct eg_conn *c)
{
	while (c->ai < c->naddrs) {
		const struct pol_addr *a = &c->addrs[c->ai];
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(c->port)};
		struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(c->port)};
		int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int rc;

		if (a->family == AF_INET) {
			memcpy(&s4.sin_addr, a->a, 4);
			rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&s4, sizeof(s4));
		} else {
			memcpy(&s6.sin6_addr, a->a, 16);
			rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&s6, sizeof(s6));
		}
		if (rc == 0 || (rc < 0 && errno == EINPROGRESS)) {
			c->ufd = fd;
			c->state = EG_ST_CONNECT;
			eg_conn_update(c);
			return;
		}
		if (fd >= 0)
			close(fd);
		c->ai++;
	}
	fail_upstream(c, 502, "connection refused or unreachable");
}

/* Start intercepting @c (a host with a bound secret). Return false when @c was closed. */
static bool intercept(struct eg_conn *c)
{
	int rc = eg_mitm_begin(c);

	if (rc < 0) {
		log_once(c, true);
		sbx_log("egress %s: %s:%u: %s", c->sb->name, c->host, c->port, c->reason);
		reset_close(c);
		return false;
	}
	if (rc == 0)
		c->state = EG_ST_SPLICE;
	eg_conn_update(c);
	return true;
}

/* The upstream connection is up. Return false when @c was closed (the head could not be
 * rewritten). */
static bool connected(struct eg_conn *c)
{
	c->deadline = eg_now_ms() + EG_IDLE_MS;
	if (c->kind == EG_PROXY && strcmp(c->proxy, "connect") == 0) {
		c->c2u.off += c->head_len; /* the CONNECT head is ours; the rest is tunnel data */
		iobuf_put(&c->u2c, established, sizeof(established) - 1);
		c->state = EG_ST_HELLO;
	} else if (c->kind == EG_PROXY) {
		char *rw = malloc(HTTP_REWRITE_MAX);
		struct http_req *r = malloc(sizeof(*r));
		size_t rest = iobuf_data(&c->c2u) - c->head_len;
		int n = -1;

		if (rw && r &&
		    http_req_parse((char *)c->c2u.d + c->c2u.off, iobuf_data(&c->c2u), r) == 1)
			n = http_req_rewrite(r, (char *)c->c2u.d + c->c2u.off, rw,
					     HTTP_REWRITE_MAX);
		free(r);
		if (n < 0 || (size_t)n + rest > c->c2u.cap) {
			free(rw);
			fail_upstream(c, 431, "the request head is too large to forward");
			return c->state == EG_ST_FINISH; /* proxy: a 431 is being written */
		}
		memmove(c->c2u.d + n, c->c2u.d + c->c2u.off + c->head_len, rest);
		memcpy(c->c2u.d, rw, (size_t)n);
		c->c2u.off = 0;
		c->c2u.len = (size_t)n + rest;
		free(rw);
		c->state = EG_ST_SPLICE;
	} else if (c->kind == EG_TRANSPARENT && c->port == 443 && c->host[0] && eg_mitm_wanted(c)) {
		return intercept(c);
	} else {
		c->state = EG_ST_SPLICE;
	}
	eg_conn_update(c);
	return true;
}

/* ---- the first bytes ---- */

/* Explicit proxy: the request head is complete (or broken). */
static void proxy_head(struct eg_conn *c)
{
	struct http_req *r = malloc(sizeof(*r));
	int rc;

	if (!r) {
		reset_close(c);
		return;
	}
	rc = http_req_parse((char *)c->c2u.d + c->c2u.off, iobuf_data(&c->c2u), r);
	if (rc == 0 && (c->c_eof || c->c2u.len == c->c2u.cap))
		rc = c->c_eof ? HTTP_E_BAD_REQUEST : HTTP_E_FIELDS_TOO_LARGE;
	if (rc == 0) {
		free(r);
		eg_conn_update(c);
		return;
	}
	if (rc < 0 || r->form == HTTP_FORM_ORIGIN) {
		snprintf(c->reason, sizeof(c->reason), "bad request: %s",
			 rc < 0 && r->why ? r->why : "not a proxy request");
		log_once(c, false);
		respond(c, rc < 0 ? -rc : 400,
			rc < 0 ? "sbx: the proxy could not read this request\n"
			       : "sbx: this is the sandbox's HTTP proxy: send absolute URIs or "
				 "CONNECT\n");
		free(r);
		eg_conn_update(c);
		return;
	}
	c->proxy = r->form == HTTP_FORM_AUTHORITY ? "connect" : "http";
	c->port = r->port;
	c->head_len = r->head_len;
	if (r->host_kind == HTTP_HOST_NAME) {
		snprintf(c->host, sizeof(c->host), "%s", r->host);
	} else if (pol_addr_parse(r->host, &c->ip) < 0) {
		free(r);
		respond(c, 400, "sbx: bad address\n");
		eg_conn_update(c);
		return;
	}
	if (r->host_mismatch) { /* the URI would win, but a filter in between may read Host */
		struct netpol_snapshot *s = netpol_get();
		struct pol_verdict v = {POL_DENY, -1, "Host header mismatch"};

		free(r);
		deny(c, s, v, "the Host header names another host than the request URI");
		netpol_put(s);
		return;
	}
	free(r);
	start_upstream(c);
}

/* Transparent: the name the first bytes claim (TLS SNI on 443, Host on 80), once known. */
static void transparent_decide(struct eg_conn *c, const char *claimed)
{
	if (c->pool_host[0]) {
		if (claimed && claimed[0] && strcmp(claimed, c->pool_host) != 0) {
			struct netpol_snapshot *s = netpol_get();
			struct pol_verdict v = {POL_DENY, -1, "name mismatch"};
			char why[160];

			snprintf(c->host, sizeof(c->host), "%s", c->pool_host);
			snprintf(why, sizeof(why), "the connection names %.60s, not %.40s", claimed,
				 c->pool_host);
			deny(c, s, v, why);
			netpol_put(s);
			return;
		}
		snprintf(c->host, sizeof(c->host), "%s", c->pool_host);
	} else if (claimed && claimed[0]) {
		/* a bare IP with a name inside: judged and connected by the name, never the IP */
		snprintf(c->host, sizeof(c->host), "%s", claimed);
	}
	start_upstream(c);
}

static void transparent_peek(struct eg_conn *c)
{
	const uint8_t *d = c->c2u.d + c->c2u.off;
	size_t n = iobuf_data(&c->c2u);
	bool stuck = c->c_eof || c->c2u.len == c->c2u.cap;
	char name[EG_HOST_MAX + 1] = "";
	int rc;

	if (c->port == 443) {
		rc = tls_hello_sni(d, n, name, sizeof(name));
		if (rc == 0 && !stuck)
			return eg_conn_update(c);
		transparent_decide(c, rc == 1 ? name : NULL);
		return;
	}
	struct http_req *r = malloc(sizeof(*r));
	rc = r ? http_req_parse((const char *)d, n, r) : -1;
	if (rc == 0 && !stuck) {
		free(r);
		eg_conn_update(c);
		return;
	}
	if (rc == 1 && r->form == HTTP_FORM_ORIGIN && r->host_kind == HTTP_HOST_NAME)
		snprintf(name, sizeof(name), "%s", r->host);
	free(r);
	transparent_decide(c, name[0] ? name : NULL);
}

/* Transparent: the header told the original destination. */
static void transparent_orig(struct eg_conn *c)
{
	struct pol_addr a;
	uint16_t port;
	int rc = eg_orig_parse(c->c2u.d + c->c2u.off, iobuf_data(&c->c2u), &a, &port);

	if (rc == 0 && !c->c_eof)
		return eg_conn_update(c);
	if (rc <= 0) {
		reset_close(c); /* not our relay speaking: nothing to log */
		return;
	}
	c->c2u.off += EGRESS_ORIG_LEN;
	c->port = port;
	c->ip = a;
	if (a.family == AF_INET) {
		struct in_addr in;

		memcpy(&in, a.a, 4);
		if (dns_pool_in_range(in) &&
		    dns_pool_lookup(c->sb->pool, in, c->pool_host, sizeof(c->pool_host)) < 0) {
			struct netpol_snapshot *s = netpol_get();
			struct pol_verdict v = {POL_DENY, -1, "unknown synthetic address"};

			deny(c, s, v, "an address sbx's DNS never gave out");
			netpol_put(s);
			return;
		}
	}
	if (port == 443 || port == 80) {
		c->state = EG_ST_PEEK;
		c->deadline = eg_now_ms() + EG_HEAD_MS;
		transparent_peek(c);
		return;
	}
	transparent_decide(c, NULL);
}

/* CONNECT tunnel: the client's first bytes; a TLS SNI must name the CONNECT host. Return false
 * when @c was closed (refused). */
static bool tunnel_hello(struct eg_conn *c)
{
	char sni[EG_HOST_MAX + 1];
	int rc = tls_hello_sni(c->c2u.d + c->c2u.off, iobuf_data(&c->c2u), sni, sizeof(sni));

	if (rc == 0 && !c->c_eof && c->c2u.len < c->c2u.cap)
		return true;
	if (rc == 1 && c->host[0] && strcmp(sni, c->host) != 0) {
		struct netpol_snapshot *s = netpol_get();
		struct pol_verdict v = {POL_DENY, -1, "SNI mismatch"};
		char why[160];

		snprintf(why, sizeof(why), "TLS SNI %.60s is not the CONNECT host", sni);
		c->rule[0] = 0;
		deny(c, s, v, why); /* in a tunnel: a reset, @c is gone */
		netpol_put(s);
		return false;
	}
	if (c->host[0] && eg_mitm_wanted(c)) {
		if (rc != 1) { /* a host with a secret is only reached through interception */
			struct netpol_snapshot *s = netpol_get();
			struct pol_verdict v = {POL_DENY, -1, "no TLS SNI"};

			c->rule[0] = 0;
			deny(c, s, v, "a host with a bound secret needs TLS with its name as SNI");
			netpol_put(s);
			return false;
		}
		return intercept(c);
	}
	c->state = EG_ST_SPLICE;
	return true;
}

/* Run the interception; map its verdict to ours. Return false if @c was closed. */
static bool mitm_run(struct eg_conn *c)
{
	switch (eg_mitm_pump(c)) {
	case EG_MITM_GO:
		return true;
	case EG_MITM_FINISH:
		log_once(c, true);
		c->state = EG_ST_FINISH;
		c->deadline = eg_now_ms() + EG_HEAD_MS;
		return true;
	case EG_MITM_CLOSE:
		break;
	}
	log_once(c, true);
	eg_conn_close(c);
	return false;
}

/* ---- events ---- */

void eg_conn_start(struct eg_conn *c)
{
	c->proxy = c->kind == EG_PROXY ? "http" : "transparent";
	c->state = c->kind == EG_PROXY ? EG_ST_PEEK : EG_ST_ORIG;
	eg_conn_update(c);
}

/* Move bytes both ways; handle EOFs. Return false if @c was closed. */
static bool splice_io(struct eg_conn *c)
{
	if (c->state == EG_ST_MITM)
		return mitm_run(c);
	/* a few rounds while bytes move, so a fast stream costs fewer epoll wake-ups; bounded so
	 * one busy connection cannot starve the others */
	for (int round = 0; round < 8; round++) {
		uint64_t before = c->bytes;
		size_t cin = c->c2u.len, uin = c->u2c.len;
		ssize_t n;

		if (!c->c_eof && c->c2u.len < c->c2u.cap) {
			n = iobuf_read(c->cfd, &c->c2u);
			if (n == 0)
				c->c_eof = true;
			else if (n < 0 && errno != EAGAIN)
				return eg_conn_close(c), false;
		}
		if (c->state == EG_ST_HELLO && iobuf_data(&c->c2u) && !tunnel_hello(c))
			return false;
		if (c->state == EG_ST_MITM)
			return mitm_run(c);
		if (c->state == EG_ST_HELLO && c->c_eof)
			c->state = EG_ST_SPLICE;
		if (!c->u_eof && c->ufd >= 0 && c->u2c.len < c->u2c.cap) {
			n = iobuf_read(c->ufd, &c->u2c);
			if (n == 0)
				c->u_eof = true;
			else if (n < 0 && errno != EAGAIN)
				c->u_eof =
				    true; /* upstream reset: deliver what we have, then close */
		}
		if (c->state == EG_ST_SPLICE && iobuf_write(c->ufd, &c->c2u, &c->bytes) < 0)
			return log_once(c, true), eg_conn_close(c), false;
		if (iobuf_write(c->cfd, &c->u2c, &c->bytes) < 0)
			return log_once(c, true), eg_conn_close(c), false;
		if (c->bytes == before && c->c2u.len == cin && c->u2c.len == uin)
			break;
		c->deadline = eg_now_ms() + EG_IDLE_MS;
	}
	if (c->state == EG_ST_SPLICE && c->c_eof && !iobuf_data(&c->c2u) && !c->u_shut) {
		shutdown(c->ufd, SHUT_WR);
		c->u_shut = true;
	}
	if (c->u_eof && !iobuf_data(&c->u2c) && !c->c_shut) {
		shutdown(c->cfd, SHUT_WR);
		c->c_shut = true;
	}
	/* done: both directions ended, or a plain-HTTP exchange whose response is complete
	 * (the upstream was told Connection: close) */
	if ((c->c_shut && c->u_shut) || (c->c_shut && strcmp(c->proxy, "http") == 0)) {
		log_once(c, true);
		eg_conn_close(c);
		return false;
	}
	return true;
}

void eg_conn_event(struct eg_conn *c, int fd, uint32_t events)
{
	ssize_t n;

	switch (c->state) {
	case EG_ST_ORIG:
	case EG_ST_PEEK:
		n = iobuf_read(c->cfd, &c->c2u);
		if (n == 0)
			c->c_eof = true;
		else if (n < 0 && errno != EAGAIN)
			return eg_conn_close(c);
		if (c->state == EG_ST_ORIG)
			transparent_orig(c);
		else if (c->kind == EG_PROXY)
			proxy_head(c);
		else
			transparent_peek(c);
		return;
	case EG_ST_RESOLVE:
		return;
	case EG_ST_CONNECT: {
		int err = 0;
		socklen_t l = sizeof(err);

		if (fd != c->ufd)
			return;
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err == EINPROGRESS ||
		    (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))))
			return;
		if (err) {
			eg_conn_update(c); /* drops the interest before the fd goes */
			evloop_del(eg_loop(), c->ufd);
			close(c->ufd);
			c->ufd = -1;
			c->uev = 0;
			c->ai++;
			try_connect(c);
			return;
		}
		if (connected(c) && c->state != EG_ST_FINISH && splice_io(c))
			eg_conn_update(c);
		return;
	}
	case EG_ST_HELLO:
	case EG_ST_SPLICE:
	case EG_ST_MITM:
		if (splice_io(c))
			eg_conn_update(c);
		return;
	case EG_ST_FINISH:
		if (iobuf_write(c->cfd, &c->u2c, NULL) < 0 || !iobuf_data(&c->u2c))
			return eg_conn_close(c);
		eg_conn_update(c);
		return;
	}
}

void eg_conn_timeout(struct eg_conn *c)
{
	switch (c->state) {
	case EG_ST_PEEK:
		if (c->kind == EG_TRANSPARENT) {
			c->c_eof = true; /* judge by what we have */
			transparent_peek(c);
			return;
		}
		snprintf(c->reason, sizeof(c->reason), "no request head in time");
		log_once(c, false);
		respond(c, 408, "sbx: no request in time\n");
		eg_conn_update(c);
		return;
	case EG_ST_RESOLVE:
	case EG_ST_CONNECT:
		fail_upstream(c, 504, "timed out resolving or connecting");
		return;
	case EG_ST_HELLO:
	case EG_ST_SPLICE:
	case EG_ST_MITM:
		log_once(c, true);
		eg_conn_close(c);
		return;
	case EG_ST_ORIG:
	case EG_ST_FINISH:
		eg_conn_close(c);
		return;
	}
}
