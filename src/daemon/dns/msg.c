/* The one place sbxd reads the guest's DNS bytes: TCP framing, query parsing (names with
 * bounded backward compression), answer building and parsing our own answers back. Every read
 * goes through a bounds check against the message length; nothing here allocates, does I/O
 * or consults policy. */
#include <string.h>

#include "daemon/dns/msg.h"

#define F_QR 0x8000u
#define F_RD 0x0100u
#define F_RA 0x0080u
#define F_CD 0x0010u

#define EDNS_DO 0x8000u

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

long dns_tcp_next(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len)
{
	size_t n;

	if (len < 2)
		return 0;
	n = get16(buf);
	if (len - 2 < n)
		return 0;
	*msg = buf + 2;
	*msg_len = n;
	return (long)(n + 2);
}

/*
 * name_read() - read the name at *off into its uncompressed wire form
 *
 * A pointer must target a byte after the header and strictly before the start of the name
 * part that holds it (the name itself, then each earlier target): targets strictly decrease,
 * so no loop can exist, and at most DNS_PTR_JUMPS_MAX are followed. On success *off moves past
 * the name where it sits (past the first pointer, if any). Returns the wire length (>= 1), or
 * -1 if malformed.
 */
static int name_read(const uint8_t *m, size_t len, size_t *off, uint8_t wire[DNS_WIRE_NAME_MAX])
{
	size_t pos = *off, end = 0, wl = 0;
	size_t seg = pos; /* start of the name part being read */
	int jumps = 0;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -1;
		c = m[pos];
		if (c == 0) {
			wire[wl++] = 0; /* room kept by the label check below */
			if (!jumps)
				end = pos + 1;
			break;
		}
		if ((c & 0xC0) == 0xC0) {
			size_t t;

			if (len - pos < 2)
				return -1;
			t = (size_t)(c & 0x3F) << 8 | m[pos + 1];
			if (!jumps)
				end = pos + 2;
			if (t < DNS_HDR_LEN || t >= seg || ++jumps > DNS_PTR_JUMPS_MAX)
				return -1;
			seg = pos = t;
			continue;
		}
		if (c > DNS_LABEL_MAX) /* 0x40 and 0x80: extended label types, refused */
			return -1;
		if (len - pos < 1u + c)
			return -1;
		if (wl + 1u + c + 1u > DNS_WIRE_NAME_MAX)
			return -1;
		memcpy(wire + wl, m + pos, 1u + c);
		wl += 1u + c;
		pos += 1u + c;
	}
	*off = end;
	return (int)wl;
}

/*
 * name_text() - the policy text of a wire name: lowercase labels of [a-z0-9_-] joined by '.'.
 * Returns 0, or -1 for the root name or any other byte (out is then "").
 */
static int name_text(const uint8_t *wire, size_t wl, char out[DNS_NAME_MAX + 1])
{
	size_t i = 0, o = 0;

	out[0] = 0;
	if (wl < 2)
		return -1;
	while (i < wl && wire[i]) {
		size_t n = wire[i++], k;

		if (o)
			out[o++] = '.';
		for (k = 0; k < n; k++) {
			uint8_t ch = wire[i + k];

			if (ch >= 'A' && ch <= 'Z')
				ch = (uint8_t)(ch - 'A' + 'a');
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			      ch == '_')) {
				out[0] = 0;
				return -1;
			}
			out[o++] = (char)ch;
		}
		i += n;
	}
	out[o] = 0;
	return 0;
}

struct rr {
	uint16_t type, class;
	uint32_t ttl;
	size_t rdata, rdlen;
	uint8_t wire[DNS_WIRE_NAME_MAX];
	int wlen;
};

/* rr_read() - one resource record at *off, bounds-checked; 0 and *off past it, or -1. */
static int rr_read(const uint8_t *m, size_t len, size_t *off, struct rr *rr)
{
	size_t p = *off;

	rr->wlen = name_read(m, len, &p, rr->wire);
	if (rr->wlen < 0 || len - p < 10)
		return -1;
	rr->type = get16(m + p);
	rr->class = get16(m + p + 2);
	rr->ttl = get32(m + p + 4);
	rr->rdlen = get16(m + p + 8);
	p += 10;
	if (len - p < rr->rdlen)
		return -1;
	rr->rdata = p;
	*off = p + rr->rdlen;
	return 0;
}

