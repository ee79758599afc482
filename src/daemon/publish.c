/* Published ports as part of a sandbox (see publish.h). Every change to a sandbox's
 * publications runs under its busy claim, so it never races a start, stop or rm. Keeps no
 * state of its own: whether a publication's host socket is open is asked of the forwarder
 * (ports_fwd_has()), which owns the listeners. */
#include "daemon/publish.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/paths.h"
#include "daemon/ports/fwd.h"
#include "proto/ports.h"

/* Whether @p's host socket is open now for sandbox @name: the forwarder is the one record. */
static bool is_active(const char *name, const struct store_port *p)
{
	return ports_fwd_has(name, &p->spec);
}

bool publish_matches(const struct store_port *p, const struct port_spec *m)
{
	return p->spec.proto == m->proto && p->spec.sandbox_port == m->sandbox_port &&
	       (!m->ip_given || strcmp(p->spec.host_ip, m->host_ip) == 0) &&
	       (!m->host_port_given || p->spec.host_port == m->host_port);
}

/* Bind @p for the running @sb and hand it over; an ephemeral port is tried where it was
 * last and otherwise chosen afresh (and remembered). Return 0, or -1 with @err. */
static int open_one(struct sbxd_ctx *ctx, const struct sbx_sandbox *sb, struct store_port *p,
		    char *err)
{
	char vsock[PATH_MAX], why[256];
	uint16_t bound = 0;
	int fd = -1;

	if (sbx_path_join(vsock, "%s/vsock.sock", sb->run_dir) < 0) {
		sandbox_seterr(err, "sandbox %s: run directory path too long", sb->name);
		return -1;
	}
	if (p->spec.host_port || !p->ephemeral)
		fd = ports_fwd_listen(&p->spec, &bound, why, sizeof(why));
	if (fd < 0 && p->ephemeral) {
		struct port_spec any = p->spec;
		any.host_port = 0;
		fd = ports_fwd_listen(&any, &bound, why, sizeof(why));
	}
	if (fd < 0) {
		sandbox_seterr(err, "%s", why);
		return -1;
	}
	if (bound != p->spec.host_port) {
		p->spec.host_port = bound;
		store_ports_set_host_port(ctx->store, p->id, bound);
	}
	ports_fwd_add(sb->name, vsock, &p->spec, fd);
	return 0;
}

/* Close @p's listener if it is @p's own (another publication of @name on the same host
 * address, left inactive, must not close the active one's). */
static void close_one(const char *name, const struct store_port *p)
{
	if (is_active(name, p))
		ports_fwd_remove(name, &p->spec);
}

static bool running(const struct sbx_sandbox *sb)
{
	return strcmp(sb->status, "running") == 0 || strcmp(sb->status, "starting") == 0;
}

int publish_list(const struct sbxd_ctx *ctx, const char *name, struct publication **out, size_t *n,
		 char *err)
{
	struct sbx_sandbox sb;
	struct store_port *rows;
	size_t nr;
	int rc = store_get(ctx->store, name, &sb);

	*out = NULL;
	*n = 0;
	if (rc == 1 || !store_name_valid(name)) {
		sandbox_seterr(err, "no sandbox named %s (see sbx ls)", name);
		return 404;
	}
	if (rc < 0 || store_ports_list(ctx->store, name, &rows, &nr) < 0) {
		sandbox_seterr(err, "cannot read the ports of %s: state database error", name);
		return 500;
	}
	if (nr) {
		*out = calloc(nr, sizeof(**out));
		if (!*out) {
			free(rows);
			sandbox_seterr(err, "out of memory");
			return 500;
		}
	}
	for (size_t i = 0; i < nr; i++) {
		(*out)[i].row = rows[i];
		(*out)[i].active = is_active(name, &rows[i]);
	}
	*n = nr;
	free(rows);
	return 200;
}

