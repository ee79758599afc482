/* The secret endpoints of sbxd's REST API (/v1/secrets, /v1/secrets/custom,
 * /v1/secrets/NAME, see docs/API.md): parses their bodies (untrusted client bytes) and
 * shapes their JSON. Never puts a secret's value in an answer or a log line; the store
 * (secrets/store.c) does the keeping. */
#ifndef SBX_DAEMON_API_SECRETS_H
#define SBX_DAEMON_API_SECRETS_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/sandbox.h"

/**
 * api_secrets_match() - whether @url belongs to the secret endpoints ("/v1/secrets",
 * "/v1/secrets/...").
 */
bool api_secrets_match(const char *url);

/* A POST /v1/secrets or /v1/secrets/custom body, parsed; strings point into the JSON. */
struct api_secret_req {
	const char *service; /* POST /v1/secrets: the service name */
	const char *value;   /* the key; never logged */
	const char *sandbox; /* NULL: global */
	const char *host;    /* custom: the host the key is sent to */
	const char *env;     /* custom: the variable the guest sees the placeholder in */
	const char *name;    /* custom: NULL derives it from host */
	bool from_env;	     /* service: "source": "env" (a key from the host environment) */
};

/**
 * api_secret_parse() - the one parser of both POST bodies (untrusted bytes).
 * @custom: false for {"service", "value", "sandbox"?, "source"?: "user" | "env" (env needs
 * sandbox)}; true for {"host", "env", "value", "sandbox"?, "name"?}. Every member is a string
 * without NUL bytes (sandbox and name may be null); other members are refused. Values are not
 * checked here (the store does).
 * @body: need not be NUL-terminated; @len bytes.
 * @root: receives the JSON document @rq's strings point into; json_decref() it when done.
 * @err: the 400 message on failure (@errlen bytes); it never quotes the value.
 * Return: 0, or -1 with @err set, *@root NULL.
 */
int api_secret_parse(const char *body, size_t len, bool custom, struct api_secret_req *rq,
		     json_t **root, char *err, size_t errlen);

/**
 * api_secrets_route() - answer one secret request.
 * @ctx: sbxd's context (the store is read to tell whether a scoped sandbox exists).
 * @c: the connection (for ?sandbox=).
 * @method: "GET", "POST", "DELETE".
 * @url: the path, without the query.
 * @body: the request body (may be NULL; need not be NUL-terminated) of @len bytes.
 * @out: set to the JSON answer, or NULL for 204; errors are {"error": "one line"}.
 * Return: the HTTP status.
 */
unsigned api_secrets_route(struct sbxd_ctx *ctx, struct MHD_Connection *c, const char *method,
			   const char *url, const char *body, size_t len, json_t **out);

#endif
