/* The network policy endpoints (see api_policy.h, docs/API.md "Network policy"): bodies and
 * query arguments are checked here, answers shaped here; every change goes through netpol.c.
 * Never builds SQL, never holds a snapshot beyond one request. */
#include "daemon/api_policy.h"
#include "daemon/api.h"
#include "common/err.h"
#include "daemon/netpol.h"
#include "daemon/policy/addr.h"
#include "daemon/policy/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ERRLEN 768

static json_t *error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static void iso_time(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *query(struct MHD_Connection *c, const char *key)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	return v && v[0] ? v : NULL;
}

bool api_policy_match(const char *url)
{
	return strcmp(url, "/v1/policies") == 0 || strncmp(url, "/v1/policies/", 13) == 0 ||
	       strncmp(url, "/v1/policy/", 11) == 0;
}

int api_policy_add_parse(const char *body, size_t len, struct api_policy_add_req *rq, json_t **root,
			 char *err, size_t errlen)
{
	json_t *o, *d, *r, *sb, *it;
	size_t i, total = 1;

	memset(rq, 0, sizeof(*rq));
	*root = NULL;
	o = api_body_object(body, len, API_BODY_PLAIN, err, errlen);
	if (!o)
		goto fail;
	d = json_object_get(o, "decision");
	r = json_object_get(o, "resources");
	sb = json_object_get(o, "sandbox");
	if (!json_is_string(d)) {
		snprintf(err, errlen, "bad request: decision must be \"allow\" or \"deny\"");
		goto fail;
	}
	if (sb && !json_is_null(sb) && !json_is_string(sb)) {
		snprintf(err, errlen, "bad request: sandbox must be a sandbox name or null");
		goto fail;
	}
	if (strlen(json_string_value(d)) != json_string_length(d) ||
	    (json_is_string(sb) && strlen(json_string_value(sb)) != json_string_length(sb)) ||
	    (json_is_string(r) && strlen(json_string_value(r)) != json_string_length(r))) {
		snprintf(err, errlen, "bad request: a string holds a NUL byte");
		goto fail;
	}
	if (json_is_string(r)) {
		total = json_string_length(r) + 1;
	} else if (json_is_array(r) && json_array_size(r) > 0) {
		json_array_foreach(r, i, it)
		{
			if (!json_is_string(it) ||
			    strlen(json_string_value(it)) != json_string_length(it)) {
				snprintf(err, errlen,
					 "bad request: resources[%zu] is not a string (or holds a "
					 "NUL byte)",
					 i);
				goto fail;
			}
			total += json_string_length(it) + 1;
		}
	} else {
		snprintf(err, errlen,
			 "bad request: resources must be a string \"a,b\" or a non-empty array of "
			 "strings");
		goto fail;
	}
	rq->resources = malloc(total);
	if (!rq->resources) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rq->resources[0] = '\0';
	if (json_is_string(r)) {
		memcpy(rq->resources, json_string_value(r), total);
	} else {
		size_t at = 0;
		json_array_foreach(r, i, it)
		{
			size_t l = json_string_length(it);
			if (at)
				rq->resources[at++] = ',';
			memcpy(rq->resources + at, json_string_value(it), l);
			at += l;
			rq->resources[at] = '\0';
		}
	}
	rq->decision = json_string_value(d);
	rq->sandbox = json_is_string(sb) ? json_string_value(sb) : NULL;
	*root = o;
	return 0;
fail:
	json_decref(o);
	memset(rq, 0, sizeof(*rq));
	return -1;
}

static json_t *policy_json(struct sbxd_ctx *ctx, const struct store_policy *p)
{
	char ts[32];
	bool active = true;
	json_t *res = json_array();
	const char *s = p->resources;

	while (s && *s) {
		size_t l = strcspn(s, ",");
		json_array_append_new(res, json_stringn(s, l));
		s += l + (s[l] == ',');
	}
	if (p->scope[0])
		active = store_exists(ctx->store, p->scope) != 1;
	iso_time(p->created_at, ts, sizeof(ts));
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "id", (json_int_t)p->id, "name",
			 p->name, "type", "network", "origin", p->origin, "decision", p->decision,
			 "scope", p->scope[0] ? p->scope : "global", "status",
			 active ? "active" : "inactive", "resources", res, "created_at", ts);
}

static unsigned h_list(struct sbxd_ctx *ctx, json_t **out)
{
	struct store_policy *all;
	size_t n;

	if (netpol_policy_list(&all, &n) < 0) {
		*out = error_json("cannot list policies: state database error");
		return 500;
	}
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, policy_json(ctx, &all[i]));
	store_policy_free(all, n);
	return 200;
}

