/* TLS interception of one egress connection (mitm.c): used by conn.c only. */
#ifndef SBX_DAEMON_EGRESS_MITM_H
#define SBX_DAEMON_EGRESS_MITM_H

#include <stdbool.h>
#include <stdint.h>

struct eg_conn;
struct eg_mitm;

/* What eg_mitm_pump() asks of its caller. */
enum eg_mitm_next {
	EG_MITM_GO,	/* keep serving (update the epoll interest) */
	EG_MITM_CLOSE,	/* done or failed: log and close (c->reason says why when it failed) */
	EG_MITM_FINISH, /* our own response sits in c->u2c: log, write it, close */
};

/**
 * eg_mitm_wanted() - true if @c's host (c->host) has a secret for its sandbox and sbxd has a
 * CA: the connection is to be intercepted.
 */
bool eg_mitm_wanted(const struct eg_conn *c);

/**
 * eg_mitm_begin() - start intercepting @c, whose upstream TCP connection is up and whose
 * client bytes (from c->c2u.off: the TLS ClientHello) are still in c->c2u. Sets c->mitm,
 * c->state = EG_ST_MITM and c->proxy = "intercept"; the upstream handshake starts at once.
 * Return: 1 started, 0 no secret any more (splice instead), -1 failed (c->reason set; the
 * caller resets the connection).
 */
int eg_mitm_begin(struct eg_conn *c);

/**
 * eg_mitm_pump() - move what can move: raw bytes in, handshakes, plaintext through the
 * request rewriter to the upstream, responses back as they come, raw bytes out. Never blocks.
 */
enum eg_mitm_next eg_mitm_pump(struct eg_conn *c);

/**
 * eg_mitm_interest() - the epoll interest @c's interception needs on the client (*@cw) and
 * upstream (*@uw) sockets.
 */
void eg_mitm_interest(const struct eg_conn *c, uint32_t *cw, uint32_t *uw);

/**
 * eg_mitm_free() - release @m (NULL is fine): both TLS sessions, buffers, the rewriter.
 */
void eg_mitm_free(struct eg_mitm *m);

/**
 * eg_mitm_upstream_ca() - the CA file upstream certificates are verified against: the value
 * of SBX_TLS_UPSTREAM_CA (a test hook), or NULL for the system trust store.
 */
const char *eg_mitm_upstream_ca(void);

#endif
