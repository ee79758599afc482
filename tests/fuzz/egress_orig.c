/* libFuzzer target for eg_orig_parse(), the parser of the header that starts every transparent
 * egress stream from the guest: any bytes must be accepted or refused without reading past
 * them, and an accepted header must describe a usable destination. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/egress/egress_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = malloc(size ? size : 1);
	struct pol_addr a;
	uint16_t port = 0;
	int r;

	if (!in)
		return 0;
	memcpy(in, data, size);
	r = eg_orig_parse(in, size, &a, &port);
	if (r < -1 || r > 1 || (r == 0 && size >= EGRESS_ORIG_LEN) ||
	    (r == 1 && (port == 0 || (a.family != AF_INET && a.family != AF_INET6))))
		abort();
	free(in);
	return 0;
}
