/* The HTTP/1.1 request-head parser of sbxd's egress proxy, its rewrite for a plain-HTTP
 * forward, and sbxd's own short responses (see http_head.h). Pure code on caller buffers:
 * never does I/O, never allocates, never reads past len, never keeps a byte it did not check. */
#include "daemon/proxy/http_head.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Parse state that only matters until the head is complete. */
struct http_pstate {
	bool te_seen;	   /* a Transfer-Encoding field was present */
	unsigned te_count; /* list elements over all Transfer-Encoding fields */
	unsigned te_chunked;
	bool te_last_chunked;
	bool upgrade_ws; /* an Upgrade field lists "websocket" */
};

static int fail(struct http_req *r, int code, const char *why)
{
	r->why = why;
	return code;
}

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Is buf[0, n) equal to the lowercase literal @lit, ignoring ASCII case? */
static bool ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == 0 || lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return lit[n] == 0;
}

/* Are a[0, n) and b[0, n) equal, ignoring ASCII case? */
static bool ieqn(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/* Next element of a comma-separated list value @v (@n bytes) from *@pos, OWS trimmed; empty
 * elements are skipped (RFC 9110 5.6.1). Return false at the end of the list. */
static bool list_next(const char *v, size_t n, size_t *pos, const char **e, size_t *elen)
{
	while (*pos < n) {
		size_t s = *pos, t;

		while (*pos < n && v[*pos] != ',')
			(*pos)++;
		t = *pos;
		if (*pos < n)
			(*pos)++;
		while (s < t && (v[s] == ' ' || v[s] == '\t'))
			s++;
		while (t > s && (v[t - 1] == ' ' || v[t - 1] == '\t'))
			t--;
		if (t > s) {
			*e = v + s;
			*elen = t - s;
			return true;
		}
	}
	return false;
}

static bool all_tchar(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return false;
	return true;
}

/* A dotted quad with no leading zeros and octets <= 255. */
static bool dotted_quad(const char *s)
{
	unsigned parts = 0;

	for (;;) {
		unsigned v = 0, nd = 0;

		while (is_digit((unsigned char)*s)) {
			if (nd == 1 && v == 0)
				return false; /* leading zero */
			v = v * 10 + (unsigned)(*s++ - '0');
			if (++nd > 3 || v > 255)
				return false;
		}
		if (nd == 0)
			return false;
		parts++;
		if (*s == 0)
			return parts == 4;
		if (*s++ != '.' || parts == 4)
			return false;
	}
}

int http_host_norm(const char *in, size_t len, char *out, size_t cap)
{
	size_t n = len, i, lab = 0;
	struct in_addr a;

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n > HTTP_HOST_MAX || cap < n + 1)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
		} else if (c == '-' || c == '_' || is_digit(c) ||
			   (lower(c) >= 'a' && lower(c) <= 'z')) {
			if (++lab > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = (char)lower(c);
	}
	out[n] = 0;
	if (lab == 0)
		return -1;
	if (inet_aton(out, &a) || all_digits(out + n - lab, lab))
		return dotted_quad(out) ? HTTP_HOST_IPV4 : -1;
	return HTTP_HOST_NAME;
}

/* The inside of "[...]": an IPv6 address (no zone id, no IPvFuture), in inet_ntop() form. */
static int ipv6_norm(const char *in, size_t n, char *out, size_t cap)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t i;

	if (n < 2 || n >= sizeof tmp)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (!is_digit(c) && !(lower(c) >= 'a' && lower(c) <= 'f') && c != ':' && c != '.')
			return -1;
		tmp[i] = (char)c;
	}
	tmp[n] = 0;
	if (inet_pton(AF_INET6, tmp, &a) != 1 || !inet_ntop(AF_INET6, &a, out, (socklen_t)cap))
		return -1;
	return HTTP_HOST_IPV6;
}

struct authority {
	char host[HTTP_HOST_MAX + 1];
	enum http_host_kind kind;
	uint16_t port; /* 0: none given (or an empty port) */
};

