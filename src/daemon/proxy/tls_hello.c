/* Finds the SNI in a TLS ClientHello from a guest (see tls_hello.h). Pure code: no I/O, no
 * allocation; every length from the peer is checked against what is left before it is used,
 * and nothing is read past len. */
#include "daemon/proxy/tls_hello.h"

#include "daemon/proxy/http_head.h"

#include <stdbool.h>
#include <string.h>

#define TLS_REC_HANDSHAKE   22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_SNI_HOST_NAME   0
#define TLS_REC_MAX	    16384u
#define TLS_HELLO_BODY_MIN  41u /* version, random, sid len, 1 suite, 1 compression method */

/* A read cursor over checked bytes. */
struct tls_cur {
	const uint8_t *p;
	size_t n;
};

static bool rd_u8(struct tls_cur *c, unsigned *v)
{
	if (c->n < 1)
		return false;
	*v = c->p[0];
	c->p++;
	c->n--;
	return true;
}

static bool rd_u16(struct tls_cur *c, unsigned *v)
{
	if (c->n < 2)
		return false;
	*v = (unsigned)c->p[0] << 8 | c->p[1];
	c->p += 2;
	c->n -= 2;
	return true;
}

static bool skip(struct tls_cur *c, size_t k)
{
	if (c->n < k)
		return false;
	c->p += k;
	c->n -= k;
	return true;
}

/* The server_name extension's data: ServerNameList with exactly one host_name. */
static int sni_ext(const uint8_t *p, size_t n, char *sni, size_t cap)
{
	struct tls_cur c = {p, n};
	unsigned list, type, nl, hosts = 0;

	if (!rd_u16(&c, &list) || list != c.n || list == 0)
		return -1;
	while (c.n) {
		if (!rd_u8(&c, &type) || !rd_u16(&c, &nl) || nl > c.n)
			return -1;
		if (type == TLS_SNI_HOST_NAME) {
			if (++hosts > 1)
				return -1;
			if (http_host_norm((const char *)c.p, nl, sni, cap) != HTTP_HOST_NAME)
				return -1;
		}
		skip(&c, nl);
	}
	return hosts == 1 ? 1 : -1;
}

/* The ClientHello body (after the 4-byte handshake header). */
static int hello_parse(const uint8_t *p, size_t n, char *sni, size_t cap)
{
	struct tls_cur c = {p, n};
	unsigned v, len, type;
	bool seen_sni = false;

	if (!rd_u16(&c, &v) || v < 0x0301 || v > 0x0304 || !skip(&c, 32))
		return -1;
	if (!rd_u8(&c, &len) || len > 32 || !skip(&c, len))
		return -1;
	if (!rd_u16(&c, &len) || len < 2 || (len & 1) || !skip(&c, len))
		return -1;
	if (!rd_u8(&c, &len) || len < 1 || !skip(&c, len))
		return -1;
	if (c.n == 0)
		return 2; /* no extensions (allowed before TLS 1.3) */
	if (!rd_u16(&c, &len) || len != c.n)
		return -1;
	while (c.n) {
		if (!rd_u16(&c, &type) || !rd_u16(&c, &len) || len > c.n)
			return -1;
		if (type == TLS_EXT_SERVER_NAME) {
			if (seen_sni || sni_ext(c.p, len, sni, cap) != 1)
				return -1;
			seen_sni = true;
		}
		skip(&c, len);
	}
	return seen_sni ? 1 : 2;
}

/* Gather the handshake message from the records, answering as early as the bytes allow. */
static int hello_find(const uint8_t *buf, size_t len, char *sni, size_t cap)
{
	uint8_t hs[TLS_HELLO_MAX];
	size_t pos = 0, got = 0, need = 0;
	unsigned rec;

	for (rec = 0; rec < TLS_HELLO_RECORDS_MAX; rec++) {
		size_t rlen, avail, take;

		if (pos >= len)
			return 0;
		if (buf[pos] != TLS_REC_HANDSHAKE)
			return -1;
		if (pos + 1 < len && buf[pos + 1] != 3)
			return -1;
		if (pos + 2 < len && (buf[pos + 2] < 1 || buf[pos + 2] > 4))
			return -1;
		if (len - pos < 5)
			return 0;
		rlen = (size_t)buf[pos + 3] << 8 | buf[pos + 4];
		if (rlen == 0 || rlen > TLS_REC_MAX)
			return -1;
		pos += 5;
		avail = len - pos < rlen ? len - pos : rlen;
		take = avail;
		if (take > (need ? need : sizeof hs) - got)
			take = (need ? need : sizeof hs) - got;
		memcpy(hs + got, buf + pos, take);
		got += take;
		if (got >= 1 && hs[0] != TLS_HS_CLIENT_HELLO)
			return -1;
		if (got >= 2 && hs[1] != 0)
			return -1; /* >= 64 KiB: longer than TLS_HELLO_MAX */
		if (!need && got >= 4) {
			size_t body = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];

			if (body < TLS_HELLO_BODY_MIN || body > TLS_HELLO_MAX - 4)
				return -1;
			need = body + 4;
			if (got > need)
				got = need; /* what follows the hello is not ours */
		}
		if (need && got == need)
			return hello_parse(hs + 4, need - 4, sni, cap);
		if (avail < rlen)
			return 0;
		pos += rlen;
	}
	return -1; /* spread over too many records */
}

int tls_hello_sni(const uint8_t *buf, size_t len, char *sni, size_t cap)
{
	int rc;

	if (!sni || cap == 0)
		return -1;
	sni[0] = 0;
	rc = hello_find(buf, len, sni, cap);
	if (rc != 1)
		sni[0] = 0;
	return rc;
}
