/* libFuzzer target for the agent protocol's parsers: the byte stream is cut into frames with
 * agent_frame_next() and each frame goes through both directions' parsers (EXEC included);
 * the first byte may instead select the hybrid handshake line parsers. Must never crash,
 * read out of bounds or accept a string that is not NUL-terminated inside its frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/agent.h"

static struct agent_exec_req req;

static void check_exec(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < req.argc; i++)
		if ((const uint8_t *)req.argv[i] < p ||
		    (const uint8_t *)req.argv[i] + strlen(req.argv[i]) >= p + n)
			abort();
	if (req.argv[req.argc] || req.env[req.envc])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (size && data[0] == 'C') {
		agent_hybrid_connect_parse((const char *)data, size);
		agent_hybrid_ok_parse((const char *)data, size);
		return 0;
	}
	while (off < size) {
		struct agent_hdr h;
		struct agent_msg m;
		long n = agent_frame_next(data + off, size - off, &h);
		uint8_t *copy;

		if (n <= 0)
			break;
		/* an exact-size heap copy so ASan sees any read past the frame */
		copy = malloc((size_t)n);
		if (!copy)
			break;
		memcpy(copy, data + off, (size_t)n);
		if (agent_parse_h2g(&h, copy + SBX_FRAME_HDR, &m, &req) == 0 &&
		    m.type == AGENT_EXEC)
			check_exec(copy + SBX_FRAME_HDR, h.len);
		if (agent_parse_g2h(&h, copy + SBX_FRAME_HDR, &m) == 0 && m.type == AGENT_ERROR &&
		    strlen(m.u.err.msg) >= h.len)
			abort();
		/* re-encoding what was parsed must parse again */
		if (agent_parse_h2g(&h, copy + SBX_FRAME_HDR, &m, &req) == 0 &&
		    m.type == AGENT_EXEC) {
			static uint8_t out[SBX_FRAME_HDR + SBX_FRAME_MAX];
			struct agent_hdr h2;
			size_t k = agent_put_exec(out, sizeof(out), &req);

			if (k != (size_t)n || agent_frame_next(out, k, &h2) != (long)k)
				abort();
		}
		free(copy);
		off += (size_t)n;
	}
	return 0;
}
