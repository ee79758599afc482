/* libFuzzer target for sbxd's DNS parsing: the input is parsed as one query message and as a
 * DNS-over-TCP stream cut by dns_tcp_next(); every query that parses gets every kind of
 * answer built, and each answer must parse back (as a response) to the same id, question and
 * addresses. The reply parser also sees the raw input. Aborts on any violated invariant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dns/msg.h"

static void check_name(const struct dns_query *q)
{
	size_t n = strlen(q->name), i;

	if (n < 1 || n > DNS_NAME_MAX || q->name[0] == '.' || q->name[n - 1] == '.' ||
	    q->qname_wire_len != n + 2 || q->qname_wire_len > DNS_WIRE_NAME_MAX)
		abort();
	for (i = 0; i < n; i++) {
		char c = q->name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			abort();
		if (c == '.' && q->name[i + 1] == '.')
			abort();
	}
}

static void round_trip(const struct dns_query *q)
{
	static const unsigned rcodes[] = {DNS_RCODE_NOERROR,  DNS_RCODE_FORMERR, DNS_RCODE_SERVFAIL,
					  DNS_RCODE_NXDOMAIN, DNS_RCODE_NOTIMP,	 DNS_RCODE_REFUSED};
	static uint8_t out[DNS_MSG_MAX];
	struct in_addr addrs[3] = {
	    {htonl(0xC6120101u)}, {htonl(0xC6120102u)}, {htonl(0xC613FFFEu)}};
	struct dns_reply r;
	size_t i, na;

	for (i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		for (na = 0; na <= 3; na++) {
			long n =
			    dns_msg_build(out, DNS_ANSWER_CAP_MIN, q, rcodes[i], addrs, na, 300);
			size_t want = 0;

			if (n < DNS_HDR_LEN || n > DNS_ANSWER_CAP_MIN)
				abort(); /* 512 always fits 3 addresses */
			if (dns_msg_parse_reply(out, (size_t)n, &r) < 0)
				abort();
			if (r.id != q->id || r.rcode != rcodes[i] || r.opcode != q->opcode ||
			    r.has_question != q->has_question || r.edns != q->edns)
				abort();
			if (q->has_question &&
			    (r.qtype != q->qtype || r.qclass != q->qclass ||
			     r.qname_wire_len != q->qname_wire_len ||
			     memcmp(r.qname_wire, q->qname_wire, q->qname_wire_len) != 0 ||
			     (q->name[0] && strcmp(r.name, q->name) != 0)))
				abort();
			if (rcodes[i] == DNS_RCODE_NOERROR && q->has_question &&
			    q->qtype == DNS_TYPE_A && q->qclass == DNS_CLASS_IN)
				want = na;
			if (r.naddrs != want || r.ancount != want)
				abort();
			if (want && memcmp(r.addrs, addrs, want * sizeof(addrs[0])) != 0)
				abort();
			/* one byte less never fits */
			if (dns_msg_build(out, (size_t)n - 1, q, rcodes[i], addrs, na, 300) != -1)
				abort();
		}
}

static void one_message(const uint8_t *data, size_t size)
{
	/* an exact-size heap copy so ASan sees any read past the message */
	uint8_t *copy = malloc(size ? size : 1);
	struct dns_query q;
	struct dns_reply r;
	int res;

	if (!copy)
		return;
	memcpy(copy, data, size);
	res = dns_msg_parse(copy, size, &q);
	if (res == DNS_PARSE_OK) {
		check_name(&q);
		if (!q.has_question || q.qclass != DNS_CLASS_IN || q.opcode != 0)
			abort();
	} else if (res == DNS_PARSE_ANSWER) {
		if (q.name[0] || q.rcode == DNS_RCODE_NOERROR)
			abort();
	} else if (res != DNS_PARSE_DROP) {
		abort();
	}
	if (res != DNS_PARSE_DROP)
		round_trip(&q);
	if (dns_msg_parse_reply(copy, size, &r) == 0 && r.naddrs > DNS_REPLY_ADDRS_MAX)
		abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	one_message(data, size);
	while (off < size) {
		const uint8_t *m;
		size_t ml;
		long n = dns_tcp_next(data + off, size - off, &m, &ml);

		if (n == 0)
			break;
		if (n < 2 || (size_t)n > size - off || ml != (size_t)n - 2 || m != data + off + 2)
			abort();
		one_message(m, ml);
		off += (size_t)n;
	}
	return 0;
}
