/* The host-environment fallback for secrets (see secret_hostenv.h): which variables hold a
 * key, and handing them to sbxd (POST /v1/secrets, "source": "env"). */
#include "cli/secret_hostenv.h"
#include "cli/api_client.h"
#include "common/err.h"
#include "daemon/secrets/env.h"
#include "daemon/secrets/services.h"
#include "daemon/secrets/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t cli_host_env_keys(char *(*get)(const char *), struct cli_host_key *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < secret_service_count() && n < max; i++) {
		const struct secret_service *svc = secret_service_at(i);
		for (size_t j = 0; j < SECRET_SERVICE_ENVS && svc->env[j]; j++) {
			const char *v = get(svc->env[j]);
			if (!v || !secret_value_valid(v) || strcmp(v, SECRET_SENTINEL) == 0 ||
			    strncmp(v, "sbx-ph-", 7) == 0)
				continue;
			out[n++] = (struct cli_host_key){svc->name, svc->env[j], v};
			break;
		}
	}
	return n;
}

void cli_secrets_from_env(struct api *a, const char *sandbox, bool quiet)
{
	struct cli_host_key keys[32];
	size_t n = cli_host_env_keys(getenv, keys, sizeof(keys) / sizeof(keys[0]));

	for (size_t i = 0; i < n; i++) {
		struct api_resp r;
		json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "service", keys[i].service, "sandbox",
					 sandbox, "value", keys[i].value, "source", "env");
		int rc =
		    body ? api_call(a, "POST", "/v1/secrets", body, API_TIMEOUT_SHORT, &r) : -1;
		json_decref(body);
		if (rc < 0) {
			sbx_err("warning: %s from this shell's %s was not handed to sbxd",
				keys[i].service, keys[i].var);
			continue;
		}
		if (r.status != 200 && r.status != 201)
			api_print_error(&r);
		else if (!quiet && json_is_true(json_object_get(r.json, "in_use")))
			fprintf(
			    stderr,
			    "Secret %s: the key in this shell's %s (sbxd injects it; a key stored "
			    "with sbx secret set wins)\n",
			    keys[i].service, keys[i].var);
		api_resp_free(&r);
	}
}
