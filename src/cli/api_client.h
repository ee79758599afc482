/* The CLI's client for sbxd's REST API (docs/API.md): HTTP/1.1 over <runtime>/sbxd.sock, JSON
 * with jansson. Starts sbxd on demand (daemon_start.h) when nobody answers. A minimal HTTP
 * client of its own (not libcurl: loading libcurl and its ~30 libraries costs ~8 ms per
 * command here, more than the whole `sbx exec NAME true` budget); the response is parsed in
 * one place, api_http_parse(), which is fuzzed (tests/fuzz/api_http.c).
 * Never blocks without a timeout; never prints more than one line per failure. */
#ifndef SBX_CLI_API_CLIENT_H
#define SBX_CLI_API_CLIENT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "common/paths.h"

/* Timeouts (ms): quick queries, requests that boot a VM (TCG is slow), stop/rm/reset. */
#define API_TIMEOUT_SHORT 15000
#define API_TIMEOUT_BOOT  240000
#define API_TIMEOUT_STOP  90000
#define API_TIMEOUT_RESET 600000

struct api {
	const struct sbx_paths *paths;
	char sock[108];
	bool autostart;	     /* start sbxd when the socket does not answer (default true) */
	const char *spinner; /* set for one call: "Starting sandbox X" shown on a terminal */
};

struct api_resp {
	long status;  /* HTTP status */
	json_t *json; /* parsed body, or NULL (204, or not JSON) */
	char *body;   /* raw body, NUL-terminated (may be empty) */
	size_t len;
	char error[512]; /* the body's "error" field, or a description of the status */
};

#define API_BODY_MAX   (16u << 20) /* largest response body accepted */
#define API_HEADER_MAX (64u << 10) /* largest response header block accepted */

struct api_http_msg {
	int status;	 /* 200..599 */
	size_t body_len; /* bytes written to the caller's body buffer */
};

/**
 * api_http_parse() - parse one HTTP/1.x response in @buf[0..@len). @eof: the peer closed the
 * stream (a body without length ends there). Handles Content-Length, chunked transfer
 * coding and close-delimited bodies; refuses anything malformed or over the limits above.
 * @body: output buffer of at least @len bytes (the decoded body is never longer).
 * Return: 1 complete (@m filled), 0 need more bytes, -1 malformed.
 */
int api_http_parse(const char *buf, size_t len, bool eof, char *body, struct api_http_msg *m);

/**
 * api_init() - prepare a client for @p's sbxd socket (no connection yet).
 * Return 0, or -1 with the error printed.
 */
int api_init(struct api *a, const struct sbx_paths *p);

/**
 * api_call() - one request. @body may be NULL. Waits at most @timeout_ms for the answer.
 * If sbxd is not running and a->autostart, starts it (daemon_start()) and retries once.
 * Return: 0 when sbxd answered (any HTTP status, see @r->status), -1 when it could not be
 * reached or timed out, with one line printed. @r must be freed with api_resp_free() in
 * both cases.
 */
int api_call(struct api *a, const char *method, const char *path, json_t *body, long timeout_ms,
	     struct api_resp *r);

/**
 * api_ping() - GET /v1/version without autostart and without printing anything.
 * Return 0 if sbxd answered 200, else -1.
 */
int api_ping(struct api *a, long timeout_ms);

/**
 * api_resp_free() - release what api_call() put in @r.
 */
void api_resp_free(struct api_resp *r);

/**
 * api_close() - release the client.
 */
void api_close(struct api *a);

/**
 * api_get_sandbox() - GET /v1/sandboxes/@name. Return 0 with *@out set (caller decrefs),
 * 1 if there is no such sandbox (nothing printed), -1 on any other failure (printed).
 */
int api_get_sandbox(struct api *a, const char *name, json_t **out);

/**
 * api_print_error() - print the one-line error of a non-2xx response @r.
 */
void api_print_error(const struct api_resp *r);

/**
 * api_str() - string member @key of JSON object @o, or "" if missing or not a string.
 */
const char *api_str(const json_t *o, const char *key);

#endif
