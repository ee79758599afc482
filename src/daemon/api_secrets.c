/* The secret endpoints (see api_secrets.h, docs/API.md "Secrets"): bodies are checked by
 * api_secret_parse() only, answers shaped here, every change goes through the secret store.
 * Never echoes a value: not in answers, not in errors, not in the log. */
#include "daemon/api_secrets.h"
#include "daemon/api.h"
#include "daemon/secrets/services.h"
#include "daemon/secrets/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ERRLEN 768

static json_t *error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

bool api_secrets_match(const char *url)
{
	return strcmp(url, "/v1/secrets") == 0 || strncmp(url, "/v1/secrets/", 12) == 0;
}

/* Member @key of @o as a string into *@out: 0 ok (absent: NULL), -1 wrong type or NUL. */
static int member(json_t *o, const char *key, bool nullable, const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || (nullable && json_is_null(v)))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

int api_secret_parse(const char *body, size_t len, bool custom, struct api_secret_req *rq,
		     json_t **root, char *err, size_t errlen)
{
	static const char *const plain[] = {"service", "value", "sandbox", "source", NULL};
	static const char *const cust[] = {"host", "env", "value", "sandbox", "name", NULL};
	const char *const *allowed = custom ? cust : plain;
	const char *key;
	json_t *o, *v;

	memset(rq, 0, sizeof(*rq));
	*root = NULL;
	/* jansson's message may quote the body (the value): never pass it on */
	o = api_body_object(body, len, API_BODY_SECRET, err, errlen);
	if (!o)
		goto fail;
	json_object_foreach(o, key, v)
	{
		size_t i;
		for (i = 0; allowed[i] && strcmp(allowed[i], key) != 0; i++)
			;
		if (!allowed[i]) {
			snprintf(err, errlen,
				 "bad request: unknown member \"%.40s\" (see docs/API.md)",
				 strlen(key) < 41 && !strpbrk(key, "\r\n") ? key : "?");
			goto fail;
		}
	}
	if (member(o, "value", false, &rq->value) < 0 || !rq->value) {
		snprintf(err, errlen, "bad request: value must be a string (the key)");
		goto fail;
	}
	if (member(o, "sandbox", true, &rq->sandbox) < 0) {
		snprintf(err, errlen, "bad request: sandbox must be a sandbox name or null");
		goto fail;
	}
	if (!custom) {
		if (member(o, "service", false, &rq->service) < 0 || !rq->service) {
			snprintf(err, errlen,
				 "bad request: service must be a string (e.g. "
				 "\"anthropic\")");
			goto fail;
		}
		const char *source;
		if (member(o, "source", true, &source) < 0 ||
		    (source && strcmp(source, "env") != 0 && strcmp(source, "user") != 0)) {
			snprintf(err, errlen, "bad request: source must be \"user\" or \"env\"");
			goto fail;
		}
		rq->from_env = source && strcmp(source, "env") == 0;
	} else {
		if (member(o, "host", false, &rq->host) < 0 || !rq->host) {
			snprintf(err, errlen, "bad request: host must be a string (a host name)");
			goto fail;
		}
		if (member(o, "env", false, &rq->env) < 0 || !rq->env) {
			snprintf(err, errlen,
				 "bad request: env must be a string (an environment variable)");
			goto fail;
		}
		if (member(o, "name", true, &rq->name) < 0) {
			snprintf(err, errlen, "bad request: name must be a string or null");
			goto fail;
		}
	}
	if (rq->sandbox && !rq->sandbox[0])
		rq->sandbox = NULL;
	if (rq->from_env && !rq->sandbox) {
		snprintf(err, errlen,
			 "bad request: a key from the host environment is for one sandbox (give "
			 "sandbox)");
		goto fail;
	}
	*root = o;
	return 0;
fail:
	json_decref(o);
	memset(rq, 0, sizeof(*rq));
	return -1;
}

static void iso_time(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A secret as the API shows it: never the value. A service's hosts and variables are
 * joined with ",". */
static json_t *secret_json(const struct secret_info *s)
{
	char ts[32], hosts[512], envs[256];
	const struct secret_service *svc =
	    s->kind == SECRET_SERVICE ? secret_service_find(s->name) : NULL;

	iso_time(s->created_at, ts, sizeof(ts));
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "service", s->name, "kind",
			      s->kind == SECRET_CUSTOM ? "custom" : "service", "scope",
			      s->scope[0] ? s->scope : "global", "created_at", ts);
	if (!j)
		return NULL;
	json_object_set_new(j, "source", json_string(s->from_env ? "env" : "user"));
	json_object_set_new(j, "stored_in", json_string(s->in_keyring ? "keyring" : "file"));
	if (svc) {
		secret_service_join(svc->hosts, hosts, sizeof(hosts));
		secret_service_join(svc->env, envs, sizeof(envs));
		json_object_set_new(j, "host", json_string(hosts));
		json_object_set_new(j, "env", json_string(envs));
	} else {
		json_object_set_new(j, "host", json_string(s->host));
		json_object_set_new(j, "env", json_string(s->env));
		json_object_set_new(j, "placeholder", json_string(s->placeholder));
	}
	return j;
}

static unsigned no_store(json_t **out)
{
	*out = error_json("the secret store is not open (see sbxd's log)");
	return 500;
}

