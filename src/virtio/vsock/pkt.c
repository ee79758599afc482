/* vsock header and hybrid handshake parsing (see pkt.h).
 * Owns byte-level decoding only: bounds-checked, endian-explicit; never trusts a length. */
#include "virtio/vsock/pkt.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

int vsock_hdr_parse(const uint8_t *buf, size_t len, struct vsock_hdr *h)
{
	if (len < VSOCK_HDR_LEN)
		return -1;
	h->src_cid = rd64(buf);
	h->dst_cid = rd64(buf + 8);
	h->src_port = rd32(buf + 16);
	h->dst_port = rd32(buf + 20);
	h->len = rd32(buf + 24);
	h->type = rd16(buf + 28);
	h->op = rd16(buf + 30);
	h->flags = rd32(buf + 32);
	h->buf_alloc = rd32(buf + 36);
	h->fwd_cnt = rd32(buf + 40);
	return 0;
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t buf[VSOCK_HDR_LEN])
{
	wr64(buf, h->src_cid);
	wr64(buf + 8, h->dst_cid);
	wr32(buf + 16, h->src_port);
	wr32(buf + 20, h->dst_port);
	wr32(buf + 24, h->len);
	wr16(buf + 28, h->type);
	wr16(buf + 30, h->op);
	wr32(buf + 32, h->flags);
	wr32(buf + 36, h->buf_alloc);
	wr32(buf + 40, h->fwd_cnt);
}

int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, size_t payload)
{
	if (h->src_cid != guest_cid || h->dst_cid != VSOCK_HOST_CID)
		return -1;
	if (h->type != VSOCK_TYPE_STREAM)
		return -2;
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return -3;
	if (h->len > payload || h->len > VSOCK_MAX_PKT_PAYLOAD)
		return -4;
	if (h->len && h->op != VSOCK_OP_RW)
		return -4;
	return 0;
}

int vsock_connect_line_parse(const char *buf, size_t len, uint32_t *port)
{
	static const char pfx[] = "CONNECT ";
	size_t i = sizeof(pfx) - 1, digits = 0;
	uint64_t v = 0;

	if (len < i + 2 || memcmp(buf, pfx, i) != 0 || buf[len - 1] != '\n')
		return -1;
	len--;
	if (buf[len - 1] == '\r')
		len--;
	for (; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9' || ++digits > 10)
			return -1;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	if (digits == 0 || v > UINT32_MAX)
		return -1;
	*port = (uint32_t)v;
	return 0;
}
