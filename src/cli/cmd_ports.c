/* `sbx ports NAME [--publish SPEC]... [--unpublish SPEC]... [--json]` and the published-port
 * helpers create and run share (-p): specs parsed before any request, sbxd's publication
 * objects checked and shown the one way sbx shows ports. Never binds a port itself: sbxd does. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

static const char ports_help[] =
    "Usage: sbx ports NAME [--publish SPEC]... [--unpublish SPEC]... [--json]\n"
    "\n"
    "List, publish or unpublish ports of sandbox NAME on the host. Each connection to\n"
    "a published host port (each datagram, for udp) goes to SANDBOX_PORT inside the\n"
    "sandbox, where servers bound to 127.0.0.1 are reached as well as those bound to\n"
    "0.0.0.0. Publications are kept while the sandbox is stopped, bound again at each\n"
    "start (an ephemeral host port may then differ) and removed with `sbx rm`.\n"
    "Without options: one line per publication, HOST_IP:HOST_PORT -> SANDBOX_PORT/PROTO.\n"
    "\n"
    "SPEC: [[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp|/udp]\n"
    "  3000                127.0.0.1, an ephemeral host port (printed), tcp\n"
    "  8080:3000           127.0.0.1:8080 -> 3000/tcp\n"
    "  127.0.0.1::3000     an ephemeral host port on that address\n"
    "  0.0.0.0:8080:3000   every host address: reachable from your network (warned)\n"
    "  [::1]:8080:3000     an IPv6 host address, in brackets\n"
    "  5353/udp            udp datagrams\n"
    "\n"
    "Options:\n"
    "  -p, --publish SPEC     publish a port (repeatable)\n"
    "      --unpublish SPEC   remove the publications of SANDBOX_PORT/PROTO; a HOST_IP\n"
    "                         or HOST_PORT in SPEC narrows it to those (repeatable)\n"
    "      --json             print sbxd's JSON array of publications\n"
    "  -h, --help             show this help\n"
    "\n"
    "Examples:\n"
    "  sbx ports my-sandbox --publish 8080:3000\n"
    "  sbx ports my-sandbox --unpublish 3000\n"
    "  sbx run -p 3000 shell   (publish when starting; create takes -p too)\n";

int cli_ports_add(struct cli_ports *l, const char *verb, const char *text, bool unpublish)
{
	char err[256];

	if (l->n == CLI_PORTS_MAX)
		return cli_usage_error(verb, "too many port specs at '%s' (at most %d)", text,
				       CLI_PORTS_MAX);
	if (portspec_parse(text, &l->spec[l->n], err, sizeof(err)) < 0)
		return cli_usage_error(verb, "%s", err);
	l->unpublish[l->n++] = unpublish;
	return 0;
}

json_t *cli_port_body(const struct port_spec *s, bool unpublish)
{
	json_t *o = json_pack("{s:i, s:s}", "sandbox_port", (json_int_t)s->sandbox_port, "protocol",
			      portspec_proto_name(s->proto));

	if (!o)
		return NULL;
	if (!unpublish || s->ip_given)
		json_object_set_new(o, "host_ip", json_string(s->host_ip));
	if (!unpublish || s->host_port_given)
		json_object_set_new(o, "host_port", json_integer(s->host_port));
	return o;
}

/* Integer member @key of @o within [lo, hi], or -1. */
static long int_in(const json_t *o, const char *key, long lo, long hi)
{
	const json_t *v = json_object_get(o, key);
	json_int_t i;

	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	return i >= lo && i <= hi ? (long)i : -1;
}

