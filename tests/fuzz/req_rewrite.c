/* libFuzzer target for the intercepted-request rewriter (req_rw_feed()): the input is one
 * client byte stream (request lines, headers, Content-Length and chunked bodies, pipelined
 * heads), fed twice in different read and output sizes. Never reads or writes out of bounds,
 * always makes progress, and gives the same bytes whatever the cuts when the stream is accepted. */
#include "daemon/proxy/req_rewrite.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX (1u << 20)

static const struct req_rw_conf conf = {
    .host = "api.anthropic.com", .header = "x-api-key", .value = "KEYKEY"};
static uint8_t out1[OUT_MAX], out2[OUT_MAX];

/* Feed @data in reads of @chunk with @cap bytes of room; Return the status (0: none). */
static int feed(const uint8_t *data, size_t size, size_t chunk, size_t cap, uint8_t *out,
		size_t *outlen)
{
	struct req_rw *rw = req_rw_new(&conf);
	size_t off = 0, w = 0;
	int st = 0;

	if (!rw)
		abort();
	for (;;) {
		size_t take = size - off < chunk ? size - off : chunk, used;
		size_t room = OUT_MAX - w < cap ? OUT_MAX - w : cap;
		ssize_t r = req_rw_feed(rw, data + off, take, &used, out + w, room);

		if (r < 0) {
			st = (int)-r;
			if (req_rw_feed(rw, data, size, &used, out, 0) != r || !*req_rw_why(rw))
				abort();
			break;
		}
		if ((size_t)r > room || used > take)
			abort();
		w += (size_t)r;
		off += used;
		if (!room)
			break;
		if (r == 0 && used == 0) {
			if (take || req_rw_pending(rw)) /* no progress while there was work */
				abort();
			break;
		}
	}
	req_rw_free(rw);
	*outlen = w;
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n1, n2, c1, c2;
	int s1, s2;

	if (size > 200000)
		return 0;
	c1 = size ? (size_t)data[0] % 17 + 1 : 1;
	c2 = size > 1 ? (size_t)data[1] * 31 + 1 : 4096;
	s1 = feed(data, size, 1 << 20, OUT_MAX, out1, &n1);
	s2 = feed(data, size, c1, c2, out2, &n2);
	if (s1 == 0 && s2 == 0 && (n1 != n2 || memcmp(out1, out2, n1) != 0))
		abort();
	return 0;
}
