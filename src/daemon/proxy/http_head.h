/* The HTTP/1.1 request head as sbxd's egress proxy sees it from a guest: the one parser of the
 * head (explicit-proxy and transparent plain-HTTP streams), the head rewrite for a plain-HTTP
 * forward, and sbxd's own short responses. Pure code on caller buffers: no I/O, no allocation,
 * never reads a guest byte past len, never forwards a header it has not checked.
 *
 * Line endings: strict. A line ends only at CRLF; a bare LF or a bare CR anywhere in the head
 * is 400 (RFC 9112 2.2 lets a recipient accept bare LF; we never do, so the bytes we frame are
 * the bytes an upstream would frame). Empty lines (CRLF) before the request line are skipped.
 */
#ifndef SBX_DAEMON_PROXY_HTTP_HEAD_H
#define SBX_DAEMON_PROXY_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX	 16384u /* whole head, request line to the empty line, CRLFs included */
#define HTTP_FIELDS_MAX	 100u	/* header field lines */
#define HTTP_TARGET_MAX	 8192u	/* request-target bytes */
#define HTTP_METHOD_MAX	 32u	/* method token bytes */
#define HTTP_HOST_MAX	 253u	/* normalised host text (a DNS name's longest) */
#define HTTP_REWRITE_MAX (HTTP_HEAD_MAX + 256u) /* always enough for http_req_rewrite() */

/* Results of http_req_parse() below 0: minus the status sbxd answers with. */
#define HTTP_E_BAD_REQUEST	(-400)
#define HTTP_E_URI_TOO_LONG	(-414)
#define HTTP_E_FIELDS_TOO_LARGE (-431)
#define HTTP_E_NOT_IMPLEMENTED	(-501) /* a transfer coding other than a lone "chunked" */
#define HTTP_E_VERSION		(-505) /* HTTP/x.y other than 1.0 and 1.1 */

enum http_form {
	HTTP_FORM_ORIGIN = 1, /* GET /path HTTP/1.1 (transparent): host from the Host header */
	HTTP_FORM_ABSOLUTE,   /* GET http://host[:port]/path HTTP/1.1 (explicit proxy) */
	HTTP_FORM_AUTHORITY,  /* CONNECT host:port HTTP/1.1 (explicit proxy, a tunnel) */
};

enum http_host_kind {
	HTTP_HOST_NAME = 1, /* a DNS name: [a-z0-9_-] labels, lowercased, no trailing dot */
	HTTP_HOST_IPV4,	    /* a strict dotted quad (no octal, hex or short forms) */
	HTTP_HOST_IPV6,	    /* written in brackets, stored without, in inet_ntop() form */
};

/* Tokens seen in Connection (http_req.conn) or Proxy-Connection (http_req.proxy_conn). */
#define HTTP_CONN_CLOSE	    0x1u
#define HTTP_CONN_KEEPALIVE 0x2u
#define HTTP_CONN_UPGRADE   0x4u
#define HTTP_CONN_OTHER	    0x8u /* some other token: names a hop-by-hop header */

/* A range of the caller's buffer: buf[off, off + len). */
struct http_span {
	uint32_t off, len;
};

/* One header field line: name as sent, value without its leading and trailing whitespace. */
struct http_field {
	struct http_span name, value;
};

/* A parsed request head. Spans point into the buffer given to http_req_parse(); host is a
 * copy. Meaningful only after a return of 1, except why (and userinfo) after an error. */
struct http_req {
	size_t head_len;	 /* bytes of the head, final CRLFCRLF included; the body follows */
	enum http_form form;	 /* what the request-target was */
	struct http_span method; /* case-sensitive token, e.g. "GET", "CONNECT" */
	struct http_span target; /* the request-target as sent */
	struct http_span path;	 /* origin: target; absolute: path + query, may be empty or
				    start with '?' (send "/" before it); authority: empty */
	int minor;		 /* HTTP/1.<minor>: 0 or 1 */
	char host[HTTP_HOST_MAX + 1];  /* from the URI (absolute, authority) or Host (origin) */
	enum http_host_kind host_kind; /* what host is */
	uint16_t port;		       /* absolute: URI port or 80; authority: the port;
					  origin: Host's port or 0 when it names none */
	bool has_host_hdr;	       /* a Host header was sent (at most one is accepted) */
	struct http_span host_hdr;     /* its value */
	bool host_mismatch;  /* absolute/authority: Host names another host or port than the
				URI; the URI wins (RFC 9112 3.2.2) — log it */
	bool has_clen;	     /* Content-Length sent (repeats must agree) */
	uint64_t clen;	     /* its value */
	bool chunked;	     /* Transfer-Encoding: chunked (the only coding accepted) */
	unsigned conn;	     /* HTTP_CONN_* from Connection */
	unsigned proxy_conn; /* HTTP_CONN_* from Proxy-Connection */
	bool websocket;	     /* GET, HTTP/1.1, Connection: upgrade and Upgrade: websocket */
	bool userinfo;	     /* user:pass@ in the URI or Host: always refused (400) */
	const char *why;     /* on error: a short static reason for the log, else NULL */
	unsigned nfields;
	struct http_field field[HTTP_FIELDS_MAX];
};