int publish_add(struct sbxd_ctx *ctx, const char *name, const struct port_spec *want,
		struct publication *out, char *err)
{
	struct sbx_sandbox sb;
	struct store_port *rows, p = {.spec = *want, .ephemeral = want->host_port == 0};
	size_t nr;
	int rc = sandbox_claim(ctx, name, &sb, err);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	if (store_ports_list(ctx->store, name, &rows, &nr) < 0) {
		sandbox_seterr(err, "cannot read the ports of %s: state database error", name);
		rc = 500;
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct store_port *r = &rows[i];
		bool same = r->spec.proto == want->proto &&
			    r->spec.sandbox_port == want->sandbox_port &&
			    strcmp(r->spec.host_ip, want->host_ip) == 0 &&
			    (want->host_port ? r->spec.host_port == want->host_port : r->ephemeral);
		if (same) {
			out->row = *r;
			out->active = is_active(name, r);
			rc = 200;
			break;
		}
	}
	free(rows);
	if (rc == 200)
		goto out;
	p.spec.ip_given = p.spec.host_port_given = true;
	if (store_ports_add(ctx->store, name, &p) < 0) {
		sandbox_seterr(err, "cannot record the port: state database error");
		rc = 500;
		goto out;
	}
	if (running(&sb) && sb.run_dir[0] && open_one(ctx, &sb, &p, err) < 0) {
		store_ports_delete(ctx->store, p.id);
		rc = 409;
		goto out;
	}
	out->row = p;
	out->active = is_active(name, &p);
	rc = 201;
out:
	sandbox_busy_release(name);
	return rc;
}

int publish_remove(struct sbxd_ctx *ctx, const char *name, const struct port_spec *m,
		   struct publication **out, size_t *n, char *err)
{
	struct sbx_sandbox sb;
	struct store_port *rows;
	size_t nr, k = 0;
	int rc = sandbox_claim(ctx, name, &sb, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	if (store_ports_list(ctx->store, name, &rows, &nr) < 0) {
		sandbox_seterr(err, "cannot read the ports of %s: state database error", name);
		rc = 500;
		goto out;
	}
	*out = calloc(nr ? nr : 1, sizeof(**out));
	if (!*out) {
		free(rows);
		sandbox_seterr(err, "out of memory");
		rc = 500;
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		if (!publish_matches(&rows[i], m))
			continue;
		(*out)[k].row = rows[i];
		(*out)[k].active = is_active(name, &rows[i]);
		close_one(name, &rows[i]);
		store_ports_delete(ctx->store, rows[i].id);
		k++;
	}
	free(rows);
	*n = k;
	rc = 200;
	if (k == 0) {
		char want[96];
		if (m->host_port_given)
			snprintf(want, sizeof(want), "%s%s%u:%u/%s", m->ip_given ? m->host_ip : "",
				 m->ip_given ? ":" : "", (unsigned)m->host_port,
				 (unsigned)m->sandbox_port, portspec_proto_name(m->proto));
		else
			snprintf(want, sizeof(want), "%s%s%u/%s", m->ip_given ? m->host_ip : "",
				 m->ip_given ? "::" : "", (unsigned)m->sandbox_port,
				 portspec_proto_name(m->proto));
		sandbox_seterr(err,
			       "sandbox %s has no published port matching %s (see sbx ports %s)",
			       name, want, name);
		rc = 404;
	}
out:
	sandbox_busy_release(name);
	return rc;
}

/* Open every publication of @sb; @strict: the first failure closes all and fails. */
static int open_all(struct sbxd_ctx *ctx, const struct sbx_sandbox *sb, bool strict, char *err)
{
	struct store_port *rows;
	size_t nr;
	char why[SBX_ERR_MAX];

	if (store_ports_list(ctx->store, sb->name, &rows, &nr) < 0) {
		sandbox_seterr(err, "cannot read the ports of %s: state database error", sb->name);
		return strict ? 500 : 0;
	}
	for (size_t i = 0; i < nr; i++) {
		if (open_one(ctx, sb, &rows[i], why) == 0)
			continue;
		if (!strict) {
			sbx_log("sandbox %s: port not published again: %s", sb->name, why);
			continue;
		}
		sandbox_seterr(
		    err, "cannot start %s: %s (free it, or: sbx ports %s --unpublish %u:%u%s)",
		    sb->name, why, sb->name, (unsigned)rows[i].spec.host_port,
		    (unsigned)rows[i].spec.sandbox_port,
		    rows[i].spec.proto == PORTS_PROTO_UDP ? "/udp" : "");
		for (size_t j = 0; j < i; j++)
			close_one(sb->name, &rows[j]);
		free(rows);
		return 409;
	}
	free(rows);
	return 0;
}

int publish_open_all(struct sbxd_ctx *ctx, const struct sbx_sandbox *sb, char *err)
{
	return open_all(ctx, sb, true, err);
}

void publish_reattach(struct sbxd_ctx *ctx, const struct sbx_sandbox *sb)
{
	char err[SBX_ERR_MAX];

	open_all(ctx, sb, false, err);
}

void publish_close_all(struct sbxd_ctx *ctx, const char *name)
{
	(void)ctx;
	ports_fwd_remove_all(name);
}
