/* sbxd's egress service: for every running sandbox, the host ends of the guest's egress vsock
 * ports (src/proto/egress.h) — the explicit HTTP proxy, the transparent relay and the policy
 * DNS — served by one event-loop thread that asks policy (netpol.h) about every name and
 * connection, resolves and connects by itself, and logs each decision. The only path from a
 * guest to any network. Never trusts a guest's address or name without the policy check. */
#ifndef SBX_DAEMON_EGRESS_EGRESS_H
#define SBX_DAEMON_EGRESS_EGRESS_H

#include <stddef.h>
#include <stdint.h>

/**
 * egress_start() - start the egress thread (once, at sbxd start, after netpol_init()).
 * Return: 0, or -1 with a message printed.
 */
int egress_start(void);

/**
 * egress_sandbox_add() - listen on "<@run_dir>/vsock.sock_<port>" for each egress port of
 * sandbox @name (created at @created: which global secrets apply to it) and for CA_PORT
 * (src/proto/ca.h: the CA handout, tls_ca_default()), replacing stale socket files, and
 * serve them. Called before the VM boots and for every VM reattached after an sbxd restart.
 * Return: 0, or -1 with @err (size @errlen) set.
 */
int egress_sandbox_add(const char *name, int64_t created, const char *run_dir, char *err,
		       size_t errlen);

/**
 * egress_sandbox_remove() - stop serving @name: its listeners and every connection of it are
 * closed, its synthetic addresses forgotten. Waits until the egress thread has done so.
 * A name not served is ignored.
 */
void egress_sandbox_remove(const char *name);

/**
 * egress_resolve_hosts_file() - the hosts file consulted before the system resolver: the
 * value of SBX_HOSTS_FILE (a test hook: "ADDR NAME..." lines as in /etc/hosts), or NULL.
 */
const char *egress_resolve_hosts_file(void);

#endif
