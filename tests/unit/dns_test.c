/* Unit tests for sbxd's DNS message code and synthetic-address pool: real query bytes (A,
 * AAAA with EDNS, HTTPS, compression), every malformed shape the parser must refuse
 * (pointer loops, forward pointers, truncation at every offset, bad counts, responses,
 * opcodes, label/name limits, bad bytes), answers built byte for byte and parsed back, the
 * TCP framing, and the pool's stable assignment, reverse lookup, LRU recycling and range. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dns/msg.h"
#include "daemon/dns/pool.h"
#include "t.h"

/* dig-style queries, bytes as a stub sends them */
static const uint8_t q_a_plain[] = {0x1a, 0x2b, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
				    0x00, 0x00, 0x00, 0x03, 'w',  'w',	'w',  0x07, 'E',
				    'x',  'a',	'm',  'p',  'l',  'e',	0x03, 'C',  'O',
				    'M',  0x00, 0x00, 0x01, 0x00, 0x01};
static const uint8_t q_aaaa_opt[] = {
    0xbe, 0xef, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07,
    'e',  'x',	'a',  'm',  'p',  'l',	'e',  0x03, 'c',  'o',	'm',  0x00, 0x00,
    0x1c, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x0a, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
/* A query whose additional section names the question by pointer 0xC00C, then an OPT */
static const uint8_t q_compressed[] = {
    0x77, 0x77, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 'r',	'e',  'g',
    'i',  's',	't',  'r',  'y',  0x05, 'n',  'p',  'm',  'j',	's',  0x03, 'o',  'r',	'g',  0x00,
    0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04,
    0xc6, 0x12, 0x01, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

/* A small query writer: header, then raw pieces appended by the test. */
struct qb {
	uint8_t b[1024];
	size_t n;
};

static void qb_hdr(struct qb *q, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		   uint16_t ar)
{
	uint16_t v[6] = {id, flags, qd, an, ns, ar};
	int i;

	q->n = 0;
	for (i = 0; i < 6; i++) {
		q->b[q->n++] = (uint8_t)(v[i] >> 8);
		q->b[q->n++] = (uint8_t)v[i];
	}
}

static void qb_raw(struct qb *q, const void *p, size_t n)
{
	memcpy(q->b + q->n, p, n);
	q->n += n;
}

static void qb_u16(struct qb *q, uint16_t v)
{
	q->b[q->n++] = (uint8_t)(v >> 8);
	q->b[q->n++] = (uint8_t)v;
}

/* qb_name() - dotted text to wire labels (no escaping: a label is what lies between dots) */
static void qb_name(struct qb *q, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		q->b[q->n++] = (uint8_t)l;
		qb_raw(q, name, l);
		name += l + (dot ? 1 : 0);
	}
	q->b[q->n++] = 0;
}

/* a whole A/IN query for name */
static void qb_query(struct qb *q, const char *name, uint16_t qtype)
{
	qb_hdr(q, 0x1234, 0x0100, 1, 0, 0, 0);
	qb_name(q, name);
	qb_u16(q, qtype);
	qb_u16(q, DNS_CLASS_IN);
}

/* parse from an exact-size heap copy, so the ASan build catches any over-read */
static int parse(const uint8_t *m, size_t n, struct dns_query *q)
{
	uint8_t *c = malloc(n ? n : 1);
	int r;

	memcpy(c, m, n);
	r = dns_msg_parse(c, n, q);
	free(c);
	return r;
}

TEST(parse_real_a)
{
	struct dns_query q;

	CHECK_EQ(parse(q_a_plain, sizeof(q_a_plain), &q), DNS_PARSE_OK);
	CHECK_EQ(q.id, 0x1a2b);
	CHECK_STR(q.name, "www.example.com");
	CHECK_EQ(q.qtype, DNS_TYPE_A);
	CHECK_EQ(q.qclass, DNS_CLASS_IN);
	CHECK(q.rd);
	CHECK(!q.edns);
	CHECK(q.has_question);
	CHECK_EQ(q.qname_wire_len, 17);
	CHECK(memcmp(q.qname_wire, q_a_plain + 12, 17) == 0); /* original case kept */
}

TEST(parse_real_aaaa_opt)
{
	struct dns_query q;

	CHECK_EQ(parse(q_aaaa_opt, sizeof(q_aaaa_opt), &q), DNS_PARSE_OK);
	CHECK_EQ(q.id, 0xbeef);
	CHECK_STR(q.name, "example.com");
	CHECK_EQ(q.qtype, DNS_TYPE_AAAA);
	CHECK(q.edns);
	CHECK(!q.edns_do);
	CHECK_EQ(q.edns_udp_size, 1232);
	CHECK_EQ(q.edns_version, 0);
}

TEST(parse_https_with_do)
{
	struct qb b;
	struct dns_query q;
	static const uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};

	qb_hdr(&b, 0x42, 0x0100, 1, 0, 0, 1);
	qb_name(&b, "api.anthropic.com");
	qb_u16(&b, DNS_TYPE_HTTPS);
	qb_u16(&b, DNS_CLASS_IN);
	qb_raw(&b, opt, sizeof(opt));
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_OK);
	CHECK_EQ(q.qtype, 65);
	CHECK(q.edns);
	CHECK(q.edns_do);
	CHECK_EQ(q.edns_udp_size, 4096);
}