/* edns_take() - note an OPT record of the additional section; -1 if it makes the message bad */
static int edns_take(const struct rr *rr, bool *edns, bool *edns_do, uint16_t *udp,
		     uint8_t *version)
{
	if (*edns || rr->wlen != 1)
		return -1;
	*edns = true;
	*udp = rr->class;
	*version = (uint8_t)(rr->ttl >> 16);
	*edns_do = (rr->ttl & EDNS_DO) != 0;
	return 0;
}

/* records_walk() - walk an+ns+ar records to the end; OPT of the additional section noted */
static int records_walk(const uint8_t *m, size_t len, size_t *off, const uint16_t counts[3],
			struct dns_query *q)
{
	struct rr rr;
	unsigned s, i;

	for (s = 0; s < 3; s++)
		for (i = 0; i < counts[s]; i++) {
			if (rr_read(m, len, off, &rr) < 0)
				return -1;
			if (s == 2 && rr.type == DNS_TYPE_OPT &&
			    edns_take(&rr, &q->edns, &q->edns_do, &q->edns_udp_size,
				      &q->edns_version) < 0)
				return -1;
		}
	return 0;
}

static int parse_answer(struct dns_query *q, uint8_t rcode)
{
	q->rcode = rcode;
	q->name[0] = 0;
	return DNS_PARSE_ANSWER;
}

static int parse_formerr(struct dns_query *q)
{
	q->edns = false; /* RFC 6891: a FORMERR about the message carries no OPT */
	return parse_answer(q, DNS_RCODE_FORMERR);
}

int dns_msg_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
	uint16_t flags, counts[3];
	size_t off = DNS_HDR_LEN;
	int wl;

	memset(q, 0, sizeof(*q));
	if (len < DNS_HDR_LEN)
		return DNS_PARSE_DROP;
	flags = get16(msg + 2);
	if (flags & F_QR)
		return DNS_PARSE_DROP;
	q->id = get16(msg);
	q->opcode = (uint8_t)((flags >> 11) & 0xF);
	q->rd = (flags & F_RD) != 0;
	q->cd = (flags & F_CD) != 0;
	if (q->opcode != DNS_OPCODE_QUERY)
		return parse_answer(q, DNS_RCODE_NOTIMP);
	if (get16(msg + 4) != 1)
		return parse_formerr(q);
	wl = name_read(msg, len, &off, q->qname_wire);
	if (wl < 0 || len - off < 4)
		return parse_formerr(q);
	q->qname_wire_len = (size_t)wl;
	q->qtype = get16(msg + off);
	q->qclass = get16(msg + off + 2);
	off += 4;
	q->has_question = true;
	counts[0] = get16(msg + 6);
	counts[1] = get16(msg + 8);
	counts[2] = get16(msg + 10);
	if (records_walk(msg, len, &off, counts, q) < 0 || off != len)
		return parse_formerr(q);
	if (q->qclass != DNS_CLASS_IN)
		return parse_answer(q, DNS_RCODE_REFUSED);
	if (name_text(q->qname_wire, q->qname_wire_len, q->name) < 0)
		return parse_answer(q, DNS_RCODE_NXDOMAIN);
	return DNS_PARSE_OK;
}