/* host [":" port], host a name, dotted quad or [IPv6]; no userinfo. Return 0 or -400. */
static int authority_parse(const char *s, size_t n, struct authority *a, struct http_req *r)
{
	const char *hend, *p;
	size_t plen, i;
	unsigned v = 0;
	int k;

	if (memchr(s, '@', n)) {
		r->userinfo = true;
		return fail(r, HTTP_E_BAD_REQUEST, "credentials (userinfo) in the URI or Host");
	}
	if (n && s[0] == '[') {
		hend = memchr(s, ']', n);
		if (!hend)
			return fail(r, HTTP_E_BAD_REQUEST, "unterminated IPv6 literal");
		k = ipv6_norm(s + 1, (size_t)(hend - s - 1), a->host, sizeof a->host);
		p = hend + 1;
		if (p < s + n && *p != ':')
			return fail(r, HTTP_E_BAD_REQUEST, "bytes after an IPv6 literal");
	} else {
		hend = memchr(s, ':', n);
		if (!hend)
			hend = s + n;
		k = http_host_norm(s, (size_t)(hend - s), a->host, sizeof a->host);
		p = hend;
	}
	if (k < 0)
		return fail(r, HTTP_E_BAD_REQUEST, "invalid host");
	a->kind = (enum http_host_kind)k;
	a->port = 0;
	if (p == s + n)
		return 0;
	p++; /* ':' */
	plen = (size_t)(s + n - p);
	if (plen > 5)
		return fail(r, HTTP_E_BAD_REQUEST, "invalid port");
	for (i = 0; i < plen; i++) {
		if (!is_digit((unsigned char)p[i]))
			return fail(r, HTTP_E_BAD_REQUEST, "invalid port");
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (plen && (v == 0 || v > 65535))
		return fail(r, HTTP_E_BAD_REQUEST, "port out of range");
	a->port = (uint16_t)v;
	return 0;
}

static void take_authority(struct http_req *r, const struct authority *a)
{
	memcpy(r->host, a->host, sizeof r->host);
	r->host_kind = a->kind;
	r->port = a->port;
}

/* http://authority[/path][?query] — the only scheme a plain-HTTP proxy request may carry. */
static int absolute_parse(const char *buf, struct http_span t, struct http_req *r)
{
	const char *s = buf + t.off;
	size_t n = t.len, i = 0, as;
	struct authority a;
	int rc;

	while (i < n && s[i] != ':' && s[i] != '/')
		i++;
	if (i == n || s[i] != ':' || i == 0)
		return fail(r, HTTP_E_BAD_REQUEST, "request-target is not a URI");
	if (ieq(s, i, "https"))
		return fail(r, HTTP_E_BAD_REQUEST, "https:// in a proxy request (use CONNECT)");
	if (!ieq(s, i, "http"))
		return fail(r, HTTP_E_BAD_REQUEST, "URI scheme is not http");
	if (n - i < 3 || s[i + 1] != '/' || s[i + 2] != '/')
		return fail(r, HTTP_E_BAD_REQUEST, "URI without an authority");
	as = i + 3;
	for (i = as; i < n && s[i] != '/' && s[i] != '?'; i++)
		;
	rc = authority_parse(s + as, i - as, &a, r);
	if (rc)
		return rc;
	if (a.port == 0)
		a.port = 80;
	take_authority(r, &a);
	r->form = HTTP_FORM_ABSOLUTE;
	r->path.off = t.off + (uint32_t)i;
	r->path.len = (uint32_t)(n - i);
	return 0;
}

/* method SP request-target SP HTTP-version, the line [s, e) without its CRLF. */
static int request_line(const char *buf, size_t s, size_t e, struct http_req *r)
{
	const char *l = buf + s, *sp1, *sp2, *v;
	size_t n = e - s, i;
	struct authority a;
	int rc;

	sp1 = memchr(l, ' ', n);
	if (!sp1 || sp1 == l || !all_tchar(l, (size_t)(sp1 - l)))
		return fail(r, HTTP_E_BAD_REQUEST, "bad method");
	sp2 = memchr(sp1 + 1, ' ', (size_t)(l + n - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return fail(r, HTTP_E_BAD_REQUEST, "bad request line");
	v = sp2 + 1;
	if (l + n - v != 8 || memcmp(v, "HTTP/", 5) || !is_digit((unsigned char)v[5]) ||
	    v[6] != '.' || !is_digit((unsigned char)v[7]))
		return fail(r, HTTP_E_BAD_REQUEST, "bad HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return fail(r, HTTP_E_VERSION, "HTTP version not supported");
	r->minor = v[7] - '0';
	r->method.off = (uint32_t)s;
	r->method.len = (uint32_t)(sp1 - l);
	r->target.off = (uint32_t)(sp1 + 1 - buf);
	r->target.len = (uint32_t)(sp2 - sp1 - 1);
	if (r->target.len > HTTP_TARGET_MAX)
		return fail(r, HTTP_E_URI_TOO_LONG, "request-target too long");
	for (i = 0; i < r->target.len; i++) {
		unsigned char c = (unsigned char)buf[r->target.off + i];

		if (!is_vchar(c))
			return fail(r, HTTP_E_BAD_REQUEST,
				    "request-target byte not printable ASCII");
		if (c == '#')
			return fail(r, HTTP_E_BAD_REQUEST, "fragment in the request-target");
	}
	bool connect = r->method.len == 7 && !memcmp(l, "CONNECT", 7);
	const char *t = buf + r->target.off;

	if (connect) {
		if (t[0] == '/' || memchr(t, '/', r->target.len))
			return fail(r, HTTP_E_BAD_REQUEST, "CONNECT needs host:port");
		rc = authority_parse(t, r->target.len, &a, r);
		if (rc)
			return rc;
		if (a.port == 0)
			return fail(r, HTTP_E_BAD_REQUEST, "CONNECT without a port");
		take_authority(r, &a);
		r->form = HTTP_FORM_AUTHORITY;
		r->path.off = r->target.off + r->target.len;
		return 0;
	}
	if (t[0] == '/') {
		r->form = HTTP_FORM_ORIGIN;
		r->path = r->target;
		return 0;
	}
	if (r->target.len == 1 && t[0] == '*')
		return fail(r, HTTP_E_BAD_REQUEST, "asterisk-form is not proxied");
	return absolute_parse(buf, r->target, r);
}

static int content_length(const char *v, size_t n, struct http_req *r)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 18)
		return fail(r, HTTP_E_BAD_REQUEST, "bad Content-Length");
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)v[i]))
			return fail(r, HTTP_E_BAD_REQUEST, "bad Content-Length");
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (r->has_clen && r->clen != x)
		return fail(r, HTTP_E_BAD_REQUEST, "Content-Length values differ");
	r->has_clen = true;
	r->clen = x;
	return 0;
}

