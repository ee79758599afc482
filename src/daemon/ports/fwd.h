/* sbxd's port forwarder: the host ends of published ports. One event-loop thread serves every
 * listener of every running sandbox: each TCP connection accepted on a host address becomes
 * one hybrid-vsock stream to the guest's relay (src/proto/ports.h), relayed both ways with
 * half-close and bounded buffers (a slow reader stalls only its own connection); each UDP
 * client address becomes one framed stream, idle ones expire. Listeners are opened on the
 * caller's thread (so "port in use" is reported to the user at once) and then handed over.
 * Never parses what the guest sends beyond the hybrid "OK" line and the UDP framing. */
#ifndef SBX_DAEMON_PORTS_FWD_H
#define SBX_DAEMON_PORTS_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/portspec.h"

/**
 * ports_fwd_start() - start the forwarder thread (once, at sbxd start).
 * Return: 0, or -1 with a message printed.
 */
int ports_fwd_start(void);

/**
 * ports_fwd_listen() - open the host socket for @p now, non-blocking, close-on-exec: TCP
 * bound and listening, or UDP bound, on @p->host_ip:@p->host_port (0: an ephemeral port).
 * *@bound gets the port actually bound.
 * Return: the fd, or -1 with one line in @err (@errlen bytes) naming the address, e.g.
 * "host port 127.0.0.1:8080/tcp is already in use".
 */
int ports_fwd_listen(const struct port_spec *p, uint16_t *bound, char *err, size_t errlen);

/**
 * ports_fwd_add() - serve listener @fd (from ports_fwd_listen(); @p carries its bound port)
 * for sandbox @name, whose hybrid-vsock socket is @vsock_path. Takes @fd. Returns once the
 * forwarder thread has it (a connection arriving after the return is served).
 */
void ports_fwd_add(const char *name, const char *vsock_path, const struct port_spec *p, int fd);

/**
 * ports_fwd_remove() - stop serving @name's listener for @p (same proto, host_ip, host_port):
 * the listener, its connections and flows are closed before this returns. Unknown: ignored.
 */
void ports_fwd_remove(const char *name, const struct port_spec *p);

/**
 * ports_fwd_remove_all() - ports_fwd_remove() for every listener of @name.
 */
void ports_fwd_remove_all(const char *name);

/**
 * ports_fwd_has() - whether the forwarder serves a listener of sandbox @name for @p now: same
 * proto, host_ip, host_port (the bound one) and sandbox_port. Asks the forwarder thread, so
 * a ports_fwd_add() or ports_fwd_remove() that returned before is seen.
 * Return: true if it does; false if not, or if the forwarder does not run.
 */
bool ports_fwd_has(const char *name, const struct port_spec *p);

#endif
