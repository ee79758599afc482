/* Published ports as part of a sandbox: recorded in the store, bound by the forwarder
 * (ports/fwd.h) whenever the sandbox runs — at `sbx ports --publish` on a running sandbox, at
 * every start, at reattach — and released at stop; rows go with `rm`. Owns the rules: host
 * address 127.0.0.1 by default, an ephemeral port kept across restarts when free, a fixed port
 * taken by someone else fails the start with a line naming it. Speaks no HTTP. */
#ifndef SBX_DAEMON_PUBLISH_H
#define SBX_DAEMON_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/sandbox.h"
#include "daemon/store_ports.h"

/* One publication as shown to clients. */
struct publication {
	struct store_port row;
	bool active; /* its host socket is open now */
};

/**
 * publish_list() - @name's publications into a malloc'd *@out of *@n.
 * Return: 200, or 404/500 with @err (SBX_ERR_MAX) set.
 */
int publish_list(const struct sbxd_ctx *ctx, const char *name, struct publication **out, size_t *n,
		 char *err);

/**
 * publish_add() - publish @want (host_port 0: ephemeral) for @name: recorded, and bound now
 * if the sandbox runs. An identical publication already there is returned as it is.
 * Return: 201 (new) or 200 (existed) with *@out, or 400/404/409/500/504 with @err.
 */
int publish_add(struct sbxd_ctx *ctx, const char *name, const struct port_spec *want,
		struct publication *out, char *err);

/**
 * publish_remove() - unpublish every publication of @name matching @m (proto and sandbox
 * port; host address and port only when @m->ip_given / host_port_given): listeners closed,
 * rows deleted; the removed ones into a malloc'd *@out of *@n.
 * Return: 200, or 404 (nothing matches, no sandbox)/500/504 with @err.
 */
int publish_remove(struct sbxd_ctx *ctx, const char *name, const struct port_spec *m,
		   struct publication **out, size_t *n, char *err);

/**
 * publish_open_all() - the sandbox @sb starts (caller holds its claim; @sb->run_dir set):
 * bind every publication (an ephemeral one on its last port if free, else a new one) and
 * hand each to the forwarder. Return: 0, or 409 with @err naming the port in use — then
 * nothing of @sb stays open.
 */
int publish_open_all(struct sbxd_ctx *ctx, const struct sbx_sandbox *sb, char *err);

/**
 * publish_reattach() - as publish_open_all() for a VM found running at sbxd start; a port
 * that cannot be bound is logged and left inactive.
 */
void publish_reattach(struct sbxd_ctx *ctx, const struct sbx_sandbox *sb);

/**
 * publish_close_all() - the sandbox @name stopped: close its listeners and connections.
 */
void publish_close_all(struct sbxd_ctx *ctx, const char *name);

/**
 * publish_matches() - true when publication @p is selected by @m (see publish_remove()).
 */
bool publish_matches(const struct store_port *p, const struct port_spec *m);

#endif
