/* HTTP routes of sbxd (see api.h, docs/API.md): request bodies are bounded and parsed
 * here only, answers are JSON. Never holds a lock across a request and never blocks one
 * request on another, except where sandbox.c serializes operations on one sandbox. */
#include "daemon/api.h"
#include "common/err.h"
#include "daemon/api_policy.h"
#include "daemon/api_ports.h"
#include "daemon/api_secrets.h"
#include "daemon/netpol.h"
#include "daemon/secrets/env.h"
#include "daemon/secrets/store.h"

#include <dirent.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef SBX_VERSION
#define SBX_VERSION "0.1.0"
#endif

#define BODY_MAX 65536

struct api {
	struct MHD_Daemon *mhd;
	struct sbxd_ctx *ctx;
	atomic_int active;
};

/* Per-request state kept across MHD's access-handler calls. */
struct req {
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	size_t len = s ? strlen(s) : 0;
	struct MHD_Response *r;
	if (s) {
		/* one trailing newline makes curl output readable */
		char *s2 = realloc(s, len + 2);
		if (s2) {
			s = s2;
			s[len++] = '\n';
			s[len] = '\0';
		}
		r = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!r) {
		free(s);
		return MHD_NO;
	}
	if (s)
		MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg));
}

static void iso_time(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *sandbox_json(const struct sbxd_ctx *ctx, const struct sbx_sandbox *sb)
{
	char ts[32], dir[PATH_MAX], path[PATH_MAX];
	iso_time(sb->created_at, ts, sizeof(ts));
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:[]}", "name", sb->name,
			      "id", sb->id, "agent", sb->agent, "workspace", sb->workspace,
			      "status", sb->status, "engine", sb->engine, "accel",
			      sb->accel[0]		       ? sb->accel
			      : strcmp(sb->engine, "kvm") == 0 ? "kvm"
							       : accel_name(ctx->accel),
			      "memory_mib", (json_int_t)sb->memory_mib, "cpus",
			      (json_int_t)sb->cpus, "created_at", ts, "ports");
	if (!j)
		return NULL;
	if (strcmp(sb->status, "running") == 0 && sb->run_dir[0] &&
	    sbx_path_join(path, "%s/vsock.sock", sb->run_dir) == 0)
		json_object_set_new(j, "vsock_socket", json_string(path));
	if (sandbox_data_dir(ctx, sb->name, dir) == 0 &&
	    sbx_path_join(path, "%s/console.log", dir) == 0)
		json_object_set_new(j, "console_log", json_string(path));
	json_t *mounts = json_array();
	for (unsigned i = 0; i < sb->n_mounts; i++)
		json_array_append_new(mounts, json_pack("{s:s,s:b,s:b}", "path", sb->mounts[i].path,
							"readonly", sb->mounts[i].readonly, "file",
							sb->mounts[i].file));
	json_object_set_new(j, "mounts", mounts);
	/* sentinels and placeholders only: what EXEC puts in the guest's environment */
	json_t *senv = secret_env_json(secrets_default(), sb->name, sb->created_at);
	json_object_set_new(j, "secret_env", senv ? senv : json_object());
	struct publication *pubs;
	size_t npubs;
	char perr[SBX_ERR_MAX];
	if (publish_list(ctx, sb->name, &pubs, &npubs, perr) == 200) {
		json_object_set_new(j, "ports", api_ports_json(pubs, npubs));
		free(pubs);
	}
	return j;
}

static enum MHD_Result h_version(struct api *api, struct MHD_Connection *c)
{
	return send_json(
	    c, 200,
	    json_pack("{s:s,s:i,s:s,s:s,s:s}", "version", SBX_VERSION, "api", 1, "engine_default",
		      api->ctx->engine_default, "engine_why", api->ctx->engine_why, "accel",
		      strcmp(api->ctx->engine_default, "kvm") == 0 ? "kvm"
								   : accel_name(api->ctx->accel)));
}

static enum MHD_Result h_list(struct api *api, struct MHD_Connection *c)
{
	struct sbx_sandbox *all;
	size_t n;
	if (store_list(api->ctx->store, &all, &n) < 0)
		return send_error(c, 500, "cannot list sandboxes: state database error");
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, sandbox_json(api->ctx, &all[i]));
	free(all);
	return send_json(c, 200, arr);
}