/* The scope argument: NULL/"" global; else it must name an existing sandbox. */
static unsigned check_scope(struct sbxd_ctx *ctx, const char *sandbox, json_t **out)
{
	char msg[160];

	if (!sandbox || !sandbox[0])
		return 0;
	int rc = store_exists(ctx->store, sandbox);
	if (rc < 0) {
		*out = error_json("cannot read sandboxes: state database error");
		return 500;
	}
	if (rc == 1) {
		snprintf(msg, sizeof(msg), "no sandbox named %.60s (see sbx ls; -g for all)",
			 sandbox);
		*out = error_json(msg);
		return 404;
	}
	return 0;
}

static unsigned h_add(struct sbxd_ctx *ctx, const char *body, size_t len, json_t **out)
{
	struct api_policy_add_req rq;
	struct store_policy p;
	json_t *root;
	char err[ERRLEN];
	unsigned st;

	if (api_policy_add_parse(body, len, &rq, &root, err, sizeof(err)) < 0) {
		*out = error_json(err);
		return 400;
	}
	if ((st = check_scope(ctx, rq.sandbox, out)) == 0) {
		st = (unsigned)netpol_policy_add(rq.decision, rq.resources, rq.sandbox, &p, err,
						 sizeof(err));
		*out = st < 300 ? policy_json(ctx, &p) : error_json(err);
		free(p.resources);
	}
	free(rq.resources);
	json_decref(root);
	return st;
}

static unsigned h_remove_resource(struct sbxd_ctx *ctx, struct MHD_Connection *c, json_t **out)
{
	char err[ERRLEN];
	unsigned changed, st;
	const char *sandbox = query(c, "sandbox");

	if (!query(c, "resource")) {
		*out = error_json("bad request: give ?resource=PATTERN (and sandbox=, decision= "
				  "to narrow it) or DELETE /v1/policies/NAME");
		return 400;
	}
	if (sandbox && !store_name_valid(sandbox)) {
		snprintf(err, sizeof(err), "no sandbox named %.60s (see sbx ls)", sandbox);
		*out = error_json(err);
		return 404;
	}
	st = (unsigned)netpol_policy_remove_resource(query(c, "decision"), query(c, "resource"),
						     sandbox, &changed, err, sizeof(err));
	*out = st == 204 ? json_pack("{s:i}", "changed", (int)changed) : error_json(err);
	return st == 204 ? 200 : st;
}

static unsigned h_default(const char *method, const char *body, size_t len, json_t **out)
{
	char preset[16], err[ERRLEN];
	json_error_t jerr;
	size_t n = 0;

	if (strcmp(method, "GET") == 0) {
		netpol_preset_get(preset, sizeof(preset));
		*out = json_pack("{s:s?}", "preset", preset[0] ? preset : NULL);
		return 200;
	}
	if (strcmp(method, "PUT") != 0) {
		*out = error_json("method not allowed (GET or PUT)");
		return 405;
	}
	json_t *o = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
	json_t *p = json_object_get(o, "preset");
	if (!json_is_string(p) || strlen(json_string_value(p)) != json_string_length(p)) {
		json_decref(o);
		*out =
		    error_json("bad request: body must be {\"preset\": \"allow-all\"|\"balanced\"|"
			       "\"deny-all\"}");
		return 400;
	}
	unsigned st = (unsigned)netpol_preset_set(json_string_value(p), &n, err, sizeof(err));
	*out = st == 200 ? json_pack("{s:s,s:I}", "preset", json_string_value(p), "patterns",
				     (json_int_t)n)
			 : error_json(err);
	json_decref(o);
	return st;
}

static const char note_dns[] =
    "decided as at DNS time (no port: port-specific rules match too); sbxd resolves names "
    "itself and refuses a blocked address (private, loopback, link-local, metadata) at "
    "connect time unless a rule names that host or address";
static const char note_conn[] =
    "sbxd resolves names itself and refuses a blocked address (private, loopback, "
    "link-local, metadata) at connect time unless a rule names that host or address";

