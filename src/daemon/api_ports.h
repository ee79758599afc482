/* The published-ports endpoints of sbxd's REST API (/v1/sandboxes/NAME/ports, see
 * docs/API.md): parses their bodies (untrusted client bytes) and shapes their JSON; publish.c
 * does the work. Never sends the response itself (api.c does). */
#ifndef SBX_DAEMON_API_PORTS_H
#define SBX_DAEMON_API_PORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/portspec.h"
#include "daemon/publish.h"
#include "daemon/sandbox.h"

/**
 * api_ports_parse() - the one parser of a POST or DELETE /v1/sandboxes/NAME/ports body:
 * {"sandbox_port": 1..65535, "protocol": "tcp"|"udp"?, "host_ip": string?, "host_port":
 * 0..65535?} (@len bytes, need not be NUL-terminated). Defaults: tcp, 127.0.0.1, 0; @out's
 * ip_given / host_port_given say which were present (DELETE matches only on those).
 * Return: 0, or -1 with the 400 message in @err (@errlen bytes).
 */
int api_ports_parse(const char *body, size_t len, struct port_spec *out, char *err, size_t errlen);

/**
 * api_ports_json() - the JSON array of @n publications (the "ports" of a sandbox object).
 */
json_t *api_ports_json(const struct publication *p, size_t n);

/**
 * api_ports_route() - answer @method on /v1/sandboxes/@name/ports.
 * @out: the JSON answer; errors are {"error": "one line"}. Return: the HTTP status.
 */
unsigned api_ports_route(struct sbxd_ctx *ctx, const char *method, const char *name,
			 const char *body, size_t len, json_t **out);

#endif