/* Optional string member: NULL if absent/null; -1 if of the wrong type. */
static int opt_str(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int opt_int(json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* "mounts": [{"path": "/abs", "readonly": bool}, ...] into @cr. Return 0 or -1 + @err. */
static int parse_mounts(json_t *o, struct sandbox_create_req *cr, char *err)
{
	json_t *arr = json_object_get(o, "mounts"), *m;
	size_t i;

	cr->n_mounts = -1;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, SBX_ERR_MAX,
			 "bad request: mounts must be an array of {\"path\": ..., \"readonly\": "
			 "...} (see docs/API.md)");
		return -1;
	}
	if (json_array_size(arr) > STORE_MOUNTS_MAX) {
		snprintf(err, SBX_ERR_MAX, "bad request: too many mounts: %zu (at most %d)",
			 json_array_size(arr), STORE_MOUNTS_MAX);
		return -1;
	}
	json_array_foreach(arr, i, m)
	{
		json_t *p = json_object_get(m, "path"), *ro = json_object_get(m, "readonly");
		if (!json_is_object(m) || !json_is_string(p) ||
		    (ro && !json_is_boolean(ro) && !json_is_null(ro))) {
			snprintf(err, SBX_ERR_MAX,
				 "bad request: mounts[%zu] must be {\"path\": string, "
				 "\"readonly\": bool} (see docs/API.md)",
				 i);
			return -1;
		}
		if (strlen(json_string_value(p)) != json_string_length(p)) {
			snprintf(err, SBX_ERR_MAX, "bad request: mounts[%zu].path has a NUL byte",
				 i);
			return -1;
		}
		cr->mounts[i].path = json_string_value(p);
		cr->mounts[i].readonly = json_is_true(ro);
	}
	cr->n_mounts = (int)json_array_size(arr);
	return 0;
}

json_t *api_body_object(const char *body, size_t len, enum api_body_mode mode, char *err,
			size_t errlen)
{
	bool secret = mode == API_BODY_SECRET;
	json_error_t jerr;
	json_t *o = json_loadb(body ? body : "", body ? len : 0,
			       secret ? JSON_REJECT_DUPLICATES : 0, &jerr);

	if (json_is_object(o))
		return o;
	if (secret) {
		snprintf(err, errlen, "bad request: body is not a JSON object (see docs/API.md)");
	} else {
		snprintf(err, errlen,
			 "bad request: body is not a JSON object: %s (see docs/API.md)",
			 o ? "not an object" : jerr.text);
		sbx_oneline(err); /* jansson quotes the body */
	}
	json_decref(o);
	return NULL;
}

int api_create_parse(const char *body, size_t len, struct sandbox_create_req *cr, json_t **root,
		     char *err)
{
	const char *bad = NULL;

	memset(cr, 0, sizeof(*cr));
	cr->n_mounts = -1;
	*root = NULL;
	json_t *o = api_body_object(body, len, API_BODY_PLAIN, err, SBX_ERR_MAX);
	if (!o)
		return -1;
	if (opt_str(o, "agent", &cr->agent) < 0)
		bad = "agent";
	else if (opt_str(o, "workspace", &cr->workspace) < 0)
		bad = "workspace";
	else if (opt_str(o, "name", &cr->name) < 0)
		bad = "name";
	else if (opt_str(o, "engine", &cr->engine) < 0)
		bad = "engine";
	else if (opt_int(o, "memory_mib", &cr->memory_mib) < 0)
		bad = "memory_mib";
	else if (opt_int(o, "cpus", &cr->cpus) < 0)
		bad = "cpus";
	if (bad)
		snprintf(err, SBX_ERR_MAX,
			 "bad request: field %s has the wrong type (see docs/API.md)", bad);
	else if (!cr->agent)
		snprintf(err, SBX_ERR_MAX,
			 "bad request: agent is missing (e.g. {\"agent\":\"shell\"})");
	int mbad = bad || !cr->agent ? 0 : parse_mounts(o, cr, err);
	if (!bad && cr->agent && !mbad && !cr->workspace && cr->n_mounts <= 0)
		snprintf(err, SBX_ERR_MAX,
			 "bad request: workspace is missing (give an absolute path)");
	if (bad || !cr->agent || mbad || (!cr->workspace && cr->n_mounts <= 0)) {
		json_decref(o);
		memset(cr, 0, sizeof(*cr));
		cr->n_mounts = -1;
		return -1;
	}
	if (!cr->workspace) /* the first mount is the workspace */
		cr->workspace = cr->mounts[0].path;
	*root = o;
	return 0;
}

