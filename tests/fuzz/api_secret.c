/* libFuzzer target for api_secret_parse(), the POST /v1/secrets and /v1/secrets/custom body
 * parser of sbxd (the first input byte picks which), followed by the checks the store applies
 * to what it returns. */
#include "daemon/api_secrets.h"
#include "daemon/secrets/services.h"
#include "daemon/secrets/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* @s is NULL or a NUL-terminated string inside the body's length. */
static void check_str(const char *s, size_t size)
{
	if (s && strlen(s) > size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_secret_req rq;
	char err[768];
	json_t *root;

	if (size < 1)
		return 0;
	bool custom = data[0] & 1;
	size--;
	char *body = malloc(size ? size : 1); /* exact size: ASan sees any over-read */
	if (!body)
		return 0;
	memcpy(body, data + 1, size);
	if (api_secret_parse(body, size, custom, &rq, &root, err, sizeof(err)) == 0) {
		if (!rq.value || !root || (custom ? !rq.host || !rq.env : !rq.service))
			abort();
		check_str(rq.value, size);
		check_str(rq.sandbox, size);
		check_str(rq.host, size);
		check_str(rq.env, size);
		check_str(rq.name, size);
		if (rq.from_env && (custom || !rq.sandbox))
			abort(); /* a host-environment key is a service's, for one sandbox */
		check_str(rq.service, size);
		if (rq.sandbox && !rq.sandbox[0])
			abort();
		(void)secret_value_valid(rq.value);
		if (custom) {
			(void)secret_host_valid(rq.host);
			(void)secret_env_valid(rq.env);
		} else {
			(void)secret_service_find(rq.service);
		}
		json_decref(root);
	} else if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n') || root) {
		abort();
	}
	free(body);
	return 0;
}
