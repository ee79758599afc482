/* The secret environment the CLI adds to every EXEC: the sandbox object's "secret_env"
 * (sentinels and placeholders from sbxd, never a key) merged under the user's -e flags. */
#ifndef SBX_CLI_SECRET_ENV_H
#define SBX_CLI_SECRET_ENV_H

#include <jansson.h>
#include <stddef.h>

/**
 * cli_secret_env_merge() - the environment for one EXEC: @user (@nuser "K=V" strings from
 * -e, in order), then every "secret_env" member of the sandbox object @sb whose name no
 * @user string sets (a -e always wins). Members that are not strings, or whose names are
 * empty or hold '=', are skipped.
 * @out: a new NULL-terminated array of new strings (free with cli_secret_env_free()), or
 * NULL when the result is empty.
 * Return: 0, or -1 when out of memory (*@out NULL).
 */
int cli_secret_env_merge(const json_t *sb, char *const *user, size_t nuser, char ***out);

/**
 * cli_secret_env_free() - free an array from cli_secret_env_merge() (NULL is fine).
 */
void cli_secret_env_free(char **env);

#endif