static enum MHD_Result h_create(struct api *api, struct MHD_Connection *c, const struct req *rq)
{
	char err[SBX_ERR_MAX];
	struct sandbox_create_req cr;
	struct sbx_sandbox sb;
	json_t *root;

	if (api_create_parse(rq->body, rq->len, &cr, &root, err) < 0)
		return send_error(c, 400, err);
	int st = sandbox_create(api->ctx, &cr, &sb, err);
	json_decref(root);
	if (st != 201)
		return send_error(c, (unsigned)st, err);
	return send_json(c, 201, sandbox_json(api->ctx, &sb));
}

static enum MHD_Result h_get(struct api *api, struct MHD_Connection *c, const char *name)
{
	struct sbx_sandbox sb;
	char msg[256];
	int rc = store_name_valid(name) ? store_get(api->ctx->store, name, &sb) : 1;
	if (rc < 0)
		return send_error(c, 500, "cannot read sandbox: state database error");
	if (rc == 1) {
		snprintf(msg, sizeof(msg), "no sandbox named %.60s (see sbx ls)", name);
		return send_error(c, 404, msg);
	}
	return send_json(c, 200, sandbox_json(api->ctx, &sb));
}

static json_t *template_json(const char *dir, const char *name)
{
	char path[PATH_MAX], ts[32] = "";
	struct stat st;
	if (sbx_path_join(path, "%s/%s/rootfs.img", dir, name) < 0 || stat(path, &st) < 0)
		return NULL;
	iso_time((int64_t)st.st_mtime, ts, sizeof(ts));
	json_t *t = json_pack("{s:s,s:I,s:s,s:o}", "name", name, "size_bytes",
			      (json_int_t)st.st_size, "built_at", ts, "packages", json_object());
	if (!t)
		return NULL;
	if (sbx_path_join(path, "%s/%s", dir, name) == 0)
		json_object_set_new(t, "path", json_string(path));
	/* meta.json (written by the template builder) refines built_at and packages. */
	if (sbx_path_join(path, "%s/%s/meta.json", dir, name) == 0) {
		json_t *m = json_load_file(path, 0, NULL);
		if (json_is_object(m)) {
			json_t *v = json_object_get(m, "built_at");
			if (json_is_string(v))
				json_object_set(t, "built_at", v);
			v = json_object_get(m, "packages");
			if (json_is_object(v))
				json_object_set(t, "packages", v);
		}
		json_decref(m);
	}
	return t;
}

static enum MHD_Result h_templates(struct api *api, struct MHD_Connection *c)
{
	char dir[PATH_MAX];
	json_t *arr = json_array();
	if (sbx_path_join(dir, "%s/templates", api->ctx->paths.cache) == 0) {
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			json_t *t = template_json(dir, e->d_name);
			if (t)
				json_array_append_new(arr, t);
		}
		if (d)
			closedir(d);
	}
	return send_json(c, 200, arr);
}

static enum MHD_Result h_action(struct api *api, struct MHD_Connection *c, const char *name,
				const char *action)
{
	char err[SBX_ERR_MAX];
	struct sbx_sandbox sb;
	int st;
	if (strcmp(action, "start") == 0)
		st = sandbox_start(api->ctx, name, &sb, err);
	else if (strcmp(action, "stop") == 0)
		st = sandbox_stop(api->ctx, name, &sb, err);
	else
		return send_error(c, 404, "no such endpoint (see docs/API.md)");
	if (st != 200)
		return send_error(c, (unsigned)st, err);
	return send_json(c, 200, sandbox_json(api->ctx, &sb));
}

static bool query_true(struct MHD_Connection *c, const char *key)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

