/* libFuzzer target for tls_hello_sni(), sbxd's one parser of a guest's TLS ClientHello: any
 * input gives -1..2 without reading out of bounds, the name is always NUL-terminated and, when
 * found, a valid normalised DNS name; a prefix never contradicts the whole. */
#include "daemon/proxy/http_head.h"
#include "daemon/proxy/tls_hello.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sni[TLS_SNI_MAX + 1], again[TLS_SNI_MAX + 1];
	/* an exact-size copy so ASan catches any read past the end */
	uint8_t *in = malloc(size ? size : 1);

	if (!in)
		return 0;
	memcpy(in, data, size);
	memset(sni, 'x', sizeof sni);
	int rc = tls_hello_sni(in, size, sni, sizeof sni);
	if (rc < -1 || rc > 2 || !memchr(sni, 0, sizeof sni))
		abort();
	if (rc == 1) {
		size_t n = strlen(sni);

		if (n == 0 || n > TLS_SNI_MAX || sni[n - 1] == '.')
			abort();
		for (size_t i = 0; i < n; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.", sni[i]))
				abort();
		if (http_host_norm(sni, n, again, sizeof again) != HTTP_HOST_NAME ||
		    strcmp(again, sni))
			abort();
	} else if (sni[0] != 0) {
		abort();
	}
	if (rc == 0 && size >= TLS_HELLO_NEED_MAX)
		abort();
	/* a prefix answers "need more" or the same as the whole */
	int rp = tls_hello_sni(in, size / 2, again, sizeof again);
	if (rp != 0 && rp != rc)
		abort();
	free(in);
	return 0;
}
