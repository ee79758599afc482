/* sbxd's DNS messages: the one parser of the guest's DNS bytes (TCP framing, query), the
 * answer builder, and a parser of our own answers for tests. Pure code on caller buffers: no
 * sockets, no policy, no allocation. Must never read past a buffer or forward guest bytes. */
#ifndef SBX_DAEMON_DNS_MSG_H
#define SBX_DAEMON_DNS_MSG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN	    12
#define DNS_MSG_MAX	    65535u /* the 2-byte TCP length prefix bounds a message */
#define DNS_NAME_MAX	    253	   /* text form, no trailing dot */
#define DNS_WIRE_NAME_MAX   255	   /* wire form, length bytes and the final zero included */
#define DNS_LABEL_MAX	    63
#define DNS_PTR_JUMPS_MAX   16	/* compression pointers followed per name */
#define DNS_ANSWER_CAP_MIN  512 /* always holds an answer with up to 14 A records */
#define DNS_EDNS_UDP_SIZE   1232
#define DNS_REPLY_ADDRS_MAX 16

#define DNS_TYPE_A     1
#define DNS_TYPE_NS    2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_TXT   16
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_OPT   41
#define DNS_TYPE_HTTPS 65
#define DNS_TYPE_ANY   255
#define DNS_CLASS_IN   1

#define DNS_OPCODE_QUERY 0

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

/* What dns_msg_parse() decided. */
enum dns_parse_result {
	DNS_PARSE_DROP = -1,  /* send nothing: shorter than a header, or a response (QR=1) */
	DNS_PARSE_OK = 0,     /* one valid IN question: ask policy about q->name */
	DNS_PARSE_ANSWER = 1, /* answer at once with q->rcode, policy not asked */
};

/*
 * One parsed query. name is what policy sees: lowercase, no trailing dot, labels of
 * [a-z0-9_-] only, so a '.' in it is always a label separator. A query whose name has any
 * other byte (or is the root) is answered NXDOMAIN by the parser itself (DNS_PARSE_ANSWER).
 */
struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd;
	bool has_question; /* the question parsed and is echoed in the answer */
	uint16_t qtype, qclass;
	uint8_t qname_wire[DNS_WIRE_NAME_MAX]; /* uncompressed, original case */
	size_t qname_wire_len;
	char name[DNS_NAME_MAX + 1]; /* "" unless DNS_PARSE_OK */
	bool edns;		     /* the query had one valid OPT record */
	bool edns_do;		     /* its DO bit, copied to the answer's OPT */
	uint16_t edns_udp_size;
	uint8_t edns_version;
	uint8_t rcode; /* for DNS_PARSE_ANSWER: FORMERR, NOTIMP, REFUSED or NXDOMAIN */
};

/* A parsed answer (ours), for tests and the fuzz target's round trip. */
struct dns_reply {
	uint16_t id;
	uint16_t flags; /* the whole flags word */
	uint8_t opcode, rcode;
	bool has_question;
	uint16_t qtype, qclass;
	uint8_t qname_wire[DNS_WIRE_NAME_MAX];
	size_t qname_wire_len;
	char name[DNS_NAME_MAX + 1]; /* "" if the name is not policy text (see dns_query) */
	uint16_t ancount;
	size_t naddrs; /* A records for the question's name, at most DNS_REPLY_ADDRS_MAX kept */
	struct in_addr addrs[DNS_REPLY_ADDRS_MAX];
	uint32_t ttl; /* of the first A record */
	bool edns, edns_do;
	uint16_t edns_udp_size;
};

/**
 * dns_tcp_next() - cut the next DNS-over-TCP frame from received stream bytes
 * @buf: the stream bytes received and not yet consumed
 * @len: their count
 * @msg: set to the message inside the frame (after the 2-byte length)
 * @msg_len: set to its length, 0..65535 (a frame too short for a DNS header is still a frame;
 *	dns_msg_parse() drops it)
 *
 * Return: the frame's size (2 + *msg_len) to consume, or 0 when more bytes are needed.
 */
long dns_tcp_next(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len);

/**
 * dns_msg_parse() - parse one query message from the guest
 * @msg: the message (no TCP length prefix)
 * @len: its length
 * @q: filled in; valid for DNS_PARSE_OK and DNS_PARSE_ANSWER
 *
 * Header: QR=1 drops, opcode other than QUERY answers NOTIMP, QDCOUNT other than 1 FORMERR.
 * Names: labels of 1..63 bytes, 255 bytes on the wire, compression pointers only backward
 * (each strictly before the name part that holds it), never into the header, at most 16 per
 * name. Answer, authority and additional records are walked only to bound them and find an
 * EDNS OPT (two OPTs, an OPT not named root, a truncated record or trailing bytes: FORMERR).
 * QCLASS other than IN: REFUSED. A name with bytes outside [A-Za-z0-9_-], or the root name:
 * NXDOMAIN. Never reads outside msg[0..len).
 *
 * Return: an enum dns_parse_result.
 */
int dns_msg_parse(const uint8_t *msg, size_t len, struct dns_query *q);

/**
 * dns_msg_build() - build the answer to a parsed query
 * @buf: where to write the message (no TCP length prefix)
 * @cap: its size; DNS_ANSWER_CAP_MIN always suffices for up to 14 addresses
 * @q: the query, from dns_msg_parse() (OK or ANSWER)
 * @rcode: 0..15; NOERROR for an allowed name, NXDOMAIN for a denied one, or q->rcode
 * @addrs: the addresses for an allowed name, put as A records only when @rcode is NOERROR,
 *	the question is type A class IN and echoed; otherwise ignored (NOERROR then means NODATA)
 * @naddrs: their count
 * @ttl: TTL of the A records
 *
 * The header copies ID, opcode, RD and CD, sets QR and RA, clears AA; the question is echoed
 * uncompressed, A records name it with the pointer 0xC00C. If the query had an OPT record,
 * the answer carries a minimal one (UDP size 1232, version 0, DO copied, no options).
 *
 * Return: the message length, or -1 if it does not fit in @cap or @rcode > 15.
 */
long dns_msg_build(uint8_t *buf, size_t cap, const struct dns_query *q, unsigned rcode,
		   const struct in_addr *addrs, size_t naddrs, uint32_t ttl);

/**
 * dns_msg_parse_reply() - parse an answer message (tests, fuzz round trip)
 * @msg: the message
 * @len: its length
 * @r: filled in on success
 *
 * Same name rules as dns_msg_parse(); QR must be set, QDCOUNT 0 or 1; A records count only
 * when they name the question (compared case-insensitively) with class IN and 4 bytes of data.
 *
 * Return: 0, or -1 if malformed.
 */
int dns_msg_parse_reply(const uint8_t *msg, size_t len, struct dns_reply *r);

#endif
