/* /v1/sandboxes/NAME/ports (see api_ports.h and docs/API.md). */
#include "daemon/api_ports.h"
#include "daemon/api.h"

#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/ports.h"

int api_ports_parse(const char *body, size_t len, struct port_spec *out, char *err, size_t errlen)
{
	json_t *o, *sp, *pr, *ip, *hp;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->proto = PORTS_PROTO_TCP;
	portspec_set_ip(out, "127.0.0.1");
	o = api_body_object(body, len, API_BODY_PLAIN, err, errlen);
	if (!o)
		goto out;
	sp = json_object_get(o, "sandbox_port");
	pr = json_object_get(o, "protocol");
	ip = json_object_get(o, "host_ip");
	hp = json_object_get(o, "host_port");
	if (!json_is_integer(sp) || json_integer_value(sp) < 1 || json_integer_value(sp) > 65535) {
		snprintf(err, errlen, "bad request: sandbox_port must be a number from 1 to 65535");
		goto out;
	}
	out->sandbox_port = (uint16_t)json_integer_value(sp);
	if (pr &&
	    !(json_is_string(pr) && (out->proto = portspec_proto_parse(json_string_value(pr))))) {
		snprintf(err, errlen, "bad request: protocol must be \"tcp\" or \"udp\"");
		goto out;
	}
	if (ip && !(json_is_string(ip) && portspec_set_ip(out, json_string_value(ip)) == 0)) {
		snprintf(err, errlen, "bad request: host_ip must be an IPv4 or IPv6 address");
		goto out;
	}
	out->ip_given = ip != NULL;
	if (hp && !(json_is_integer(hp) && json_integer_value(hp) >= 0 &&
		    json_integer_value(hp) <= 65535)) {
		snprintf(err, errlen, "bad request: host_port must be a number from 0 to 65535");
		goto out;
	}
	out->host_port = hp ? (uint16_t)json_integer_value(hp) : 0;
	out->host_port_given = out->host_port != 0;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static json_t *one_json(const struct publication *p)
{
	return json_pack("{s:s,s:i,s:i,s:s,s:b,s:b}", "host_ip", p->row.spec.host_ip, "host_port",
			 (int)p->row.spec.host_port, "sandbox_port", (int)p->row.spec.sandbox_port,
			 "protocol", portspec_proto_name(p->row.spec.proto), "ephemeral",
			 p->row.ephemeral, "active", p->active);
}

json_t *api_ports_json(const struct publication *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, one_json(&p[i]));
	return a;
}

static json_t *error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

unsigned api_ports_route(struct sbxd_ctx *ctx, const char *method, const char *name,
			 const char *body, size_t len, json_t **out)
{
	char err[SBX_ERR_MAX];
	struct publication *list = NULL, one;
	struct port_spec spec;
	size_t n = 0;
	int st;

	if (strcmp(method, "GET") == 0) {
		st = publish_list(ctx, name, &list, &n, err);
		*out = st == 200 ? api_ports_json(list, n) : error_json(err);
		free(list);
		return (unsigned)st;
	}
	if (strcmp(method, "POST") != 0 && strcmp(method, "DELETE") != 0) {
		*out = error_json("method not allowed (see docs/API.md)");
		return 405;
	}
	if (api_ports_parse(body, len, &spec, err, sizeof(err)) < 0) {
		*out = error_json(err);
		return 400;
	}
	if (strcmp(method, "DELETE") == 0) {
		st = publish_remove(ctx, name, &spec, &list, &n, err);
		*out = st == 200 ? json_pack("{s:o}", "removed", api_ports_json(list, n))
				 : error_json(err);
		free(list);
		return (unsigned)st;
	}
	st = publish_add(ctx, name, &spec, &one, err);
	if (st != 200 && st != 201) {
		*out = error_json(err);
		return (unsigned)st;
	}
	*out = one_json(&one);
	if (!portspec_is_loopback(&one.row.spec)) {
		char w[256];
		snprintf(w, sizeof(w),
			 "%s%s%s is not a loopback address: the port is reachable from other "
			 "machines that can reach this host",
			 one.row.spec.family == AF_INET6 ? "[" : "", one.row.spec.host_ip,
			 one.row.spec.family == AF_INET6 ? "]" : "");
		json_object_set_new(*out, "warning", json_string(w));
	}
	return (unsigned)st;
}
