/* sbxd's process-wide certificate authority: loaded or created once at start-up in
 * <data>/tls and then only read (by the egress thread minting leaves, by whoever hands the
 * certificate to guests). Without it sbxd still runs: TLS interception is off. */
#ifndef SBX_DAEMON_TLS_CA_DEFAULT_H
#define SBX_DAEMON_TLS_CA_DEFAULT_H

#include "common/paths.h"
#include "daemon/tls/ca.h"

/**
 * tls_ca_default_init() - load or create the CA in <@paths->data>/tls (tls_ca_load_or_create)
 * and keep it for tls_ca_default(). Logs one line when a new CA was created; on failure logs
 * one line saying interception is off. Call once, at sbxd start, before other threads use it.
 * Return: 0, or -1 (the error was logged; sbxd goes on without interception).
 */
int tls_ca_default_init(const struct sbx_paths *paths);

/**
 * tls_ca_default() - the CA tls_ca_default_init() loaded, or NULL (not initialised, or it
 * failed: interception is off).
 */
struct tls_ca *tls_ca_default(void);

#endif
