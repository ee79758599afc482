/* The guest-side environment of a sandbox's secrets (see env.h): service variables set to
 * the sentinel, custom variables to their placeholders. Reads only secret_info records
 * (no values), so no key can reach this output. */
#include "daemon/secrets/env.h"
#include "daemon/secrets/services.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set @name = @value in @out (@n used of @max): replace it if present, else append. */
static void env_put(struct secret_env_var *out, size_t *n, size_t max, const char *name,
		    const char *value)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(out[i].name, name) == 0)
			break;
	if (i == *n) {
		if (*n == max)
			return;
		(*n)++;
		snprintf(out[i].name, sizeof(out[i].name), "%s", name);
	}
	snprintf(out[i].value, sizeof(out[i].value), "%s", value);
}

/* The variables of @e into @out. */
static void env_of(const struct secret_info *e, struct secret_env_var *out, size_t *n, size_t max)
{
	if (e->kind == SECRET_CUSTOM) {
		if (e->env[0] && e->placeholder[0])
			env_put(out, n, max, e->env, e->placeholder);
		return;
	}
	const struct secret_service *svc = secret_service_find(e->name);
	for (size_t j = 0; svc && j < SECRET_SERVICE_ENVS && svc->env[j]; j++)
		env_put(out, n, max, svc->env[j], SECRET_SENTINEL);
}

/* The tier of @e as secret_store_find() ranks them: 0 from the host environment, 1 global
 * custom, 2 global service, 3 own custom, 4 own service. */
static int tier(const struct secret_info *e)
{
	if (e->from_env)
		return 0;
	return (e->scope[0] ? 3 : 1) + (e->kind == SECRET_SERVICE);
}

size_t secret_env_compute(const struct secret_info *list, size_t n, const char *sandbox,
			  int64_t created, struct secret_env_var *out, size_t max)
{
	size_t used = 0;

	/* weakest first, so stronger ones overwrite */
	for (int pass = 0; pass < 5; pass++)
		for (size_t i = 0; i < n; i++)
			if (tier(&list[i]) == pass && secret_applies(&list[i], sandbox, created))
				env_of(&list[i], out, &used, max);
	return used;
}

json_t *secret_env_json(struct secret_store *s, const char *sandbox, int64_t created)
{
	struct secret_info *list = NULL;
	size_t n = 0;
	json_t *j = json_object();

	if (!j || !s)
		return j;
	if (secret_store_list(s, &list, &n) < 0) {
		json_decref(j);
		return NULL;
	}
	size_t max = n * SECRET_SERVICE_ENVS + 1;
	struct secret_env_var *vars = calloc(max, sizeof(*vars));
	if (!vars) {
		free(list);
		json_decref(j);
		return NULL;
	}
	size_t nv = secret_env_compute(list, n, sandbox, created, vars, max);
	for (size_t i = 0; i < nv; i++)
		json_object_set_new(j, vars[i].name, json_string(vars[i].value));
	free(vars);
	free(list);
	return j;
}