int cli_port_from_json(const json_t *o, struct port_spec *out, bool *active)
{
	const char *ip = json_string_value(json_object_get(o, "host_ip"));
	const char *proto = json_string_value(json_object_get(o, "protocol"));
	long hp = int_in(o, "host_port", 0, 65535), sp = int_in(o, "sandbox_port", 1, 65535);

	memset(out, 0, sizeof(*out));
	*active = true;
	if (!json_is_object(o) || !ip || !proto || hp < 0 || sp < 0)
		return -1;
	if (strlen(ip) >= PORTSPEC_IP_MAX || portspec_set_ip(out, ip) < 0)
		return -1;
	out->proto = portspec_proto_parse(proto);
	if (!out->proto)
		return -1;
	out->host_port = (uint16_t)hp;
	out->sandbox_port = (uint16_t)sp;
	out->ip_given = out->host_port_given = true;
	*active = !json_is_false(json_object_get(o, "active"));
	return 0;
}

/* @s as portspec_format() makes it, " -> " with @spaced, "<ephemeral>" for host port 0. */
static char *spec_text(const struct port_spec *s, bool spaced, char *out, size_t n)
{
	char t[PORTSPEC_TEXT_MAX];
	char *arrow;

	portspec_format(s, t, sizeof(t));
	arrow = strstr(t, "->"); /* addresses have no '-': the first "->" is the arrow */
	if (!arrow) {
		snprintf(out, n, "%s", t);
		return out;
	}
	*arrow = '\0';
	if (s->host_port == 0) {
		char *colon = strrchr(t, ':'); /* before the "0" */
		if (colon)
			colon[1] = '\0';
	}
	snprintf(out, n, "%s%s%s%s", t, s->host_port ? "" : "<ephemeral>", spaced ? " -> " : "->",
		 arrow + 2);
	return out;
}

char *cli_port_text(const json_t *o, bool spaced, char *out, size_t n)
{
	struct port_spec s;
	bool active;

	if (cli_port_from_json(o, &s, &active) < 0)
		return NULL;
	return spec_text(&s, spaced, out, n);
}

char *cli_ports_list_text(const json_t *ports)
{
	char buf[1024] = "", one[PORTSPEC_TEXT_MAX + 16];
	const size_t room = sizeof(buf) - sizeof(", ..."); /* kept free for the ellipsis */
	size_t used = 0;

	for (size_t i = 0; i < json_array_size(ports); i++) {
		if (!cli_port_text(json_array_get(ports, i), false, one, sizeof(one)))
			continue;
		size_t need = (used ? 2 : 0) + strlen(one);
		if (used + need > room) {
			snprintf(buf + used, sizeof(buf) - used, "%s", used ? ", ..." : "...");
			break;
		}
		snprintf(buf + used, sizeof(buf) - used, "%s%s", used ? ", " : "", one);
		used += need;
	}
	return strdup(buf);
}

/* One line for a failed ports request: sbxd's error, or "no sandbox" for a bare 404. */
static void print_failure(const struct api_resp *r, const char *name)
{
	if (r->status == 404 && !*api_str(r->json, "error"))
		sbx_err("no sandbox named %s (see sbx ls)", name);
	else
		api_print_error(r);
}

static int report_published(const struct api_resp *r, const char *name,
			    const struct port_spec *asked, FILE *out, bool quiet_same)
{
	char text[PORTSPEC_TEXT_MAX + 16];
	const char *warning;

	if ((r->status != 201 && r->status != 200) || !json_is_object(r->json)) {
		print_failure(r, name);
		return 1;
	}
	warning = api_str(r->json, "warning");
	if (*warning)
		fprintf(stderr, "Warning: %s\n", warning);
	if (!out || (quiet_same && r->status == 200))
		return 0;
	if (!cli_port_text(r->json, true, text, sizeof(text)))
		spec_text(asked, true, text, sizeof(text)); /* what was asked, at least */
	if (json_is_false(json_object_get(r->json, "active")))
		fprintf(out, "Published %s (bound when %s starts)\n", text, name);
	else
		fprintf(out, "Published %s\n", text);
	fflush(out);
	return 0;
}

