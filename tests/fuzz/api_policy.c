/* libFuzzer target for api_policy_add_parse(), the POST /v1/policies body parser of sbxd,
 * followed by the resource list parser the body's text goes to next. */
#include "daemon/api_policy.h"
#include "daemon/policy/pattern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pol_pattern pats[64];
	struct api_policy_add_req rq;
	char err[768];
	json_t *root;
	size_t n;
	char *body = malloc(size ? size : 1); /* exact size: ASan sees any over-read */

	if (!body)
		return 0;
	memcpy(body, data, size);
	if (api_policy_add_parse(body, size, &rq, &root, err, sizeof(err)) == 0) {
		/* the joined list is NUL-terminated, holds no NUL, and is no longer than the
		 * body (each ',' added replaces at least one byte of JSON syntax) */
		if (!rq.decision || !rq.resources || strlen(rq.resources) > size)
			abort();
		if (rq.sandbox && strlen(rq.sandbox) > size)
			abort();
		if (pol_pattern_list_parse(rq.resources, pats, 64, &n, err, sizeof(err)) == 0 &&
		    n > 64)
			abort();
		free(rq.resources);
		json_decref(root);
	} else if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n') || root) {
		abort();
	}
	free(body);
	return 0;
}