static int conn_tokens(const char *v, size_t n, unsigned *flags, struct http_req *r)
{
	size_t pos = 0, el;
	const char *e;

	while (list_next(v, n, &pos, &e, &el)) {
		if (!all_tchar(e, el))
			return fail(r, HTTP_E_BAD_REQUEST, "bad Connection token");
		if (ieq(e, el, "close"))
			*flags |= HTTP_CONN_CLOSE;
		else if (ieq(e, el, "keep-alive"))
			*flags |= HTTP_CONN_KEEPALIVE;
		else if (ieq(e, el, "upgrade"))
			*flags |= HTTP_CONN_UPGRADE;
		else
			*flags |= HTTP_CONN_OTHER;
	}
	return 0;
}

static int transfer_encoding(const char *v, size_t n, struct http_pstate *ps, struct http_req *r)
{
	size_t pos = 0, el;
	const char *e;

	ps->te_seen = true;
	while (list_next(v, n, &pos, &e, &el)) {
		ps->te_count++;
		ps->te_last_chunked = ieq(e, el, "chunked");
		ps->te_chunked += ps->te_last_chunked;
	}
	return 0;
}

/* A field line [s, e): name ":" OWS value OWS. */
static int field_line(const char *buf, size_t s, size_t e, struct http_req *r,
		      struct http_pstate *ps)
{
	size_t i = s, vs, ve;