static enum MHD_Result route(struct api *api, struct MHD_Connection *c, const char *method,
			     const char *url, const struct req *rq)
{
	char name[128], action[32], err[SBX_ERR_MAX];
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
	     del = strcmp(method, "DELETE") == 0;
	const char *pfx = "/v1/sandboxes/";

	if (strcmp(url, "/v1/version") == 0 && get)
		return h_version(api, c);
	if (strcmp(url, "/v1/sandboxes") == 0 || strcmp(url, "/v1/sandboxes/") == 0) {
		if (get)
			return h_list(api, c);
		if (post)
			return h_create(api, c, rq);
		return send_error(c, 405, "method not allowed (see docs/API.md)");
	}
	if (strcmp(url, "/v1/templates") == 0 && get)
		return h_templates(api, c);
	if (strcmp(url, "/v1/reset") == 0 && post) {
		int st = sandbox_reset(api->ctx, err);
		if (st == 204) /* reset also forgets the network policy (docs/API.md) */
			st = netpol_reset(err, SBX_ERR_MAX);
		/* ... and the secrets, unless ?preserve_secrets=1 */
		if (st == 204 && !query_true(c, "preserve_secrets") && secrets_default() &&
		    secret_store_clear(secrets_default(), err, SBX_ERR_MAX) < 0)
			st = 500;
		return st == 204 ? send_json(c, 204, NULL) : send_error(c, (unsigned)st, err);
	}
	if (api_secrets_match(url)) {
		json_t *j;
		unsigned st = api_secrets_route(api->ctx, c, method, url, rq->body, rq->len, &j);
		return send_json(c, st, j);
	}
	if (api_policy_match(url)) {
		json_t *j;
		unsigned st = api_policy_route(api->ctx, c, method, url, rq->body, rq->len, &j);
		return send_json(c, st, j);
	}
	if (strncmp(url, pfx, strlen(pfx)) == 0) {
		const char *rest = url + strlen(pfx);
		const char *slash = strchr(rest, '/');
		size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
		if (nl == 0 || nl >= sizeof(name))
			return send_error(c, 404, "no sandbox by that name (see sbx ls)");
		memcpy(name, rest, nl);
		name[nl] = '\0';
		if (!slash) {
			if (get)
				return h_get(api, c, name);
			if (del) {
				int st = sandbox_rm(api->ctx, name, query_true(c, "force"), err);
				return st == 204 ? send_json(c, 204, NULL)
						 : send_error(c, (unsigned)st, err);
			}
			return send_error(c, 405, "method not allowed (see docs/API.md)");
		}
		if (strlen(slash + 1) >= sizeof(action) || strchr(slash + 1, '/'))
			return send_error(c, 404, "no such endpoint (see docs/API.md)");
		snprintf(action, sizeof(action), "%s", slash + 1);
		if (strcmp(action, "ports") == 0) {
			json_t *j;
			unsigned st =
			    api_ports_route(api->ctx, method, name, rq->body, rq->len, &j);
			return send_json(c, st, j);
		}
		if (!post)
			return send_error(c, 405, "method not allowed (see docs/API.md)");
		return h_action(api, c, name, action);
	}
	return send_error(c, 404, "no such endpoint (see docs/API.md)");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct api *api = cls;
	struct req *rq = *con_cls;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size <= BODY_MAX) {
			char *nb = realloc(rq->body, rq->len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			rq->body = nb;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return send_error(c, 413, "request body too large (at most 64 KiB)");
	atomic_fetch_add(&api->active, 1);
	enum MHD_Result r = route(api, c, method, url, rq);
	atomic_fetch_sub(&api->active, 1);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	sbx_log("http: %s", buf);
}

int api_start(struct sbxd_ctx *ctx, int listen_fd, struct api **out)
{
	struct api *api = calloc(1, sizeof(*api));
	if (!api)
		return -1;
	api->ctx = ctx;
	atomic_init(&api->active, 0);
	api->mhd = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
		MHD_USE_ITC | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, api,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_END);
	if (!api->mhd) {
		sbx_err("cannot start the API server: libmicrohttpd refused the socket (see the "
			"log above)");
		free(api);
		return -1;
	}
	*out = api;
	return 0;
}

void api_quiesce(struct api *api)
{
	if (api && api->mhd)
		MHD_quiesce_daemon(api->mhd);
}

int api_active(struct api *api)
{
	return api ? atomic_load(&api->active) : 0;
}

void api_stop(struct api *api)
{
	if (!api)
		return;
	MHD_stop_daemon(api->mhd);
	free(api);
}