static unsigned h_list(json_t **out)
{
	struct secret_info *all;
	size_t n;

	if (!secrets_default())
		return no_store(out);
	if (secret_store_list(secrets_default(), &all, &n) < 0) {
		*out = error_json("cannot list secrets: out of memory");
		return 500;
	}
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, secret_json(&all[i]));
	free(all);
	return 200;
}

/* The scope argument: NULL global; else it must name an existing sandbox. */
static unsigned check_scope(struct sbxd_ctx *ctx, const char *sandbox, json_t **out)
{
	char msg[160];

	if (!sandbox)
		return 0;
	int rc = store_exists(ctx->store, sandbox);
	if (rc < 0) {
		*out = error_json("cannot read sandboxes: state database error");
		return 500;
	}
	if (rc == 1) {
		snprintf(msg, sizeof(msg), "no sandbox named %.60s (see sbx ls; -g for all)",
			 store_name_valid(sandbox) ? sandbox : "?");
		*out = error_json(msg);
		return 404;
	}
	return 0;
}

/* Whether @info is the secret the proxy picks for its sandbox and its (first) host. */
static bool in_use(struct sbxd_ctx *ctx, const struct secret_info *info)
{
	const struct secret_service *svc =
	    info->kind == SECRET_SERVICE ? secret_service_find(info->name) : NULL;
	const char *host = svc ? svc->hosts[0] : info->host;
	struct sbx_sandbox *sb = calloc(1, sizeof(*sb));
	struct secret_info got;
	bool yes = false;

	if (sb && host && store_get(ctx->store, info->scope, sb) == 0 &&
	    secret_store_find(secrets_default(), sb->name, sb->created_at, host, &got, NULL, 0) ==
		0)
		yes = strcmp(got.name, info->name) == 0 && strcmp(got.scope, info->scope) == 0 &&
		      got.from_env == info->from_env;
	free(sb);
	return yes;
}

static unsigned h_set(struct sbxd_ctx *ctx, bool custom, const char *body, size_t len, json_t **out)
{
	struct api_secret_req rq;
	struct secret_spec spec;
	struct secret_info info;
	bool replaced = false;
	char err[ERRLEN];
	json_t *root;
	unsigned st;

	if (!secrets_default())
		return no_store(out);
	if (api_secret_parse(body, len, custom, &rq, &root, err, sizeof(err)) < 0) {
		*out = error_json(err);
		return 400;
	}
	if (!custom && !secret_service_find(rq.service)) {
		char names[256];
		secret_service_names(names, sizeof(names));
		snprintf(err, sizeof(err),
			 "unknown service '%.60s' (known: %s; for another host use sbx secret "
			 "set-custom)",
			 secret_name_valid(rq.service) ? rq.service : "?", names);
		*out = error_json(err);
		json_decref(root);
		return 400;
	}
	if ((st = check_scope(ctx, rq.sandbox, out)) != 0) {
		json_decref(root);
		return st;
	}
	spec = (struct secret_spec){.kind = custom ? SECRET_CUSTOM : SECRET_SERVICE,
				    .name = custom ? rq.name : rq.service,
				    .scope = rq.sandbox,
				    .host = rq.host,
				    .env = rq.env,
				    .value = rq.value,
				    .from_env = rq.from_env};
	int rc = secret_store_set(secrets_default(), &spec, &info, &replaced, err, sizeof(err));
	json_decref(root);
	if (rc) {
		*out = error_json(err);
		return (unsigned)rc;
	}
	*out = secret_json(&info);
	json_object_set_new(*out, "replaced", json_boolean(replaced));
	if (rq.sandbox)
		json_object_set_new(*out, "in_use", json_boolean(in_use(ctx, &info)));
	return replaced ? 200 : 201;
}

static unsigned h_remove(struct MHD_Connection *c, const char *name, json_t **out)
{
	const char *sandbox = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sandbox");
	char err[ERRLEN];

	if (!secrets_default())
		return no_store(out);
	if (sandbox && !sandbox[0])
		sandbox = NULL;
	int rc = secret_name_valid(name) && (!sandbox || store_name_valid(sandbox))
		     ? secret_store_remove(secrets_default(), name, sandbox, err, sizeof(err))
		     : 1;
	if (rc < 0) {
		*out = error_json(err);
		return 500;
	}
	if (rc == 1) {
		snprintf(err, sizeof(err), "no secret %.63s %s%.60s (see sbx secret ls)",
			 secret_name_valid(name) ? name : "?",
			 sandbox ? "for sandbox " : "(global)",
			 sandbox && store_name_valid(sandbox) ? sandbox : "");
		*out = error_json(err);
		return 404;
	}
	*out = NULL;
	return 204;
}

unsigned api_secrets_route(struct sbxd_ctx *ctx, struct MHD_Connection *c, const char *method,
			   const char *url, const char *body, size_t len, json_t **out)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
	     del = strcmp(method, "DELETE") == 0;

	*out = NULL;
	if (strcmp(url, "/v1/secrets") == 0) {
		if (get)
			return h_list(out);
		if (post)
			return h_set(ctx, false, body, len, out);
	} else if (strcmp(url, "/v1/secrets/custom") == 0) {
		if (post)
			return h_set(ctx, true, body, len, out);
		if (del) /* a custom secret may be named "custom" */
			return h_remove(c, url + 12, out);
	} else if (strchr(url + 12, '/') == NULL && url[12]) {
		if (del)
			return h_remove(c, url + 12, out);
	} else {
		*out = error_json("no such endpoint (see docs/API.md)");
		return 404;
	}
	*out = error_json("method not allowed (see docs/API.md)");
	return 405;
}
