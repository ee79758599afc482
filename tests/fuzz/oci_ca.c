/* libFuzzer target for the OCI spec rewrite that gives containers the proxy CA
 * (src/guest/oci_ca.c): the input is patched as a config.json and as a process file; a
 * success must scan as valid JSON, come from valid JSON, only grow the input (insertions),
 * and change nothing more when patched again; jansson must accept the output whenever it
 * accepted the input. The root.path getter sees the input too. Aborts on any violation. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/gi.h"

static char out[1 << 17], again[1 << 17];

/* Every byte of @in appears in @o in order (insertions only). */
static int is_superseq(const char *in, size_t n, const char *o, size_t m)
{
	size_t i = 0;

	for (size_t k = 0; k < m && i < n; k++)
		if (o[k] == in[i])
			i++;
	return i == n;
}

static void one(const char *in, size_t len, enum gi_oci_kind kind)
{
	long n = gi_oci_ca_patch(in, len, kind, "/b/x/sbx-proxy-ca.crt",
				 "/b/\"x\"/sbx-ca-bundle.crt", out, sizeof(out));
	long n2;
	json_t *j;

	if (n < 0)
		return;
	if ((size_t)n < len || gi_json_valid(in, len) != 0 || gi_json_valid(out, (size_t)n) != 0 ||
	    !is_superseq(in, len, out, (size_t)n))
		abort();
	n2 = gi_oci_ca_patch(out, (size_t)n, kind, "/b/x/sbx-proxy-ca.crt",
			     "/b/\"x\"/sbx-ca-bundle.crt", again, sizeof(again));
	if (n2 != n || memcmp(out, again, (size_t)n) != 0)
		abort();
	j = json_loadb(in, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (j) {
		json_decref(j);
		j = json_loadb(out, (size_t)n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (!j)
			abort();
		json_decref(j);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char root[256];

	if (size > sizeof(out) / 2)
		return 0;
	one((const char *)data, size, GI_OCI_CONFIG);
	one((const char *)data, size, GI_OCI_PROCESS);
	if (gi_oci_root_path((const char *)data, size, root, sizeof(root)) == 0 &&
	    (root[0] == 0 || strlen(root) >= sizeof(root)))
		abort();
	return 0;
}
