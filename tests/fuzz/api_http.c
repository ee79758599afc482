/* libFuzzer target for api_http_parse(), the CLI's only parser of bytes from sbxd: any input,
 * at EOF or not, must parse or be refused without reading or writing out of bounds. */
#include "cli/api_client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_http_msg m;
	char *in, *body;

	if (size == 0)
		return 0;
	/* an exact-size copy so ASan catches any read past the end */
	in = malloc(size - 1 ? size - 1 : 1);
	body = malloc(size);
	if (!in || !body)
		goto out;
	memcpy(in, data + 1, size - 1);
	int r = api_http_parse(in, size - 1, data[0] & 1, body, &m);
	if (r == 1 && (m.body_len > size - 1 || m.status < 200 || m.status > 599))
		abort();
out:
	free(in);
	free(body);
	return 0;
}