static int report_removed(const struct api_resp *r, const char *name, FILE *out)
{
	char text[PORTSPEC_TEXT_MAX + 16];
	const json_t *removed = json_object_get(r->json, "removed");

	if (r->status != 200 || !json_is_array(removed)) {
		print_failure(r, name);
		return 1;
	}
	for (size_t i = 0; out && i < json_array_size(removed); i++)
		if (cli_port_text(json_array_get(removed, i), true, text, sizeof(text)))
			fprintf(out, "Unpublished %s\n", text);
	if (out)
		fflush(out);
	return 0;
}

int cli_ports_apply(struct api *a, const char *name, const struct cli_ports *l, FILE *out,
		    bool quiet_same)
{
	char path[128];

	snprintf(path, sizeof(path), "/v1/sandboxes/%s/ports", name);
	for (int i = 0; i < l->n; i++) {
		json_t *body = cli_port_body(&l->spec[i], l->unpublish[i]);
		struct api_resp r;
		int rc = api_call(a, l->unpublish[i] ? "DELETE" : "POST", path, body,
				  API_TIMEOUT_SHORT, &r);

		json_decref(body);
		if (rc == 0)
			rc = l->unpublish[i]
				 ? report_removed(&r, name, out)
				 : report_published(&r, name, &l->spec[i], out, quiet_same);
		api_resp_free(&r);
		if (rc)
			return 1;
	}
	return 0;
}

/* `sbx ports NAME [--json]`: the publications, as sbxd orders them. */
static int list_ports(struct api *a, const char *name, bool json)
{
	char path[128], text[PORTSPEC_TEXT_MAX + 16];
	struct api_resp r;
	int rc = 1;

	snprintf(path, sizeof(path), "/v1/sandboxes/%s/ports", name);
	if (api_call(a, "GET", path, NULL, API_TIMEOUT_SHORT, &r) < 0)
		goto out;
	if (r.status == 404) {
		sbx_err("no sandbox named %s (see sbx ls)", name);
		goto out;
	}
	if (r.status != 200 || !json_is_array(r.json)) {
		api_print_error(&r);
		goto out;
	}
	if (json) {
		json_dumpf(r.json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		for (size_t i = 0; i < json_array_size(r.json); i++)
			if (cli_port_text(json_array_get(r.json, i), true, text, sizeof(text)))
				printf("%s\n", text);
	}
	rc = 0;
out:
	api_resp_free(&r);
	return rc;
}

/**
 * cmd_ports() - `sbx ports NAME [--publish SPEC]... [--unpublish SPEC]... [--json]`.
 */
int cmd_ports(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {'p', "publish", CLI_ARG_VALUE, 'p'},
	    {0, "unpublish", CLI_ARG_VALUE, 'u'},
	    {0, "json", CLI_ARG_NONE, 'j'},
	    {0, NULL, 0, 0},
	};
	struct cli_ports l = {0};
	struct cli_parser ps;
	const char *name = NULL;
	bool json = false;
	int id, rc;

	cli_parser_init(&ps, argc, argv, "ports", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(ports_help, stdout);
			return 0;
		case CLI_OPT_POSITIONAL:
			if (name)
				return cli_usage_error("ports", "unexpected argument '%s'",
						       ps.value);
			name = ps.value;
			break;
		case 'p':
		case 'u':
			if (cli_ports_add(&l, "ports", ps.value, id == 'u'))
				return 1;
			break;
		case 'j':
			json = true;
			break;
		}
	}
	if (!name)
		return cli_usage_error("ports", "missing NAME");
	if (json && l.n)
		return cli_usage_error("ports",
				       "--json lists only; it cannot be combined with --publish "
				       "or --unpublish");
	if (!cli_name_valid(name)) {
		sbx_err("no sandbox named %s (see sbx ls)", name);
		return 1;
	}

	struct api a;
	if (api_init(&a, p) < 0)
		return 1;
	rc = l.n ? cli_ports_apply(&a, name, &l, stdout, false) : list_ports(&a, name, json);
	api_close(&a);
	return rc;
}
