/* The policy DNS: one stream from the guest's stub carrying DNS-over-TCP frames. Every query is
 * parsed by src/daemon/dns/msg.c, judged by policy on its name alone (no port, no address yet),
 * and answered here: an allowed name gets a synthetic address from the sandbox's pool (A only;
 * other types NODATA), a denied one NXDOMAIN. Never forwards the guest's bytes anywhere and
 * never answers with a real address. */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "daemon/dns/pool.h"
#include "daemon/egress/egress_int.h"
#include "daemon/netpol.h"

/* Decide and build the answer to one message into @out (after 2 bytes of framing room).
 * Return the answer's length, or 0 to send nothing. */
static size_t answer(struct eg_conn *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	struct dns_query q;
	struct in_addr a;
	unsigned rcode;
	long n;
	int rc = dns_msg_parse(msg, len, &q);

	if (rc == DNS_PARSE_DROP)
		return 0;
	if (rc == DNS_PARSE_ANSWER) {
		rcode = q.rcode;
	} else {
		struct netpol_snapshot *s = netpol_get();
		struct pol_verdict v = pol_decide(s->rules, s->n, c->sb->name, q.name, NULL, 0);
		bool meta = pol_host_blocked(q.name) &&
			    !pol_explicitly_allowed(s->rules, s->n, c->sb->name, q.name, NULL, 0);
		struct netpol_event ev = {.sandbox = c->sb->name,
					  .host = q.name,
					  .proxy = "dns",
					  .allowed = v.decision == POL_ALLOW && !meta,
					  .reason = meta ? "cloud metadata name" : v.reason};
		char res[POL_PATTERN_MAX] = "";

		if (v.rule >= 0 && (size_t)v.rule < s->n)
			pol_pattern_format(&s->rules[v.rule].pat, res, sizeof(res));
		ev.rule = res;
		rcode = ev.allowed ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN;
		netpol_put(s);
		netpol_log(&ev);
		if (ev.allowed && dns_pool_assign(c->sb->pool, q.name, &a) < 0)
			rcode = DNS_RCODE_SERVFAIL;
	}
	n = dns_msg_build(out, cap, &q, rcode, &a, rcode == DNS_RCODE_NOERROR ? 1 : 0, EG_DNS_TTL);
	return n > 0 ? (size_t)n : 0;
}

void eg_dns_event(struct eg_conn *c, int fd, uint32_t events)
{
	uint8_t out[DNS_ANSWER_CAP_MIN + 2];
	const uint8_t *msg;
	size_t mlen;
	long used;
	ssize_t n;

	/* answers first: stop taking queries while the guest does not read */
	if (iobuf_write(c->cfd, &c->u2c, NULL) < 0)
		return eg_conn_close(c);
	if (events & EPOLLIN) {
		n = iobuf_read(c->cfd, &c->c2u);
		if (n == 0 || (n < 0 && errno != EAGAIN)) /* EAGAIN also when c2u is full */
			return eg_conn_close(c);
	}
	while (c->u2c.cap - c->u2c.len >= sizeof(out) &&
	       (used = dns_tcp_next(c->c2u.d + c->c2u.off, iobuf_data(&c->c2u), &msg, &mlen)) > 0) {
		size_t alen = answer(c, msg, mlen, out + 2, sizeof(out) - 2);

		iobuf_consume(&c->c2u, (size_t)used);
		if (!alen)
			continue;
		out[0] = (uint8_t)(alen >> 8);
		out[1] = (uint8_t)alen;
		iobuf_put(&c->u2c, out, alen + 2);
	}
	if (iobuf_write(c->cfd, &c->u2c, NULL) < 0)
		return eg_conn_close(c);
	c->deadline = eg_now_ms() + EG_IDLE_MS;
	eg_conn_update(c);
}
