/* libFuzzer target for tls_host_parse(), the check of a guest-supplied host name (SNI, CONNECT)
 * before a leaf certificate is minted for it: whatever it accepts is canonical (parsing the
 * canonical text again gives the same text) and within the name limit. */
#include "daemon/tls/host.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_host h, again;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (tls_host_parse(s, &h) == 0) {
		if (strlen(h.name) > TLS_HOST_MAX || tls_host_parse(h.name, &again) < 0 ||
		    strcmp(again.name, h.name) != 0 || again.is_ip != h.is_ip)
			abort();
	}
	free(s);
	return 0;
}
