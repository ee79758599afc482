/* Merges sbxd's "secret_env" into an EXEC's environment (see secret_env.h). Only copies
 * strings sbxd already chose to show the guest; never reads a secret. */
#include "cli/secret_env.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether one of @user sets variable @name. */
static bool user_sets(char *const *user, size_t nuser, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < nuser; i++)
		if (strncmp(user[i], name, len) == 0 && user[i][len] == '=')
			return true;
	return false;
}

void cli_secret_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

int cli_secret_env_merge(const json_t *sb, char *const *user, size_t nuser, char ***out)
{
	json_t *senv = json_object_get(sb, "secret_env");
	size_t cap = nuser + (json_is_object(senv) ? json_object_size(senv) : 0), n = 0;
	const char *k;
	json_t *v;
	char **env;

	*out = NULL;
	if (cap == 0)
		return 0;
	env = calloc(cap + 1, sizeof(*env));
	if (!env)
		return -1;
	for (size_t i = 0; i < nuser; i++)
		if (!(env[n++] = strdup(user[i])))
			goto oom;
	if (json_is_object(senv)) {
		json_object_foreach(senv, k, v)
		{
			if (!json_is_string(v) || !*k || strchr(k, '=') ||
			    user_sets(user, nuser, k))
				continue;
			size_t len = strlen(k) + strlen(json_string_value(v)) + 2;
			if (!(env[n] = malloc(len)))
				goto oom;
			snprintf(env[n++], len, "%s=%s", k, json_string_value(v));
		}
	}
	if (n == 0) {
		free(env);
		return 0;
	}
	*out = env;
	return 0;
oom:
	cli_secret_env_free(env);
	return -1;
}