	if (buf[s] == ' ' || buf[s] == '\t')
		return fail(r, HTTP_E_BAD_REQUEST, "obs-fold (continuation line)");
	if (r->nfields == HTTP_FIELDS_MAX)
		return fail(r, HTTP_E_FIELDS_TOO_LARGE, "too many header fields");
	while (i < e && buf[i] != ':') {
		if (!is_tchar((unsigned char)buf[i]))
			return fail(r, HTTP_E_BAD_REQUEST,
				    "bad header name (or space before colon)");
		i++;
	}
	if (i == e || i == s)
		return fail(r, HTTP_E_BAD_REQUEST, "bad header line");
	for (vs = i + 1; vs < e && (buf[vs] == ' ' || buf[vs] == '\t'); vs++)
		;
	for (ve = e; ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'); ve--)
		;
	for (size_t j = vs; j < ve; j++) {
		unsigned char c = (unsigned char)buf[j];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(r, HTTP_E_BAD_REQUEST, "control byte in a header value");
	}
	struct http_field *f = &r->field[r->nfields++];
	const char *name = buf + s, *v = buf + vs;
	size_t nl = i - s, vl = ve - vs;

	f->name.off = (uint32_t)s;
	f->name.len = (uint32_t)nl;
	f->value.off = (uint32_t)vs;
	f->value.len = (uint32_t)vl;
	if (ieq(name, nl, "host")) {
		if (r->has_host_hdr)
			return fail(r, HTTP_E_BAD_REQUEST, "two Host headers");
		r->has_host_hdr = true;
		r->host_hdr = f->value;
	} else if (ieq(name, nl, "content-length")) {
		return content_length(v, vl, r);
	} else if (ieq(name, nl, "transfer-encoding")) {
		return transfer_encoding(v, vl, ps, r);
	} else if (ieq(name, nl, "connection")) {
		return conn_tokens(v, vl, &r->conn, r);
	} else if (ieq(name, nl, "proxy-connection")) {
		return conn_tokens(v, vl, &r->proxy_conn, r);
	} else if (ieq(name, nl, "upgrade")) {
		size_t pos = 0, el;
		const char *el_s;

		while (list_next(v, vl, &pos, &el_s, &el))
			if (ieq(el_s, el, "websocket"))
				ps->upgrade_ws = true;
	}
	return 0;
}

/* Checks that need the whole head. */
static int head_finish(const char *buf, struct http_req *r, const struct http_pstate *ps)
{
	struct authority a;
	int rc;

	if (ps->te_seen) {
		if (r->minor == 0)
			return fail(r, HTTP_E_BAD_REQUEST, "Transfer-Encoding in HTTP/1.0");
		if (r->has_clen)
			return fail(r, HTTP_E_BAD_REQUEST, "Content-Length with Transfer-Encoding");
		if (ps->te_count == 0 || !ps->te_last_chunked || ps->te_chunked > 1)
			return fail(r, HTTP_E_BAD_REQUEST, "Transfer-Encoding not a final chunked");
		if (ps->te_count > 1)
			return fail(r, HTTP_E_NOT_IMPLEMENTED,
				    "transfer coding other than chunked");
		r->chunked = true;
	}
	if (r->form == HTTP_FORM_AUTHORITY && (r->chunked || r->clen))
		return fail(r, HTTP_E_BAD_REQUEST, "CONNECT with a body");
	if (r->form == HTTP_FORM_ORIGIN) {
		if (!r->has_host_hdr)
			return fail(r, HTTP_E_BAD_REQUEST, "no Host header");
		rc = authority_parse(buf + r->host_hdr.off, r->host_hdr.len, &a, r);
		if (rc)
			return rc;
		take_authority(r, &a);
	} else if (r->has_host_hdr) {
		rc = authority_parse(buf + r->host_hdr.off, r->host_hdr.len, &a, r);
		if (rc)
			return rc;
		if (a.port == 0 && r->form == HTTP_FORM_ABSOLUTE)
			a.port = 80;
		r->host_mismatch =
		    strcmp(a.host, r->host) != 0 || (a.port != 0 && a.port != r->port);
	}
	r->websocket = r->minor == 1 && (r->conn & HTTP_CONN_UPGRADE) && ps->upgrade_ws &&
		       r->method.len == 3 && !memcmp(buf + r->method.off, "GET", 3);
	return 1;
}

int http_req_parse(const char *buf, size_t len, struct http_req *r)
{
	size_t limit = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, ls = 0, i, sp_at = 0;
	unsigned sp = 0;
	bool have_rl = false;
	struct http_pstate ps = {0};
	int rc;

	memset(r, 0, sizeof *r);
	for (i = 0; i < limit; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n') {
			if (i == ls || buf[i - 1] != '\r')
				return fail(r, HTTP_E_BAD_REQUEST, "bare LF");
			if (i - 1 == ls) { /* an empty line */
				ls = i + 1;
				if (!have_rl)
					continue;
				r->head_len = i + 1;
				return head_finish(buf, r, &ps);
			}
			rc = have_rl ? field_line(buf, ls, i - 1, r, &ps)
				     : request_line(buf, ls, i - 1, r);
			if (rc)
				return rc;
			have_rl = true;
			ls = i + 1;
			continue;
		}
		if (c == '\r') {
			if (i + 1 < len && buf[i + 1] != '\n')
				return fail(r, HTTP_E_BAD_REQUEST, "bare CR");
			continue;
		}
		if (c == 0)
			return fail(r, HTTP_E_BAD_REQUEST, "NUL byte");
		if (have_rl)
			continue;
		/* early verdicts on a request line still arriving */
		if (c == ' ') {
			if (++sp > 2 || i == ls || (sp == 2 && i == sp_at + 1))
				return fail(r, HTTP_E_BAD_REQUEST, "bad request line");
			sp_at = i;
		} else if (sp == 0) {
			if (!is_tchar(c) || i - ls >= HTTP_METHOD_MAX)
				return fail(r, HTTP_E_BAD_REQUEST, "bad method");
		} else if (sp == 1) {
			if (i - sp_at > HTTP_TARGET_MAX)
				return fail(r, HTTP_E_URI_TOO_LONG, "request-target too long");
		} else if (i - sp_at > 8) {
			return fail(r, HTTP_E_BAD_REQUEST, "bad HTTP version");
		}
	}
	if (len >= HTTP_HEAD_MAX)
		return have_rl ? fail(r, HTTP_E_FIELDS_TOO_LARGE, "request head too large")
			       : fail(r, HTTP_E_BAD_REQUEST, "no request line");
	return 0;
}