long dns_msg_build(uint8_t *buf, size_t cap, const struct dns_query *q, unsigned rcode,
		   const struct in_addr *addrs, size_t naddrs, uint32_t ttl)
{
	size_t need = DNS_HDR_LEN, i;
	uint16_t flags;
	uint8_t *p = buf;

	if (rcode > 15 || q->qname_wire_len > DNS_WIRE_NAME_MAX ||
	    (q->has_question && q->qname_wire_len == 0))
		return -1;
	if (rcode != DNS_RCODE_NOERROR || !q->has_question || q->qtype != DNS_TYPE_A ||
	    q->qclass != DNS_CLASS_IN || !addrs)
		naddrs = 0;
	if (naddrs > 0xFFFF)
		return -1;
	if (q->has_question)
		need += q->qname_wire_len + 4;
	need += naddrs * 16 + (q->edns ? 11 : 0);
	if (need > cap || need > DNS_MSG_MAX)
		return -1;

	flags = (uint16_t)(F_QR | (unsigned)(q->opcode & 0xF) << 11 | F_RA | rcode);
	if (q->rd)
		flags |= F_RD;
	if (q->cd)
		flags |= F_CD;
	p = put16(p, q->id);
	p = put16(p, flags);
	p = put16(p, q->has_question ? 1 : 0);
	p = put16(p, (uint16_t)naddrs);
	p = put16(p, 0);
	p = put16(p, q->edns ? 1 : 0);
	if (q->has_question) {
		memcpy(p, q->qname_wire, q->qname_wire_len);
		p += q->qname_wire_len;
		p = put16(p, q->qtype);
		p = put16(p, q->qclass);
	}
	for (i = 0; i < naddrs; i++) {
		p = put16(p, 0xC000 | DNS_HDR_LEN);
		p = put16(p, DNS_TYPE_A);
		p = put16(p, DNS_CLASS_IN);
		p = put32(p, ttl);
		p = put16(p, 4);
		memcpy(p, &addrs[i].s_addr, 4); /* already network order */
		p += 4;
	}
	if (q->edns) {
		*p++ = 0; /* root */
		p = put16(p, DNS_TYPE_OPT);
		p = put16(p, DNS_EDNS_UDP_SIZE);
		p = put32(p, q->edns_do ? EDNS_DO : 0); /* ext rcode 0, version 0 */
		p = put16(p, 0);
	}
	return (long)(p - buf);
}

/* wire_eq() - two wire names equal, ASCII case ignored */
static bool wire_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t i;

	if (al != bl)
		return false;
	for (i = 0; i < al; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

int dns_msg_parse_reply(const uint8_t *msg, size_t len, struct dns_reply *r)
{
	size_t off = DNS_HDR_LEN;
	unsigned s, i;
	uint16_t qd;
	struct rr rr;

	memset(r, 0, sizeof(*r));
	if (len < DNS_HDR_LEN)
		return -1;
	r->id = get16(msg);
	r->flags = get16(msg + 2);
	if (!(r->flags & F_QR))
		return -1;
	r->opcode = (uint8_t)((r->flags >> 11) & 0xF);
	r->rcode = (uint8_t)(r->flags & 0xF);
	qd = get16(msg + 4);
	r->ancount = get16(msg + 6);
	if (qd > 1)
		return -1;
	if (qd) {
		int wl = name_read(msg, len, &off, r->qname_wire);

		if (wl < 0 || len - off < 4)
			return -1;
		r->qname_wire_len = (size_t)wl;
		r->qtype = get16(msg + off);
		r->qclass = get16(msg + off + 2);
		off += 4;
		r->has_question = true;
		name_text(r->qname_wire, r->qname_wire_len, r->name);
	}
	for (s = 0; s < 3; s++) {
		unsigned n = get16(msg + 6 + 2 * s);

		for (i = 0; i < n; i++) {
			if (rr_read(msg, len, &off, &rr) < 0)
				return -1;
			if (s == 0 && rr.type == DNS_TYPE_A && rr.class == DNS_CLASS_IN &&
			    rr.rdlen == 4 && r->has_question &&
			    wire_eq(rr.wire, (size_t)rr.wlen, r->qname_wire, r->qname_wire_len)) {
				if (r->naddrs == 0)
					r->ttl = rr.ttl;
				if (r->naddrs < DNS_REPLY_ADDRS_MAX)
					memcpy(&r->addrs[r->naddrs++].s_addr, msg + rr.rdata, 4);
			}
			if (s == 2 && rr.type == DNS_TYPE_OPT) {
				uint8_t version;

				if (edns_take(&rr, &r->edns, &r->edns_do, &r->edns_udp_size,
					      &version) < 0)
					return -1;
			}
		}
	}
	return off == len ? 0 : -1;
}
