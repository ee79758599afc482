/* libFuzzer target for a published port's stream as the guest relay reads it (relay_in.c):
 * the header through ports_hdr_parse(), then (UDP) the frames through ports_dgram_frame(), the
 * bytes cut into arbitrary reads into a buffer of the relay's size. Must never crash, read out
 * of bounds, accept a frame longer than PORTS_DGRAM_MAX, or leave a partial frame that cannot
 * fit the buffer; a parsed header and a frame's length prefix must re-encode to their bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ports.h"
#include "stream_feed.h"

#define BUF (2 + 65535 + 3) /* the relay's buffer size (RELAY_BUF) */

/* Walk the complete frames at the front of @b (@len bytes). Return: bytes consumed, or -1. */
static long walk(const uint8_t *b, size_t len)
{
	size_t off = 0;

	for (;;) {
		long fl = ports_dgram_frame(b + off, len - off);
		uint8_t pre[2];

		if (fl <= 0)
			return fl < 0 ? -1 : (long)off;
		if (fl < 2 || (size_t)fl > 2 + PORTS_DGRAM_MAX || (size_t)fl > len - off)
			abort();
		ports_dgram_put_len(pre, (size_t)fl - 2);
		if (memcmp(pre, b + off, 2) != 0)
			abort();
		off += (size_t)fl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[BUF];
	uint8_t proto = 0, h[PORTS_HDR_LEN], *in;
	uint16_t port = 0;
	struct feed st;
	size_t chunk;
	int r;

	if (size < 1)
		return 0;
	in = malloc(size); /* exact size: ASan sees any read past the input */
	if (!in)
		return 0;
	memcpy(in, data, size);
	chunk = (size_t)in[0] * 29 + 1;
	r = ports_hdr_parse(in + 1, size - 1, &proto, &port);
	if (r == 0 && size - 1 >= PORTS_HDR_LEN)
		abort();
	if (r == 1) {
		if ((proto != PORTS_PROTO_TCP && proto != PORTS_PROTO_UDP) || port == 0)
			abort();
		ports_hdr_put(h, proto, port);
		if (memcmp(h, in + 1, PORTS_HDR_LEN) != 0)
			abort();
	}
	/* the UDP stream after the header (or the whole input when it had none) */
	st = (struct feed){.in = in,
			   .size = size,
			   .off = r == 1 ? 1 + PORTS_HDR_LEN : 1,
			   .chunk = chunk,
			   .buf = buf,
			   .cap = BUF};
	while (feed_read(&st)) {
		long used = walk(buf, st.len);

		if (used < 0)
			break; /* malformed: the relay ends the flow */
		feed_consume(&st, (size_t)used);
		if (st.len >= 2 + PORTS_DGRAM_MAX)
			abort(); /* a partial frame that could never complete */
	}
	free(in);
	return 0;
}
