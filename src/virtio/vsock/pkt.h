/* virtio-vsock packet header (spec 5.10.6, 44 bytes little-endian) and the hybrid-vsock
 * handshake line. Owns the one parser of header bytes from the guest and of "CONNECT <port>\n"
 * lines from host peers; never touches queues or sockets. */
#ifndef SBX_VIRTIO_VSOCK_PKT_H
#define SBX_VIRTIO_VSOCK_PKT_H

#include <stddef.h>
#include <stdint.h>

#define VSOCK_HDR_LEN	      44
#define VSOCK_HOST_CID	      2
#define VSOCK_TYPE_STREAM     1
#define VSOCK_MAX_PKT_PAYLOAD (64 * 1024)

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_SHUTDOWN_RCV  1
#define VSOCK_SHUTDOWN_SEND 2

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

/**
 * vsock_hdr_parse() - decode a header from @len bytes at @buf.
 * Return: 0, or -1 if @len < VSOCK_HDR_LEN. Fields are not validated here (see vsock_hdr_check).
 */
int vsock_hdr_parse(const uint8_t *buf, size_t len, struct vsock_hdr *h);

/**
 * vsock_hdr_encode() - write @h as 44 little-endian bytes into @buf.
 */
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t buf[VSOCK_HDR_LEN]);

/**
 * vsock_hdr_check() - validate a guest->device header against what we support.
 * @h: header; @guest_cid: the guest's CID; @payload: bytes present after the header.
 * Return: 0 if acceptable, else a negative reason: -1 bad addressing, -2 bad type,
 * -3 bad op, -4 bad length (len > @payload or > VSOCK_MAX_PKT_PAYLOAD, or data on non-RW op).
 */
int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, size_t payload);

/**
 * vsock_connect_line_parse() - parse a hybrid handshake line.
 * @buf: bytes up to and including the first '\n'; @len: their count.
 * @port: out, the guest port.
 * Return: 0 for "CONNECT <port>\n" (decimal, 0..4294967295, one space, optional '\r'),
 * else -1.
 */
int vsock_connect_line_parse(const char *buf, size_t len, uint32_t *port);

#endif
