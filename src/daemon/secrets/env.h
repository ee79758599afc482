/* The environment a sandbox's secrets imply inside its guest: sentinels and placeholders,
 * never a value. Computed from secret_info records (which hold no value) so nothing here
 * can leak a key into the guest. */
#ifndef SBX_DAEMON_SECRETS_ENV_H
#define SBX_DAEMON_SECRETS_ENV_H

#include "daemon/secrets/store.h"

#include <stddef.h>

#define SECRET_SENTINEL "proxy-managed" /* what a service's variables hold in the guest */

/* One variable the guest sees. */
struct secret_env_var {
	char name[SECRET_ENV_MAX];
	char value[SECRET_PH_MAX]; /* SECRET_SENTINEL or a custom secret's placeholder */
};

/**
 * secret_env_compute() - the variables the secrets @list (@n of them) imply for sandbox
 * @sandbox created at @created: for each secret that applies to it (secret_applies()), every
 * variable of its service (services.h) = SECRET_SENTINEL, or, for a custom secret, its
 * variable = its placeholder. When two secrets name one variable, the one
 * secret_store_find() would pick wins (the sandbox's own, then global, then the host
 * environment's; within a tier a service beats a custom secret).
 * @out: room for @max variables; each name appears once, in the order first set.
 * Return: how many were written (at most @max).
 */
size_t secret_env_compute(const struct secret_info *list, size_t n, const char *sandbox,
			  int64_t created, struct secret_env_var *out, size_t max);

struct json_t;

/**
 * secret_env_json() - secret_env_compute() over every secret in @s, as a new JSON object
 * {"VAR": "value", ...} (empty when @s is NULL or holds none that apply).
 * Return: the object (caller decrefs), or NULL when out of memory.
 */
struct json_t *secret_env_json(struct secret_store *s, const char *sandbox, int64_t created);

#endif
