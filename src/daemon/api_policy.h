/* The network policy endpoints of sbxd's REST API (/v1/policies, /v1/policy/..., see
 * docs/API.md): parses their queries and bodies (untrusted client bytes) and shapes their
 * JSON. Never touches SQL (netpol.c does) and never sends the response itself (api.c does). */
#ifndef SBX_DAEMON_API_POLICY_H
#define SBX_DAEMON_API_POLICY_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/sandbox.h"

/**
 * api_policy_match() - whether @url belongs to the policy endpoints ("/v1/policies",
 * "/v1/policies/...", "/v1/policy/...").
 */
bool api_policy_match(const char *url);

/* A POST /v1/policies body, parsed. */
struct api_policy_add_req {
	const char *decision; /* "allow" | "deny" (checked by netpol_policy_add) */
	char *resources;      /* the list, array items joined with ","; malloc'd */
	const char *sandbox;  /* NULL: global */
};

/**
 * api_policy_add_parse() - the one parser of a POST /v1/policies body (untrusted bytes):
 * {"decision": string, "resources": string or [string, ...], "sandbox": string|null?}.
 * @body: need not be NUL-terminated; @len bytes.
 * @root: receives the JSON document @rq's strings point into; json_decref() it when done.
 * @err: the 400 message on failure (@errlen bytes).
 * Return: 0 (free @rq->resources), or -1 with @err set, *@root NULL and nothing to free.
 */
int api_policy_add_parse(const char *body, size_t len, struct api_policy_add_req *rq, json_t **root,
			 char *err, size_t errlen);

/**
 * api_policy_route() - answer one policy request.
 * @ctx: sbxd's context (the store is read to tell whether a scoped sandbox exists).
 * @c: the connection (for query arguments).
 * @method: "GET", "POST", "PUT", "DELETE".
 * @url: the path, without the query.
 * @body: the request body (may be NULL; need not be NUL-terminated) of @len bytes.
 * @out: set to the JSON answer, or NULL for 204; errors are {"error": "one line"}.
 * Return: the HTTP status.
 */
unsigned api_policy_route(struct sbxd_ctx *ctx, struct MHD_Connection *c, const char *method,
			  const char *url, const char *body, size_t len, json_t **out);

#endif
