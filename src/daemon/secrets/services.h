/* The table of services sbx knows how to hold an API key for: which hosts the key is sent
 * to, in which header and form, and which environment variables the agent CLIs read it
 * from. Pure data and lookups; never sees a key. */
#ifndef SBX_DAEMON_SECRETS_SERVICES_H
#define SBX_DAEMON_SECRETS_SERVICES_H

#include <stddef.h>

#define SECRET_SERVICE_HOSTS 3 /* hosts per service, at most */
#define SECRET_SERVICE_ENVS  3 /* environment variables per service, at most */

/* One known service. The header sent is "<header>: <prefix><KEY>". */
struct secret_service {
	const char *name;			     /* "anthropic" */
	const char *hosts[SECRET_SERVICE_HOSTS + 1]; /* NULL-terminated, lowercase */
	const char *header;			     /* "x-api-key", "Authorization" */
	const char *prefix;			     /* "" or "Bearer " */
	const char *env[SECRET_SERVICE_ENVS + 1];    /* NULL-terminated: what the CLIs read */
};

/**
 * secret_service_count() - how many services the table holds.
 */
size_t secret_service_count(void);

/**
 * secret_service_at() - the @i-th service (0 <= @i < secret_service_count()), or NULL.
 */
const struct secret_service *secret_service_at(size_t i);

/**
 * secret_service_find() - the service named exactly @name ("anthropic"), or NULL.
 */
const struct secret_service *secret_service_find(const char *name);

/**
 * secret_service_by_host() - the service whose hosts include @host (compared without
 * regard to case, one trailing dot ignored), or NULL.
 */
const struct secret_service *secret_service_by_host(const char *host);

/**
 * secret_service_has_host() - true if @host (as for secret_service_by_host()) is one of
 * @svc's hosts.
 */
int secret_service_has_host(const struct secret_service *svc, const char *host);

/**
 * secret_service_names() - the names of every service joined with ", " into @buf (@len
 * bytes, always NUL-terminated).
 */
void secret_service_names(char *buf, size_t len);

/**
 * secret_service_join() - @list (NULL-terminated) joined with "," into @buf (@len bytes).
 */
void secret_service_join(const char *const *list, char *buf, size_t len);

#endif