struct obuf {
	char *p;
	size_t cap, len;
	bool ok;
};

static void put(struct obuf *o, const char *s, size_t n)
{
	if (!o->ok || n > o->cap - o->len) {
		o->ok = false;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct obuf *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Does the Connection field list name @name (a header to drop as hop-by-hop)? */
static bool named_in_connection(const struct http_req *r, const char *buf, const char *name,
				size_t nl)
{
	unsigned k;

	for (k = 0; k < r->nfields; k++) {
		const struct http_field *g = &r->field[k];
		size_t pos = 0, el;
		const char *e;

		if (!ieq(buf + g->name.off, g->name.len, "connection"))
			continue;
		while (list_next(buf + g->value.off, g->value.len, &pos, &e, &el))
			if (el == nl && ieqn(e, name, nl))
				return true;
	}
	return false;
}

static bool field_dropped(const struct http_req *r, const char *buf, const struct http_field *f)
{
	static const char *const hop[] = {"host",
					  "connection",
					  "proxy-connection",
					  "proxy-authorization",
					  "keep-alive",
					  "proxy-authenticate",
					  "te",
					  "trailer",
					  NULL};
	const char *name = buf + f->name.off;
	size_t nl = f->name.len, i;

	for (i = 0; hop[i]; i++)
		if (ieq(name, nl, hop[i]))
			return true;
	if (ieq(name, nl, "upgrade"))
		return !r->websocket;
	if (ieq(name, nl, "content-length") || ieq(name, nl, "transfer-encoding"))
		return false;
	return named_in_connection(r, buf, name, nl);
}

int http_req_rewrite(const struct http_req *r, const char *buf, char *out, size_t cap)
{
	struct obuf o = {out, cap, 0, true};
	char port[8];
	unsigned k;

	if (r->form != HTTP_FORM_ORIGIN && r->form != HTTP_FORM_ABSOLUTE)
		return -1;
	put(&o, buf + r->method.off, r->method.len);
	puts_(&o, " ");
	if (r->path.len == 0 || buf[r->path.off] == '?')
		puts_(&o, "/");
	put(&o, buf + r->path.off, r->path.len);
	puts_(&o, r->minor ? " HTTP/1.1\r\nHost: " : " HTTP/1.0\r\nHost: ");
	if (r->host_kind == HTTP_HOST_IPV6)
		puts_(&o, "[");
	puts_(&o, r->host);
	if (r->host_kind == HTTP_HOST_IPV6)
		puts_(&o, "]");
	if (r->port && r->port != 80) {
		snprintf(port, sizeof port, ":%u", (unsigned)r->port);
		puts_(&o, port);
	}
	puts_(&o, "\r\n");
	for (k = 0; k < r->nfields; k++) {
		const struct http_field *f = &r->field[k];
		size_t end =
		    f->value.len ? f->value.off + f->value.len : f->name.off + f->name.len + 1;

		if (field_dropped(r, buf, f))
			continue;
		put(&o, buf + f->name.off, end - f->name.off);
		puts_(&o, "\r\n");
	}
	puts_(&o, r->websocket ? "Connection: Upgrade\r\n\r\n" : "Connection: close\r\n\r\n");
	return o.ok && o.len <= (size_t)INT32_MAX ? (int)o.len : -1;
}

const char *http_status_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} t[] = {
	    {200, "OK"},
	    {400, "Bad Request"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {407, "Proxy Authentication Required"},
	    {408, "Request Timeout"},
	    {413, "Content Too Large"},
	    {414, "URI Too Long"},
	    {421, "Misdirected Request"},
	    {429, "Too Many Requests"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	    {505, "HTTP Version Not Supported"},
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].status == status)
			return t[i].reason;
	return "Unknown";
}

int http_resp_simple(char *out, size_t cap, int status, const char *reason, const char *body)
{
	const unsigned char *p;
	int n;

	if (!out || status < 200 || status > 599 || status == 204 || status == 205 || status == 304)
		return -1;
	if (!reason)
		reason = http_status_reason(status);
	if (!body)
		body = "";
	for (p = (const unsigned char *)reason; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return -1;
	n = snprintf(out, cap,
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     status, reason, strlen(body), body);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