static unsigned h_check(struct sbxd_ctx *ctx, struct MHD_Connection *c, json_t **out)
{
	const char *sandbox = query(c, "sandbox"), *host = query(c, "host"),
		   *port_s = query(c, "port");
	struct pol_addr addr;
	struct pol_pattern hp;
	char err[ERRLEN], name[64], res[POL_PATTERN_MAX], perr[256];
	unsigned long port = 0;
	unsigned st;

	if (!host) {
		*out = error_json("bad request: give ?host=NAME (and port=, sandbox=)");
		return 400;
	}
	bool is_addr = pol_addr_parse(host, &addr) == 0;
	if (!is_addr) {
		int prc = pol_pattern_parse(host, &hp, perr, sizeof(perr));
		if (prc == 0 && (hp.kind != POL_EXACT || hp.port))
			snprintf(perr, sizeof(perr),
				 "give one host name or IP address, no pattern "
				 "or port (port= is separate)");
		if (prc < 0 || hp.kind != POL_EXACT || hp.port) {
			snprintf(err, sizeof(err), "bad host \"%.80s\": %s", host, perr);
			*out = error_json(err);
			return 400;
		}
	}
	if (port_s) {
		char *end;
		port = strtoul(port_s, &end, 10);
		if (*end || port < 1 || port > 65535 || port_s[0] < '0' || port_s[0] > '9') {
			snprintf(err, sizeof(err), "bad port \"%.20s\" (1..65535)", port_s);
			*out = error_json(err);
			return 400;
		}
	}
	if ((st = check_scope(ctx, sandbox, out)) != 0)
		return st;
	struct netpol_snapshot *s = netpol_get();
	struct pol_verdict v = pol_decide(s->rules, s->n, sandbox, is_addr ? NULL : host,
					  is_addr ? &addr : NULL, (uint16_t)port);
	json_t *rule = json_null();
	if (v.rule >= 0 && (size_t)v.rule < s->n) {
		const struct pol_rule *r = &s->rules[v.rule];
		netpol_rule_name(s, r, name, sizeof(name));
		pol_pattern_format(&r->pat, res, sizeof(res));
		rule = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "resource", res, "origin",
				 r->origin, "scope", r->scope[0] ? r->scope : "global");
	}
	bool blocked = v.decision == POL_ALLOW && pol_host_blocked(host) &&
		       !pol_explicitly_allowed(s->rules, s->n, sandbox, is_addr ? NULL : host,
					       is_addr ? &addr : NULL, (uint16_t)port);
	*out = json_pack("{s:s,s:s,s:i,s:s,s:o,s:s,s:s}", "sandbox", sandbox ? sandbox : "", "host",
			 host, "port", (int)port, "decision",
			 v.decision == POL_ALLOW ? "allow" : "deny", "rule", rule, "reason",
			 v.reason, "note", port ? note_conn : note_dns);
	if (blocked)
		json_object_set_new(*out, "connect",
				    json_string("refused at connect time: a blocked address or "
						"name (allow it by its exact name or address)"));
	netpol_put(s);
	return 200;
}

static json_t *log_row_json(const struct store_log_row *r)
{
	char first[32], last[32];
	iso_time(r->first_seen, first, sizeof(first));
	iso_time(r->last_seen, last, sizeof(last));
	return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "sandbox", r->sandbox,
			 "type", "network", "host", r->host, "port", (int)r->port, "proxy",
			 r->proxy, "rule", r->rule, "reason", r->reason, "count",
			 (json_int_t)r->count, "bytes", (json_int_t)r->bytes, "first_seen", first,
			 "last_seen", last);
}

static unsigned h_log(struct MHD_Connection *c, json_t **out)
{
	const char *sandbox = query(c, "sandbox");
	struct store_log_row *rows;
	size_t n;

	if (netpol_log_list(sandbox, &rows, &n) < 0) {
		*out = error_json("cannot read the network log: state database error");
		return 500;
	}
	json_t *allowed = json_array(), *blocked = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows[i].allowed ? allowed : blocked, log_row_json(&rows[i]));
	free(rows);
	*out = json_pack("{s:o,s:o}", "allowed", allowed, "blocked", blocked);
	return 200;
}

unsigned api_policy_route(struct sbxd_ctx *ctx, struct MHD_Connection *c, const char *method,
			  const char *url, const char *body, size_t len, json_t **out)
{
	char err[ERRLEN];
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
	     del = strcmp(method, "DELETE") == 0;

	*out = NULL;
	if (strcmp(url, "/v1/policies") == 0) {
		if (get)
			return h_list(ctx, out);
		if (post)
			return h_add(ctx, body, len, out);
		if (del)
			return h_remove_resource(ctx, c, out);
	} else if (strncmp(url, "/v1/policies/", 13) == 0) {
		if (del) {
			unsigned st = (unsigned)netpol_policy_remove(url + 13, err, sizeof(err));
			*out = st == 204 ? NULL : error_json(err);
			return st;
		}
	} else if (strcmp(url, "/v1/policy/default") == 0) {
		return h_default(method, body, len, out);
	} else if (strcmp(url, "/v1/policy/check") == 0) {
		if (get)
			return h_check(ctx, c, out);
	} else if (strcmp(url, "/v1/policy/log") == 0) {
		if (get)
			return h_log(c, out);
	} else if (strcmp(url, "/v1/policy/reset") == 0) {
		if (post) {
			unsigned st = (unsigned)netpol_reset(err, sizeof(err));
			*out = st == 204 ? NULL : error_json(err);
			return st;
		}
	} else {
		*out = error_json("no such endpoint (see docs/API.md)");
		return 404;
	}
	*out = error_json("method not allowed (see docs/API.md)");
	return 405;
}
