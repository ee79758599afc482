/* The host-environment fallback for secrets: at `sbx create` / a first `sbx run`, a known
 * service's API key found in this shell's environment (ANTHROPIC_API_KEY, ...) is handed to
 * sbxd for the new sandbox as its weakest secret (a stored one beats it). The key goes to
 * sbxd only, never into the VM, which sees the sentinel as for any other secret. */
#ifndef SBX_CLI_SECRET_HOSTENV_H
#define SBX_CLI_SECRET_HOSTENV_H

#include <stdbool.h>
#include <stddef.h>

struct api;

/* One key found in the environment. */
struct cli_host_key {
	const char *service; /* "anthropic" (static) */
	const char *var;     /* the variable it came from (static) */
	const char *value;   /* points into the environment */
};

/**
 * cli_host_env_keys() - for each known service, the first of its variables (services.h) that
 * @get (getenv, or a stand-in in tests) returns a usable key for: secret_value_valid(), and
 * not a sentinel or placeholder (as inside a sandbox). At most @max into @out.
 * Return: how many were found.
 */
size_t cli_host_env_keys(char *(*get)(const char *), struct cli_host_key *out, size_t max);

/**
 * cli_secrets_from_env() - send every key cli_host_env_keys(getenv) finds to sbxd as sandbox
 * @sandbox's from the host environment; for each one the proxy will use, one line on stderr
 * naming the service and the variable (unless @quiet). Failures are warnings (one line each):
 * the sandbox is made either way.
 */
void cli_secrets_from_env(struct api *a, const char *sandbox, bool quiet);

#endif
