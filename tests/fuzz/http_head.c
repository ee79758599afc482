/* libFuzzer target for http_req_parse(), sbxd's one parser of guest HTTP request heads, and
 * http_req_rewrite(): any input parses or is refused without reading out of bounds, and every
 * accepted head rewrites into a head that re-parses as the same request in origin form. */
#include "daemon/proxy/http_head.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct http_req r, r2;
static char out[HTTP_REWRITE_MAX];

static void check_rewrite(const char *in)
{
	const char *path = in + r.path.off;
	size_t plen = r.path.len, slash = (plen == 0 || path[0] == '?');
	unsigned lines = 0;
	int n = http_req_rewrite(&r, in, out, sizeof out);

	if (r.form == HTTP_FORM_AUTHORITY) {
		if (n != -1)
			abort();
		return;
	}
	if (n <= 0 || (size_t)n > sizeof out || http_req_rewrite(&r, in, out, (size_t)n - 1) != -1)
		abort();
	for (int i = 0; i + 1 < n; i++)
		lines += out[i] == '\r' && out[i + 1] == '\n';
	char *re = malloc((size_t)n);
	if (!re)
		abort();
	memcpy(re, out, (size_t)n);
	int rc = http_req_parse(re, (size_t)n, &r2);
	if ((size_t)n > HTTP_HEAD_MAX || lines - 2 > HTTP_FIELDS_MAX) {
		if (rc != 1 && rc != HTTP_E_FIELDS_TOO_LARGE)
			abort();
	} else if (rc != 1) {
		abort();
	}
	if (rc == 1) {
		if (r2.head_len != (size_t)n || r2.form != HTTP_FORM_ORIGIN ||
		    r2.method.len != r.method.len ||
		    memcmp(re + r2.method.off, in + r.method.off, r.method.len) ||
		    r2.path.len != plen + slash || (slash && re[r2.path.off] != '/') ||
		    memcmp(re + r2.path.off + slash, path, plen) || strcmp(r2.host, r.host) ||
		    r2.host_kind != r.host_kind || r2.chunked != r.chunked ||
		    r2.has_clen != r.has_clen || r2.clen != r.clen || r2.websocket != r.websocket ||
		    r2.minor != r.minor || r2.userinfo)
			abort();
		unsigned p1 = r.port == 80 ? 0 : r.port, p2 = r2.port == 80 ? 0 : r2.port;
		if (p1 != p2)
			abort();
	}
	free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy so ASan catches any read past the end */
	char *in = malloc(size ? size : 1);

	if (!in)
		return 0;
	memcpy(in, data, size);
	int rc = http_req_parse(in, size, &r);
	if (rc < 0) {
		if ((rc != HTTP_E_BAD_REQUEST && rc != HTTP_E_URI_TOO_LONG &&
		     rc != HTTP_E_FIELDS_TOO_LARGE && rc != HTTP_E_NOT_IMPLEMENTED &&
		     rc != HTTP_E_VERSION) ||
		    !r.why)
			abort();
	} else if (rc == 0) {
		if (size >= HTTP_HEAD_MAX)
			abort();
	} else if (rc == 1) {
		size_t hl = strnlen(r.host, sizeof r.host);

		if (r.head_len > size || r.head_len > HTTP_HEAD_MAX || r.head_len < 4 || hl == 0 ||
		    hl > HTTP_HOST_MAX || r.nfields > HTTP_FIELDS_MAX || r.minor < 0 ||
		    r.minor > 1 || r.why || r.userinfo || r.target.len > HTTP_TARGET_MAX ||
		    r.target.off + r.target.len > r.head_len ||
		    r.path.off + r.path.len > r.head_len)
			abort();
		if (r.form != HTTP_FORM_ORIGIN && r.form != HTTP_FORM_ABSOLUTE &&
		    r.form != HTTP_FORM_AUTHORITY)
			abort();
		if (r.form != HTTP_FORM_ORIGIN && r.port == 0)
			abort();
		if (memcmp(in + r.head_len - 4, "\r\n\r\n", 4))
			abort();
		/* one byte fewer is always "need more" */
		if (http_req_parse(in, r.head_len - 1, &r2) != 0)
			abort();
		if (http_req_parse(in, r.head_len, &r2) != 1)
			abort();
		check_rewrite(in);
	} else {
		abort();
	}
	/* a prefix answers "need more" or the same as the whole */
	int rp = http_req_parse(in, size / 2, &r2);
	if (rp != 0 && rp != rc)
		abort();
	free(in);
	return 0;
}
