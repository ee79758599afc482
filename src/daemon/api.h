/* sbxd's REST API (docs/API.md): HTTP/1.1 + JSON on a unix socket, served by
 * libmicrohttpd with a thread per connection so a slow start never blocks `ls`.
 * Owns request parsing and JSON shapes; never touches SQL or processes directly. */
#ifndef SBX_DAEMON_API_H
#define SBX_DAEMON_API_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/sandbox.h"

struct api;

/* How api_body_object() parses a body and words its error. */
enum api_body_mode {
	API_BODY_PLAIN,	 /* jansson's defaults; its error text goes into the message */
	API_BODY_SECRET, /* duplicate members rejected; the message never quotes the body */
};

/**
 * api_body_object() - parse a request body (untrusted client bytes) that must be a JSON object.
 * @body:   the body, need not be NUL-terminated; NULL means empty.
 * @len:    its length.
 * @mode:   API_BODY_PLAIN, or API_BODY_SECRET for bodies that carry a secret value.
 * @err:    one line on failure: "bad request: body is not a JSON object: <why> (see
 *          docs/API.md)", or without ": <why>" in API_BODY_SECRET mode (jansson's text may
 *          quote the body, hence the value).
 * @errlen: size of @err.
 * Return: the object (json_decref() it), or NULL with @err set.
 */
json_t *api_body_object(const char *body, size_t len, enum api_body_mode mode, char *err,
			size_t errlen);

/**
 * api_start() - serve the API on the listening unix socket @listen_fd.
 * Return: 0 with *@out set, or -1 with an error printed.
 */
int api_start(struct sbxd_ctx *ctx, int listen_fd, struct api **out);

/**
 * api_create_parse() - the one parser of a POST /v1/sandboxes body (untrusted bytes from a
 * client): JSON object with string agent, workspace, name?, engine? and positive integer
 * memory_mib?, cpus?. @body need not be NUL-terminated.
 * @root: receives the JSON document @cr's strings point into; json_decref() it when done.
 * Return: 0, or -1 with @err (SBX_ERR_MAX bytes) holding the 400 message and *@root NULL.
 */
int api_create_parse(const char *body, size_t len, struct sandbox_create_req *cr, json_t **root,
		     char *err);

/**
 * api_quiesce() - stop accepting new connections; requests in flight continue.
 */
void api_quiesce(struct api *api);

/**
 * api_active() - number of requests being handled right now.
 */
int api_active(struct api *api);

/**
 * api_stop() - stop the server (waits for connection threads). Only call when idle.
 */
void api_stop(struct api *api);

#endif
