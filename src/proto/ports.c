/* The port-publishing protocol's encoders and its one parser (see ports.h). Pure: no I/O. */
#include "proto/ports.h"

void ports_hdr_put(uint8_t *out, uint8_t proto, uint16_t port)
{
	out[0] = (uint8_t)(PORTS_HDR_MAGIC >> 24);
	out[1] = (uint8_t)(PORTS_HDR_MAGIC >> 16);
	out[2] = (uint8_t)(PORTS_HDR_MAGIC >> 8);
	out[3] = (uint8_t)PORTS_HDR_MAGIC;
	out[4] = proto;
	out[5] = 0;
	out[6] = (uint8_t)(port >> 8);
	out[7] = (uint8_t)port;
}

int ports_hdr_parse(const uint8_t *b, size_t n, uint8_t *proto, uint16_t *port)
{
	uint32_t magic;

	if (n < PORTS_HDR_LEN)
		return 0;
	magic = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	if (magic != PORTS_HDR_MAGIC || (b[4] != PORTS_PROTO_TCP && b[4] != PORTS_PROTO_UDP) ||
	    b[5] != 0)
		return -1;
	*port = (uint16_t)(b[6] << 8 | b[7]);
	if (*port == 0)
		return -1;
	*proto = b[4];
	return 1;
}

long ports_dgram_frame(const uint8_t *b, size_t n)
{
	size_t len;

	if (n < 2)
		return 0;
	len = (size_t)b[0] << 8 | b[1];
	if (len > PORTS_DGRAM_MAX)
		return -1;
	return n - 2 >= len ? (long)(len + 2) : 0;
}

void ports_dgram_put_len(uint8_t *out, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
}
