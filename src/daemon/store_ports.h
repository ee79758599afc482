/* The SQL of published ports: table ports in <data>/sbx.db (made by store.c's schema v4).
 * One row per publication of a sandbox; rows go with the sandbox (store_delete). Stores specs
 * as given; never binds or checks a port. */
#ifndef SBX_DAEMON_STORE_PORTS_H
#define SBX_DAEMON_STORE_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/portspec.h"
#include "daemon/store.h"

/* One row of table ports. */
struct store_port {
	int64_t id;
	struct port_spec spec; /* host_port: last bound (0: ephemeral, never bound) */
	bool ephemeral;	       /* the user named no host port */
};

/**
 * store_ports_list() - @sandbox's publications in the order they were made, into a malloc'd
 * array *@out of *@n (NULL, 0 when none). Return: 0 or -1.
 */
int store_ports_list(struct store *st, const char *sandbox, struct store_port **out, size_t *n);

/**
 * store_ports_add() - record @p for @sandbox; sets @p->id. Return: 0 or -1.
 */
int store_ports_add(struct store *st, const char *sandbox, struct store_port *p);

/**
 * store_ports_set_host_port() - remember the port publication @id was bound to.
 * Return: 0 or -1.
 */
int store_ports_set_host_port(struct store *st, int64_t id, uint16_t port);

/**
 * store_ports_delete() - remove publication @id. Return: 0, 1 if none, -1 on error.
 */
int store_ports_delete(struct store *st, int64_t id);

#endif