TEST(parse_compressed_additional)
{
	struct dns_query q;

	CHECK_EQ(parse(q_compressed, sizeof(q_compressed), &q), DNS_PARSE_OK);
	CHECK_STR(q.name, "registry.npmjs.org");
	CHECK(q.edns);
}

/* question name = bytes p, then type A class IN; parse result and rcode */
static int parse_qname_bytes(const uint8_t *p, size_t n, struct dns_query *q)
{
	struct qb b;

	qb_hdr(&b, 0x5555, 0x0100, 1, 0, 0, 0);
	qb_raw(&b, p, n);
	qb_u16(&b, DNS_TYPE_A);
	qb_u16(&b, DNS_CLASS_IN);
	return parse(b.b, b.n, q);
}

/*
 * chain_msg() - a query "x" A with two additional records: the first (type 99) carries in its
 * data a chain of chain_len pointers, slot 0 pointing at the question's name and slot k at
 * slot k-1; the second is named by a pointer to the last slot, so reading its name takes
 * chain_len + 1 jumps, each strictly backward. Returns the message length.
 */
static size_t chain_msg(struct qb *b, int chain_len)
{
	size_t rd;
	int k;

	qb_hdr(b, 0x1234, 0x0100, 1, 0, 0, 2);
	qb_name(b, "x");
	qb_u16(b, DNS_TYPE_A);
	qb_u16(b, DNS_CLASS_IN);
	b->b[b->n++] = 0; /* record 1: root name, type 99, class IN, ttl 0 */
	qb_u16(b, 99);
	qb_u16(b, DNS_CLASS_IN);
	qb_u16(b, 0);
	qb_u16(b, 0);
	qb_u16(b, (uint16_t)(2 * chain_len));
	rd = b->n;
	for (k = 0; k < chain_len; k++)
		qb_u16(b, (uint16_t)(0xc000 | (k == 0 ? DNS_HDR_LEN : rd + 2 * (size_t)(k - 1))));
	qb_u16(b, (uint16_t)(0xc000 | (rd + 2 * (size_t)(chain_len - 1)))); /* record 2 */
	qb_u16(b, 99);
	qb_u16(b, DNS_CLASS_IN);
	qb_u16(b, 0);
	qb_u16(b, 0);
	qb_u16(b, 0);
	return b->n;
}