/**
 * http_req_parse() - parse the request head at the start of @buf.
 * @buf: the bytes received so far on the stream (need not be NUL-terminated)
 * @len: how many
 * @r:   filled in; see struct http_req
 *
 * Call again with more bytes after a 0; each call parses from the start (stateless). Errors
 * come as soon as the bytes seen prove them. Refused shapes include: request smuggling (two
 * Content-Length values, Content-Length with Transfer-Encoding, Transfer-Encoding in HTTP/1.0
 * or not a lone final "chunked", whitespace before a colon, obs-fold), userinfo, https:// or
 * other schemes in an absolute URI, a fragment, CONNECT without a port or with a body, the
 * asterisk form, a missing Host in the origin form, two Host headers, non-ASCII in the target,
 * control bytes in values, and any host that is not a DNS name, dotted quad or [IPv6].
 * Host is optional for the absolute and authority forms (HTTP/1.0 clients omit it).
 *
 * Return: 1 a complete head was parsed (@r->head_len bytes), 0 need more bytes, or
 * HTTP_E_* (minus the status to answer with; @r->why says why).
 */
int http_req_parse(const char *buf, size_t len, struct http_req *r);

/**
 * http_req_rewrite() - the head to send upstream for a plain-HTTP forward of @r.
 * @r:   a request parsed (return 1) from @buf, of the absolute or origin form
 * @buf: the same buffer
 * @out: where to write the head (not NUL-terminated)
 * @cap: its size; HTTP_REWRITE_MAX always suffices
 *
 * Writes "METHOD /path HTTP/1.<minor>" (the client's version is kept: sbxd relays the response
 * bytes as they come, so the upstream must answer in a version the client reads), then
 * "Host: <host>[:port]" (port left out when 80 or unspecified; IPv6 in brackets), then every
 * field line as sent, in order, except Host and the hop-by-hop ones — Connection,
 * Proxy-Connection, Proxy-Authorization, Proxy-Authenticate, Keep-Alive, TE, Trailer, Upgrade,
 * and any named in Connection (never Content-Length or Transfer-Encoding: the body is relayed
 * as framed) — then "Connection: close" (sbxd makes one request per upstream connection), or,
 * for a websocket upgrade, keeps Upgrade and writes "Connection: Upgrade", then the empty line.
 *
 * Return: bytes written, or -1 if @r is a CONNECT or the head does not fit in @cap.
 */
int http_req_rewrite(const struct http_req *r, const char *buf, char *out, size_t cap);

/**
 * http_resp_simple() - one of sbxd's own complete responses (403, 400, 502, 504, ...).
 * @out:    where to write; NUL-terminated on success
 * @cap:    its size
 * @status: 200..599, not 204/205/304 (they carry no body)
 * @reason: reason phrase, or NULL for http_status_reason(@status); no CR, LF or control bytes
 * @body:   text/plain UTF-8 body, or NULL for none
 *
 * Headers: Content-Type: text/plain; charset=utf-8, Content-Length, Connection: close.
 * Return: bytes written (without the NUL), or -1 on a bad argument or if it does not fit.
 */
int http_resp_simple(char *out, size_t cap, int status, const char *reason, const char *body);

/**
 * http_status_reason() - the standard reason phrase of @status ("Forbidden" for 403).
 * Return: a static string; "Unknown" for a status it does not know.
 */
const char *http_status_reason(int status);

/**
 * http_host_norm() - check and normalise a host name or IPv4 literal (no brackets, no port).
 * @in:  the text, @len bytes (need not be NUL-terminated)
 * @out: gets the lowercased host without one trailing dot, NUL-terminated
 * @cap: its size; HTTP_HOST_MAX + 1 always suffices
 *
 * A name is 1..253 bytes of labels of 1..63 bytes from [A-Za-z0-9_-]. Anything inet_aton()
 * would take as an address ("127.1", "0x7f000001", "017.0.0.1"), and anything whose last label
 * is all digits ("999.1.1.1"), must be a strict dotted quad, so a name can never be read as an
 * address further on. Shared with tls_hello so the
 * SNI and the CONNECT host compare in one form.
 * Return: HTTP_HOST_NAME or HTTP_HOST_IPV4, or -1 (invalid, or @cap too small).
 */
int http_host_norm(const char *in, size_t len, char *out, size_t cap);

#endif
