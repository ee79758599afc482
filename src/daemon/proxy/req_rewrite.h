/* The client-to-upstream byte stream of an intercepted (TLS-terminated) HTTP/1.1 connection,
 * rewritten so the request heads carry the real API key: each head is parsed (http_head.h,
 * strict), checked (Host must name the intercepted host; upgrades and HTTP/2 refused), the
 * credential header replaced (a service's header) or the placeholder swapped for the value (a
 * custom secret, in header values only); bodies framed by Content-Length or chunked coding
 * pass through byte for byte, and the next head after them (keep-alive, pipelining) is
 * rewritten too. Pure code with bounded state: no I/O, never logs or returns the key except in
 * the rewritten bytes. */
#ifndef SBX_DAEMON_PROXY_REQ_REWRITE_H
#define SBX_DAEMON_PROXY_REQ_REWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REQ_RW_OUT_MAX	 (64u << 10) /* a rewritten head, at most */
#define REQ_RW_LINE_MAX	 4096u	     /* a chunk-size line, extensions included */
#define REQ_RW_TRAIL_MAX 16384u	     /* a chunked body's trailer section */

/**
 * struct req_rw_conf - what to inject (strings are copied by req_rw_new()).
 * @host:        the intercepted host (lowercase name); every request's Host must name it.
 * @header:      service secret: the header to replace ("x-api-key"), compared without case;
 *               NULL for a custom secret.
 * @prefix:      service secret: written before the value ("Bearer "); NULL means "".
 * @placeholder: custom secret: the text swapped for @value wherever it occurs in a header
 *               value; NULL for a service secret.
 * @value:       the key (printable ASCII).
 */
struct req_rw_conf {
	const char *host;
	const char *header;
	const char *prefix;
	const char *placeholder;
	const char *value;
};

struct req_rw;

/**
 * req_rw_new() - a rewriter for one connection, at the start of its first request head.
 * Return: the rewriter (req_rw_free() it), or NULL (out of memory, or @conf lacks host or
 * value, or has neither or both of header and placeholder).
 */
struct req_rw *req_rw_new(const struct req_rw_conf *conf);

/**
 * req_rw_free() - free @rw (NULL is fine), wiping the key and buffered heads first.
 */
void req_rw_free(struct req_rw *rw);

/**
 * req_rw_feed() - push client bytes through the rewriter.
 * @rw:   the rewriter.
 * @in:   client bytes (plaintext) not yet consumed.
 * @n:    how many.
 * @used: set to how many of @in were consumed (kept inside @rw or passed on).
 * @out:  where the bytes for the upstream go.
 * @cap:  room in @out.
 *
 * Makes progress whenever @n > 0 or rewritten bytes are pending, and @cap > 0. A head is held
 * until complete (at most HTTP_HEAD_MAX bytes), then its rewrite is emitted as room allows.
 * Return: bytes written to @out (0..@cap), or minus the HTTP status to answer the client with
 * (400 bad head or body framing, 421 Host is not the intercepted host, 431 head too large,
 * 501 upgrade or an unsupported coding, 505 version — HTTP/2's preface is refused so); after
 * an error every call returns it again. req_rw_why() says why.
 */
ssize_t req_rw_feed(struct req_rw *rw, const uint8_t *in, size_t n, size_t *used, uint8_t *out,
		    size_t cap);

/**
 * req_rw_pending() - bytes the rewriter holds that req_rw_feed() has still to write out.
 */
size_t req_rw_pending(const struct req_rw *rw);

/**
 * req_rw_requests() - how many request heads have been rewritten so far.
 */
unsigned req_rw_requests(const struct req_rw *rw);

/**
 * req_rw_why() - after an error, a short static reason for the log (never the key); else "".
 */
const char *req_rw_why(const struct req_rw *rw);

#endif