TEST(pointer_rules)
{
	struct dns_query q;
	/* the question's own first byte pointing at itself */
	static const uint8_t self[] = {0xc0, 0x0c};
	/* foo then a pointer back to the start of this very name: a loop */
	static const uint8_t loop[] = {3, 'f', 'o', 'o', 0xc0, 0x0c};
	/* a pointer into the header */
	static const uint8_t hdr[] = {0xc0, 0x02};
	/* forward: points at a valid name placed after it (offset 14) */
	static const uint8_t fwd[] = {0xc0, 0x0e, 1, 'a', 0};
	/* labels 0x40 and 0x80 are extended types, refused */
	static const uint8_t ext40[] = {0x41, 'a', 0};
	static const uint8_t ext80[] = {0x81, 'a', 0};
	struct qb b;

	CHECK_EQ(parse_qname_bytes(self, sizeof(self), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ(q.id, 0x5555);
	CHECK(!q.has_question);
	CHECK_EQ(parse_qname_bytes(loop, sizeof(loop), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ(parse_qname_bytes(hdr, sizeof(hdr), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ(parse_qname_bytes(fwd, sizeof(fwd), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ(parse_qname_bytes(ext40, sizeof(ext40), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ(parse_qname_bytes(ext80, sizeof(ext80), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);

	/* two additional records pointing at each other (one must be forward) */
	qb_query(&b, "a.b", DNS_TYPE_A);
	b.b[11] = 2;
	{
		size_t r1 = b.n; /* record 1 at r1: pointer to r2 */
		uint8_t rec[] = {0xc0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};

		rec[1] = (uint8_t)(r1 + sizeof(rec));
		qb_raw(&b, rec, sizeof(rec));
		rec[1] = (uint8_t)r1;
		qb_raw(&b, rec, sizeof(rec));
	}
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK(q.has_question); /* the question itself was fine */

	/* backward pointer chains: 16 jumps pass, 17 do not */
	CHECK_EQ(parse(b.b, chain_msg(&b, 15), &q), DNS_PARSE_OK);
	CHECK_EQ(parse(b.b, chain_msg(&b, 16), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
}

TEST(truncated_every_prefix)
{
	const uint8_t *msgs[] = {q_a_plain, q_aaaa_opt, q_compressed};
	size_t lens[] = {sizeof(q_a_plain), sizeof(q_aaaa_opt), sizeof(q_compressed)};
	struct dns_query q;
	size_t m, k;

	for (m = 0; m < 3; m++) {
		CHECK_EQ(parse(msgs[m], lens[m], &q), DNS_PARSE_OK);
		for (k = 0; k < lens[m]; k++) {
			int r = parse(msgs[m], k, &q);

			if (k < DNS_HDR_LEN) {
				CHECK_EQ(r, DNS_PARSE_DROP);
			} else {
				CHECK_EQ(r, DNS_PARSE_ANSWER);
				CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
				CHECK(!q.edns);
			}
		}
	}
}

TEST(header_rules)
{
	struct dns_query q;
	struct qb b;

	/* too short for a header */
	CHECK_EQ(parse(q_a_plain, 11, &q), DNS_PARSE_DROP);
	/* QDCOUNT 0 and 2 */
	qb_query(&b, "example.com", DNS_TYPE_A);
	b.b[5] = 0;
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ(q.id, 0x1234);
	b.b[5] = 2;
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	b.b[5] = 1;
	/* a response is never answered */
	b.b[2] |= 0x80;
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_DROP);
	b.b[2] &= 0x7f;
	/* opcode 2 (STATUS) and 5 (UPDATE) */
	b.b[2] = (uint8_t)(b.b[2] | 2 << 3);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NOTIMP);
	CHECK_EQ(q.opcode, 2);
	CHECK(!q.has_question);
	b.b[2] = (uint8_t)((b.b[2] & 0x87) | 5 << 3);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NOTIMP);
	b.b[2] &= 0x87;
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_OK);
	/* one trailing byte */
	b.b[b.n] = 0;
	CHECK_EQ(parse(b.b, b.n + 1, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	/* ancount claims a record that is not there */
	b.b[7] = 1;
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	/* class CH (version.bind probes): REFUSED, question echoed */
	qb_hdr(&b, 7, 0, 1, 0, 0, 0);
	qb_name(&b, "version.bind");
	qb_u16(&b, DNS_TYPE_TXT);
	qb_u16(&b, 3);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_REFUSED);
	CHECK(q.has_question);
	CHECK(!q.rd);
}

TEST(edns_rules)
{
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	static const uint8_t opt_named[] = {1, 'a', 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	struct dns_query q;
	struct qb b;

	qb_hdr(&b, 9, 0x0100, 1, 0, 0, 2);
	qb_name(&b, "example.com");
	qb_u16(&b, DNS_TYPE_A);
	qb_u16(&b, DNS_CLASS_IN);
	qb_raw(&b, opt, sizeof(opt));
	qb_raw(&b, opt, sizeof(opt));
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	CHECK(!q.edns); /* the FORMERR answer carries no OPT */
	qb_hdr(&b, 9, 0x0100, 1, 0, 0, 1);
	qb_name(&b, "example.com");
	qb_u16(&b, DNS_TYPE_A);
	qb_u16(&b, DNS_CLASS_IN);
	qb_raw(&b, opt_named, sizeof(opt_named));
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	/* an OPT in the answer section is just a record: ignored */
	qb_hdr(&b, 9, 0x0100, 1, 1, 0, 0);
	qb_name(&b, "example.com");
	qb_u16(&b, DNS_TYPE_A);
	qb_u16(&b, DNS_CLASS_IN);
	qb_raw(&b, opt, sizeof(opt));
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_OK);
	CHECK(!q.edns);
}

TEST(name_limits)
{
	char name[400], l63[64], l64[65];
	struct dns_query q;
	struct qb b;

	memset(l63, 'a', 63);
	l63[63] = 0;
	memset(l64, 'b', 64);
	l64[64] = 0;
	snprintf(name, sizeof(name), "%s.x", l63);
	qb_query(&b, name, DNS_TYPE_A);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_OK);
	CHECK_STR(q.name, name);
	snprintf(name, sizeof(name), "%s.x", l64); /* length byte 0x40: refused */
	qb_query(&b, name, DNS_TYPE_A);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	/* 63+63+63+61 label bytes + 4 length bytes + 1 = 255 on the wire, 253 as text */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	qb_query(&b, name, DNS_TYPE_A);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_OK);
	CHECK_EQ(strlen(q.name), 253);
	CHECK_EQ(q.qname_wire_len, 255);
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", l63, l63, l63, l63); /* 256 */
	qb_query(&b, name, DNS_TYPE_A);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	/* the same limit reached through a pointer: an additional record named k x "a" then a
	 * pointer to the question "x": 2k + 3 wire bytes, so 126 pass and 127 do not */
	{
		int k, i;

		for (k = 126; k <= 127; k++) {
			qb_hdr(&b, 1, 0x0100, 1, 0, 0, 1);
			qb_name(&b, "x");
			qb_u16(&b, DNS_TYPE_A);
			qb_u16(&b, DNS_CLASS_IN);
			for (i = 0; i < k; i++)
				qb_raw(&b, "\1a", 2);
			qb_u16(&b, 0xc000 | DNS_HDR_LEN);
			qb_raw(&b, "\0\x63\0\1\0\0\0\0\0\0", 10);
			CHECK_EQ(parse(b.b, b.n, &q), k == 126 ? DNS_PARSE_OK : DNS_PARSE_ANSWER);
		}
		CHECK_EQ(q.rcode, DNS_RCODE_FORMERR);
	}
}

TEST(name_text_rules)
{
	static const uint8_t dot_in_label[] = {3, 'a', '.', 'b', 3, 'c', 'o', 'm', 0};
	static const uint8_t nul_in_label[] = {3, 'a', 0, 'b', 3, 'c', 'o', 'm', 0};
	static const uint8_t root[] = {0};
	static const uint8_t high[] = {2, 'a', 0xc3, 0};
	struct dns_query q;
	struct qb b;

	qb_query(&b, "_Acme-Challenge.WWW.Example.org", DNS_TYPE_TXT);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_OK);
	CHECK_STR(q.name, "_acme-challenge.www.example.org");
	/* a '.' inside a label must never read as a separator: NXDOMAIN, no policy text */
	CHECK_EQ(parse_qname_bytes(dot_in_label, sizeof(dot_in_label), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NXDOMAIN);
	CHECK(q.has_question);
	CHECK_STR(q.name, "");
	CHECK_EQ(parse_qname_bytes(nul_in_label, sizeof(nul_in_label), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NXDOMAIN);
	CHECK_EQ(parse_qname_bytes(high, sizeof(high), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NXDOMAIN);
	CHECK_EQ(parse_qname_bytes(root, sizeof(root), &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NXDOMAIN);
	qb_query(&b, "*.example.com", DNS_TYPE_A);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NXDOMAIN);
	qb_query(&b, "a b.com", DNS_TYPE_A);
	CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_ANSWER);
	CHECK_EQ(q.rcode, DNS_RCODE_NXDOMAIN);
}

TEST(build_a_bytes)
{
	static const uint8_t want[] = {
	    0x1a, 0x2b, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, /* hdr */
	    0x03, 'w',	'w',  'w',  0x07, 'E',	'x',  'a',  'm',  'p',	'l',  'e',
	    0x03, 'C',	'O',  'M',  0x00, 0x00, 0x01, 0x00, 0x01, /* question as sent */
	    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04,
	    198,  18,	1,    1,    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	    0x00, 0x3c, 0x00, 0x04, 198,  18,	1,    2};
	struct in_addr a[2];
	struct dns_query q;
	struct dns_reply r;
	uint8_t out[512];
	long n;

	inet_pton(AF_INET, "198.18.1.1", &a[0]);
	inet_pton(AF_INET, "198.18.1.2", &a[1]);
	CHECK_EQ(parse(q_a_plain, sizeof(q_a_plain), &q), DNS_PARSE_OK);
	n = dns_msg_build(out, sizeof(out), &q, DNS_RCODE_NOERROR, a, 2, 60);
	CHECK_EQ(n, sizeof(want));
	CHECK(n == (long)sizeof(want) && memcmp(out, want, sizeof(want)) == 0);
	CHECK_EQ(dns_msg_parse_reply(out, (size_t)n, &r), 0);
	CHECK_EQ(r.id, 0x1a2b);
	CHECK_EQ(r.rcode, 0);
	CHECK_EQ(r.flags & 0x0400, 0); /* AA clear */
	CHECK_STR(r.name, "www.example.com");
	CHECK_EQ(r.naddrs, 2);
	CHECK_EQ(r.addrs[1].s_addr, a[1].s_addr);
	CHECK_EQ(r.ttl, 60);
	CHECK(!r.edns);
	/* our own parser refuses it as a query */
	CHECK_EQ(parse(out, (size_t)n, &q), DNS_PARSE_DROP);
}

TEST(build_nxdomain_nodata_opt)
{
	struct in_addr a;
	struct dns_query q;
	struct dns_reply r;
	uint8_t out[512];
	long n;

	inet_pton(AF_INET, "198.18.1.1", &a);
	/* denied: NXDOMAIN, question echoed, no answers, OPT added with UDP 1232 */
	CHECK_EQ(parse(q_aaaa_opt, sizeof(q_aaaa_opt), &q), DNS_PARSE_OK);
	n = dns_msg_build(out, sizeof(out), &q, DNS_RCODE_NXDOMAIN, NULL, 0, 60);
	CHECK_EQ(n, 12 + 17 + 11);
	CHECK_EQ(dns_msg_parse_reply(out, (size_t)n, &r), 0);
	CHECK_EQ(r.id, 0xbeef);
	CHECK_EQ(r.rcode, DNS_RCODE_NXDOMAIN);
	CHECK_EQ(r.ancount, 0);
	CHECK_EQ(r.qtype, DNS_TYPE_AAAA);
	CHECK_STR(r.name, "example.com");
	CHECK(r.edns);
	CHECK_EQ(r.edns_udp_size, DNS_EDNS_UDP_SIZE);
	CHECK_EQ(r.flags, 0x8000 | 0x0100 | 0x0080 | 3); /* QR RD RA, AD not copied */
	/* allowed AAAA: NODATA even when addresses are offered */
	n = dns_msg_build(out, sizeof(out), &q, DNS_RCODE_NOERROR, &a, 1, 60);
	CHECK_EQ(dns_msg_parse_reply(out, (size_t)n, &r), 0);
	CHECK_EQ(r.rcode, 0);
	CHECK_EQ(r.ancount, 0);
	CHECK_EQ(r.naddrs, 0);
	/* DO copied into the answer's OPT */
	q.edns_do = true;
	n = dns_msg_build(out, sizeof(out), &q, DNS_RCODE_NOERROR, NULL, 0, 60);
	CHECK_EQ(dns_msg_parse_reply(out, (size_t)n, &r), 0);
	CHECK(r.edns_do);
	/* NOTIMP for opcode 2: opcode copied, no question */
	{
		uint8_t m[sizeof(q_a_plain)];

		memcpy(m, q_a_plain, sizeof(m));
		m[2] = (uint8_t)(m[2] | 2 << 3);
		CHECK_EQ(parse(m, sizeof(m), &q), DNS_PARSE_ANSWER);
		n = dns_msg_build(out, sizeof(out), &q, q.rcode, NULL, 0, 0);
		CHECK_EQ(n, 12);
		CHECK_EQ(dns_msg_parse_reply(out, (size_t)n, &r), 0);
		CHECK_EQ(r.opcode, 2);
		CHECK_EQ(r.rcode, DNS_RCODE_NOTIMP);
		CHECK(!r.has_question);
		CHECK_EQ(r.id, 0x1a2b);
	}
}

TEST(build_limits)
{
	struct in_addr a[15];
	struct dns_query q;
	uint8_t out[600];
	long n;
	int i;

	for (i = 0; i < 15; i++)
		a[i].s_addr = htonl(0xC6120101u + (uint32_t)i);
	CHECK_EQ(parse(q_a_plain, sizeof(q_a_plain), &q), DNS_PARSE_OK);
	n = dns_msg_build(out, sizeof(out), &q, 0, a, 1, 1);
	CHECK_EQ(n, 12 + 21 + 16);
	CHECK_EQ(dns_msg_build(out, (size_t)n - 1, &q, 0, a, 1, 1), -1);
	CHECK_EQ(dns_msg_build(out, (size_t)n, &q, 0, a, 1, 1), n);
	CHECK_EQ(dns_msg_build(out, sizeof(out), &q, 16, NULL, 0, 1), -1);
	/* the longest question with OPT and 14 addresses fits in 512 */
	{
		struct qb b;
		char name[300], l63[64];

		memset(l63, 'a', 63);
		l63[63] = 0;
		snprintf(name, sizeof(name), "%s.%s.%s.%.61s", l63, l63, l63, l63);
		qb_hdr(&b, 1, 0, 1, 0, 0, 1);
		qb_name(&b, name);
		qb_u16(&b, DNS_TYPE_A);
		qb_u16(&b, DNS_CLASS_IN);
		qb_raw(&b, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
		CHECK_EQ(parse(b.b, b.n, &q), DNS_PARSE_OK);
		n = dns_msg_build(out, DNS_ANSWER_CAP_MIN, &q, 0, a, 14, 1);
		CHECK_EQ(n, 12 + 259 + 14 * 16 + 11);
		CHECK_EQ(dns_msg_build(out, DNS_ANSWER_CAP_MIN, &q, 0, a, 15, 1), -1);
	}
}

TEST(tcp_framing)
{
	uint8_t s[2 + sizeof(q_a_plain) + 2 + sizeof(q_aaaa_opt) + 3];
	const uint8_t *m;
	size_t ml, off = 0, k;
	long n;

	s[0] = 0;
	s[1] = sizeof(q_a_plain);
	memcpy(s + 2, q_a_plain, sizeof(q_a_plain));
	k = 2 + sizeof(q_a_plain);
	s[k] = 0;
	s[k + 1] = sizeof(q_aaaa_opt);
	memcpy(s + k + 2, q_aaaa_opt, sizeof(q_aaaa_opt));
	k += 2 + sizeof(q_aaaa_opt);
	s[k] = 0; /* a zero-length frame, then one byte of the next length */
	s[k + 1] = 0;
	s[k + 2] = 0xff;

	/* every prefix shorter than the first frame needs more */
	for (k = 0; k < 2 + sizeof(q_a_plain); k++)
		CHECK_EQ(dns_tcp_next(s, k, &m, &ml), 0);
	n = dns_tcp_next(s, sizeof(s), &m, &ml);
	CHECK_EQ(n, 2 + sizeof(q_a_plain));
	CHECK(m == s + 2 && ml == sizeof(q_a_plain));
	off += (size_t)n;
	n = dns_tcp_next(s + off, sizeof(s) - off, &m, &ml);
	CHECK_EQ(n, 2 + sizeof(q_aaaa_opt));
	CHECK_EQ(ml, sizeof(q_aaaa_opt));
	off += (size_t)n;
	n = dns_tcp_next(s + off, sizeof(s) - off, &m, &ml);
	CHECK_EQ(n, 2);
	CHECK_EQ(ml, 0);
	off += (size_t)n;
	CHECK_EQ(dns_tcp_next(s + off, sizeof(s) - off, &m, &ml), 0);
	/* the largest frame */
	{
		uint8_t *big = calloc(1, 2 + DNS_MSG_MAX);

		big[0] = 0xff;
		big[1] = 0xff;
		CHECK_EQ(dns_tcp_next(big, 1 + DNS_MSG_MAX, &m, &ml), 0);
		CHECK_EQ(dns_tcp_next(big, 2 + DNS_MSG_MAX, &m, &ml), 2 + DNS_MSG_MAX);
		CHECK_EQ(ml, DNS_MSG_MAX);
		free(big);
	}
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static const char *ntoa(struct in_addr a)
{
	static char b[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, b[i], sizeof(b[i]));
}

/* pool_new() - a pool the test cannot go on without */
static struct dns_pool *pool_new(size_t capacity)
{
	struct dns_pool *p = dns_pool_new(capacity);

	if (!p) {
		perror("dns_pool_new");
		exit(1);
	}
	return p;
}

TEST(pool_stable_and_lookup)
{
	struct dns_pool *p = dns_pool_new(100);
	struct in_addr a, b, a2;
	char name[DNS_NAME_MAX + 1];

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ(dns_pool_assign(p, "api.anthropic.com", &a), 0);
	CHECK_EQ(dns_pool_assign(p, "github.com", &b), 0);
	CHECK_EQ(dns_pool_assign(p, "api.anthropic.com", &a2), 0);
	CHECK_STR(ntoa(a), "198.18.1.1");
	CHECK_STR(ntoa(b), "198.18.1.2");
	CHECK_EQ(a.s_addr, a2.s_addr);
	CHECK_EQ(dns_pool_count(p), 2);
	CHECK_EQ(dns_pool_lookup(p, a, name, sizeof(name)), 0);
	CHECK_STR(name, "api.anthropic.com");
	CHECK_EQ(dns_pool_lookup(p, b, name, sizeof(name)), 0);
	CHECK_STR(name, "github.com");
	/* unknown: never assigned, reserved /24, .0/.255, outside the /15 */
	CHECK_EQ(dns_pool_lookup(p, ip("198.18.1.3"), name, sizeof(name)), -1);
	CHECK_STR(name, "");
	CHECK_EQ(dns_pool_lookup(p, ip("198.18.0.1"), name, sizeof(name)), -1);
	CHECK_EQ(dns_pool_lookup(p, ip("198.18.1.0"), name, sizeof(name)), -1);
	CHECK_EQ(dns_pool_lookup(p, ip("198.18.1.255"), name, sizeof(name)), -1);
	CHECK_EQ(dns_pool_lookup(p, ip("198.20.1.1"), name, sizeof(name)), -1);
	CHECK_EQ(dns_pool_lookup(p, ip("10.0.0.1"), name, sizeof(name)), -1);
	/* a buffer too small is "unknown", never a truncated name */
	CHECK_EQ(dns_pool_lookup(p, b, name, 10), -1);
	CHECK_EQ(dns_pool_lookup(p, b, name, 11), 0);
	/* bad names */
	{
		char longname[DNS_NAME_MAX + 2];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = 0;
		CHECK_EQ(dns_pool_assign(p, longname, &a2), -1);
		longname[DNS_NAME_MAX] = 0;
		CHECK_EQ(dns_pool_assign(p, longname, &a2), 0);
		CHECK_EQ(dns_pool_assign(p, "", &a2), -1);
	}
	CHECK(dns_pool_in_range(ip("198.18.0.1")));
	CHECK(dns_pool_in_range(ip("198.19.255.255")));
	CHECK(!dns_pool_in_range(ip("198.20.0.0")));
	CHECK(!dns_pool_in_range(ip("198.17.255.255")));
	dns_pool_free(p);
	CHECK(dns_pool_new(0) == NULL);
	CHECK(dns_pool_new(DNS_POOL_MAX + 1) == NULL);
}

TEST(pool_lru)
{
	struct dns_pool *p = pool_new(3);
	struct in_addr a, b, c, d, x;
	char name[DNS_NAME_MAX + 1];

	dns_pool_assign(p, "a.com", &a);
	dns_pool_assign(p, "b.com", &b);
	dns_pool_assign(p, "c.com", &c);
	/* a used again by lookup, c by assign: b is the least recently used */
	CHECK_EQ(dns_pool_lookup(p, a, name, sizeof(name)), 0);
	CHECK_EQ(dns_pool_assign(p, "c.com", &x), 0);
	CHECK_EQ(x.s_addr, c.s_addr);
	CHECK_EQ(dns_pool_assign(p, "d.com", &d), 0);
	CHECK_EQ(d.s_addr, b.s_addr); /* b's address recycled */
	CHECK_EQ(dns_pool_count(p), 3);
	CHECK_EQ(dns_pool_lookup(p, b, name, sizeof(name)), 0);
	CHECK_STR(name, "d.com");
	/* a and c kept their addresses */
	dns_pool_assign(p, "a.com", &x);
	CHECK_EQ(x.s_addr, a.s_addr);
	dns_pool_assign(p, "c.com", &x);
	CHECK_EQ(x.s_addr, c.s_addr);
	/* b comes back: now d is the oldest (touched by the lookup before a and c) */
	dns_pool_assign(p, "b.com", &x);
	CHECK_EQ(x.s_addr, d.s_addr);
	CHECK_EQ(dns_pool_lookup(p, d, name, sizeof(name)), 0);
	CHECK_STR(name, "b.com");
	dns_pool_free(p);
}

TEST(pool_capacity_one)
{
	struct dns_pool *p = pool_new(1);
	struct in_addr a, b;
	char name[DNS_NAME_MAX + 1];

	dns_pool_assign(p, "a.com", &a);
	dns_pool_assign(p, "a.com", &b);
	CHECK_EQ(a.s_addr, b.s_addr);
	dns_pool_assign(p, "b.com", &b);
	CHECK_EQ(a.s_addr, b.s_addr);
	CHECK_STR(ntoa(b), "198.18.1.1");
	CHECK_EQ(dns_pool_lookup(p, a, name, sizeof(name)), 0);
	CHECK_STR(name, "b.com");
	CHECK_EQ(dns_pool_count(p), 1);
	dns_pool_assign(p, "a.com", &b);
	CHECK_EQ(dns_pool_lookup(p, a, name, sizeof(name)), 0);
	CHECK_STR(name, "a.com");
	dns_pool_free(p);
}

/* Below capacity nothing is ever recycled: names keep their addresses through any reuse. */
TEST(pool_no_silent_change)
{
	enum { N = 2000 };
	struct dns_pool *p = pool_new(N);
	static struct in_addr first[N];
	char name[32];
	unsigned i, round, r = 12345;

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "h%u.example", i);
		CHECK_EQ(dns_pool_assign(p, name, &first[i]), 0);
	}
	for (round = 0; round < 5 * N; round++) {
		struct in_addr x;
		char back[DNS_NAME_MAX + 1];

		r = r * 1103515245u + 12345u;
		i = (r >> 8) % N;
		snprintf(name, sizeof(name), "h%u.example", i);
		if (round & 1) {
			CHECK_EQ(dns_pool_assign(p, name, &x), 0);
			CHECK_EQ(x.s_addr, first[i].s_addr);
		} else {
			CHECK_EQ(dns_pool_lookup(p, first[i], back, sizeof(back)), 0);
			CHECK_STR(back, name);
		}
	}
	CHECK_EQ(dns_pool_count(p), N);
	dns_pool_free(p);
}

/* A full pool: every address unique, inside the /15, outside 198.18.0.0/24, never .0/.255. */
TEST(pool_full_range)
{
	struct dns_pool *p = pool_new(DNS_POOL_MAX);
	uint8_t *seen = calloc(1, 1u << 17);
	char name[32], back[DNS_NAME_MAX + 1];
	struct in_addr a;
	unsigned i, bad = 0, dup = 0, miss = 0;

	for (i = 0; i < DNS_POOL_MAX; i++) {
		uint32_t h, off;

		snprintf(name, sizeof(name), "n%u", i);
		if (dns_pool_assign(p, name, &a) < 0) {
			bad++;
			continue;
		}
		h = ntohl(a.s_addr);
		off = h - 0xC6120000u;
		if ((h & 0xFFFE0000u) != 0xC6120000u || off < 256 || (h & 0xFF) == 0 ||
		    (h & 0xFF) == 255) {
			bad++;
			continue;
		}
		if (seen[off]++)
			dup++;
		if (dns_pool_lookup(p, a, back, sizeof(back)) < 0 || strcmp(back, name) != 0)
			miss++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(dup, 0);
	CHECK_EQ(miss, 0);
	CHECK_STR(ntoa(a), "198.19.255.254");
	/* the next new name recycles n0's 198.18.1.1 */
	CHECK_EQ(dns_pool_assign(p, "new.example", &a), 0);
	CHECK_STR(ntoa(a), "198.18.1.1");
	CHECK_EQ(dns_pool_lookup(p, a, back, sizeof(back)), 0);
	CHECK_STR(back, "new.example");
	free(seen);
	dns_pool_free(p);
}

int main(void)
{
	RUN(parse_real_a);
	RUN(parse_real_aaaa_opt);
	RUN(parse_https_with_do);
	RUN(parse_compressed_additional);
	RUN(pointer_rules);
	RUN(truncated_every_prefix);
	RUN(header_rules);
	RUN(edns_rules);
	RUN(name_limits);
	RUN(name_text_rules);
	RUN(build_a_bytes);
	RUN(build_nxdomain_nodata_opt);
	RUN(build_limits);
	RUN(tcp_framing);
	RUN(pool_stable_and_lookup);
	RUN(pool_lru);
	RUN(pool_capacity_one);
	RUN(pool_no_silent_change);
	RUN(pool_full_range);
	T_EXIT();
}
