/* libFuzzer target for the guest relay's DNS stream parsing: the host's answer stream (cut
 * into arbitrary reads, as the relay receives it) through gi_dns_answers() with a FIFO of
 * askers, and a guest client's query through gi_dns_frame() and gi_dns_servfail(). Must never
 * crash, read out of bounds, deliver a message outside its frame or more answers than asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/gi.h"
#include "stream_feed.h"

#define BUF (2 + 65535 + 3) /* the relay's buffer size */

static const uint8_t *cur_lo, *cur_hi;
static unsigned got;

static void deliver(void *arg, const struct gi_dns_pend *p, const uint8_t *msg, size_t n)
{
	(void)arg;
	if (!msg || n == 0 || msg < cur_lo || msg + n > cur_hi || p->kind != GI_DNS_UDP ||
	    msg[-2] != (uint8_t)(n >> 8) || msg[-1] != (uint8_t)n)
		abort();
	got++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gi_dns_fifo f;
	static uint8_t buf[BUF], sf[BUF];
	struct gi_dns_pend p = {.kind = GI_DNS_UDP};
	struct feed st = {.off = 2, .buf = buf, .cap = BUF};
	uint8_t *in;
	unsigned asked;

	if (size < 2)
		return 0;
	in = malloc(size);
	if (!in)
		return 0;
	memcpy(in, data, size);
	asked = in[0];
	st.in = in;
	st.size = size;
	st.chunk = (size_t)in[1] * 17 + 1;
	f.head = in[0] % GI_DNS_PEND_MAX; /* start anywhere in the ring */
	f.n = 0;
	got = 0;
	for (unsigned i = 0; i < asked; i++)
		if (gi_dns_fifo_push(&f, &p) < 0)
			abort();
	/* ends at the input's end or with a full buffer (cannot happen: the largest frame fits) */
	while (feed_read(&st)) {
		long used;

		cur_lo = buf;
		cur_hi = buf + st.len;
		used = gi_dns_answers(buf, st.len, &f, deliver, NULL);
		if (used < 0)
			break;
		if ((size_t)used > st.len || got > asked || f.n != asked - got)
			abort();
		feed_consume(&st, (size_t)used);
	}
	/* a client's query: framing and the SERVFAIL built from it */
	long fl = gi_dns_frame(in, size);
	if (fl > 0) {
		size_t n = gi_dns_servfail(in + 2, (size_t)fl - 2, sf, sizeof(sf));
		if (n && (n != (size_t)fl - 2 || memcmp(sf, in + 2, 2) != 0 || (sf[3] & 0xf) != 2))
			abort();
	}
	free(in);
	return 0;
}
