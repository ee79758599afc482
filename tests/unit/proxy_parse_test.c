/* Unit tests of the egress proxy's byte parsers: the HTTP request head (parse, rewrite, sbxd's
 * own responses) and the TLS ClientHello SNI. Pure; no sockets. Every error class with a precise
 * input, every prefix of a valid input, rewrites checked byte for byte. */
#include "daemon/proxy/http_head.h"
#include "daemon/proxy/tls_hello.h"
#include "t.h"

#include <stdint.h>

static struct http_req r;

/* Parse a NUL-terminated head. */
static int parse(const char *s)
{
	return http_req_parse(s, strlen(s), &r);
}

/* Every proper prefix of @s needs more bytes; the whole gives 1 and consumes @s entirely. */
static int prefixes_ok(const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++) {
		int rc = http_req_parse(s, i, &r);

		if (rc != 0) {
			fprintf(stderr, "prefix %zu of %zu: %d (%s)\n", i, n, rc,
				r.why ? r.why : "");
			return 0;
		}
	}
	return http_req_parse(s, n, &r) == 1 && r.head_len == n;
}

/* The rewrite of @s as a string ("" if it fails). */
static const char *rewrite(const char *s)
{
	static char out[HTTP_REWRITE_MAX + 1];
	int n;

	out[0] = 0;
	if (parse(s) != 1)
		return "(parse failed)";
	n = http_req_rewrite(&r, s, out, HTTP_REWRITE_MAX);
	if (n < 0)
		return "(rewrite failed)";
	out[n] = 0;
	return out;
}

static int span_is(const char *buf, struct http_span sp, const char *want)
{
	return sp.len == strlen(want) && memcmp(buf + sp.off, want, sp.len) == 0;
}

TEST(http_absolute_get)
{
	const char *s = "GET http://Example.COM./path?q=1 HTTP/1.1\r\nHost: example.com\r\n"
			"Proxy-Connection: Keep-Alive\r\nAccept: */*\r\n\r\nBODY";

	CHECK_EQ(parse(s), 1);
	CHECK_EQ(r.head_len, strlen(s) - 4);
	CHECK_EQ(r.form, HTTP_FORM_ABSOLUTE);
	CHECK(span_is(s, r.method, "GET"));
	CHECK(span_is(s, r.path, "/path?q=1"));
	CHECK(span_is(s, r.host_hdr, "example.com"));
	CHECK_STR(r.host, "example.com");
	CHECK_EQ(r.host_kind, HTTP_HOST_NAME);
	CHECK_EQ(r.port, 80);
	CHECK_EQ(r.minor, 1);
	CHECK(!r.host_mismatch);
	CHECK_EQ(r.proxy_conn, HTTP_CONN_KEEPALIVE);
	CHECK_EQ(r.conn, 0);
	CHECK_EQ(r.nfields, 3);
	CHECK(!r.has_clen && !r.chunked && !r.websocket);
	CHECK(r.why == NULL);
}

TEST(http_absolute_forms)
{
	CHECK_EQ(parse("GET http://h.test HTTP/1.1\r\n\r\n"), 1);
	CHECK_EQ(r.path.len, 0);
	CHECK_EQ(r.port, 80);
	CHECK(!r.has_host_hdr);
	CHECK_EQ(parse("GET http://h.test:8080?x=1 HTTP/1.0\r\n\r\n"), 1);
	CHECK_EQ(r.port, 8080);
	CHECK_EQ(r.minor, 0);
	CHECK_EQ(parse("GET HTTP://h.test:/ HTTP/1.1\r\n\r\n"), 1); /* empty port: default */
	CHECK_EQ(r.port, 80);
	CHECK_EQ(parse("GET http://10.0.0.1:81/ HTTP/1.1\r\n\r\n"), 1);
	CHECK_EQ(r.host_kind, HTTP_HOST_IPV4);
	CHECK_STR(r.host, "10.0.0.1");
	CHECK_EQ(parse("GET http://[2001:DB8:0::1]:8080/x HTTP/1.1\r\n\r\n"), 1);
	CHECK_EQ(r.host_kind, HTTP_HOST_IPV6);
	CHECK_STR(r.host, "2001:db8::1");
	CHECK_EQ(r.port, 8080);
}

TEST(http_absolute_refused)
{
	CHECK_EQ(parse("GET https://h.test/ HTTP/1.1\r\nHost: h.test\r\n\r\n"), -400);
	CHECK_EQ(parse("GET HTTPS://h.test/ HTTP/1.1\r\n"), -400); /* before the head ends */
	CHECK_EQ(parse("GET ftp://h.test/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http:h.test/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http:///x HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET h.test:80 HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://h.test/#frag HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://h.test:0/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://h.test:65536/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://h.test:8o/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://h.test:000080/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://h_.te%73t/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://[fe80::1%25eth0]/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://[v1.x]/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://[::1/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://[::1]x/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://caf\xc3\xa9.test/ HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: h.test\r\n\r\n"), -400);
	r.userinfo = false;
	CHECK_EQ(parse("GET http://user:pass@h.test/ HTTP/1.1\r\n\r\n"), -400);
	CHECK(r.userinfo);
	CHECK(r.why != NULL);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: u@h.test\r\n\r\n"), -400);
	CHECK(r.userinfo);
}

TEST(http_host_mismatch)
{
	CHECK_EQ(parse("GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n"), 1);
	CHECK(r.host_mismatch);
	CHECK_STR(r.host, "a.test"); /* the URI wins */
	CHECK_EQ(parse("GET http://a.test/ HTTP/1.1\r\nHost: A.test.:80\r\n\r\n"), 1);
	CHECK(!r.host_mismatch);
	CHECK_EQ(parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test:8080\r\n\r\n"), 1);
	CHECK(r.host_mismatch);
	CHECK_EQ(parse("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n"), 1);
	CHECK(!r.host_mismatch);
	CHECK_EQ(parse("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:444\r\n\r\n"), 1);
	CHECK(r.host_mismatch);
	CHECK_EQ(parse("GET http://a.test/ HTTP/1.1\r\nHost: a b\r\n\r\n"), -400);
	CHECK_EQ(parse("GET http://a.test/ HTTP/1.1\r\nHost:\r\n\r\n"), -400);
}

TEST(http_connect)
{
	const char *s = "CONNECT API.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n";
	char out[256];

	CHECK_EQ(parse(s), 1);
	CHECK_EQ(r.form, HTTP_FORM_AUTHORITY);
	CHECK_STR(r.host, "api.example.com");
	CHECK_EQ(r.port, 443);
	CHECK_EQ(r.path.len, 0);
	CHECK_EQ(http_req_rewrite(&r, s, out, sizeof out), -1);
	CHECK_EQ(parse("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n"), 1);
	CHECK_EQ(r.host_kind, HTTP_HOST_IPV6);
	CHECK_STR(r.host, "::1");
	CHECK_EQ(r.port, 8443);
	CHECK_EQ(parse("CONNECT 1.2.3.4:443 HTTP/1.0\r\n\r\n"), 1);
	CHECK_EQ(r.host_kind, HTTP_HOST_IPV4);
	CHECK_EQ(parse("CONNECT a.test:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 1);
	CHECK_EQ(parse("CONNECT a.test HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT a.test: HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT [::1] HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT ::1:443 HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT a.test:443/x HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT /x HTTP/1.1\r\nHost: a.test\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT http://a.test:443 HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT u@a.test:443 HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("CONNECT a.test:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), -400);
	CHECK_EQ(parse("CONNECT a.test:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
	/* the method is case-sensitive: "connect" is some other method, absolute form needed */
	CHECK_EQ(parse("connect a.test:443 HTTP/1.1\r\n\r\n"), -400);
}

TEST(http_origin)
{
	CHECK_EQ(
	    parse("POST /a/b?c HTTP/1.1\r\nHost: Example.com:8080\r\nContent-Length: 3\r\n\r\n"),
	    1);
	CHECK_EQ(r.form, HTTP_FORM_ORIGIN);
	CHECK_STR(r.host, "example.com");
	CHECK_EQ(r.port, 8080);
	CHECK(r.has_clen);
	CHECK_EQ(r.clen, 3);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nhost: h.test\r\n\r\n"), 1);
	CHECK_EQ(r.port, 0); /* none named: the caller decides */
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: [::ffff:10.0.0.1]\r\n\r\n"), 1);
	CHECK_EQ(r.host_kind, HTTP_HOST_IPV6);
	CHECK_EQ(parse("GET / HTTP/1.1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.0\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a.test:99999\r\n\r\n"), -400);
}

TEST(http_request_line)
{
	CHECK_EQ(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 1); /* leading CRLFs */
	CHECK(span_is("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", r.method, "GET"));
	CHECK_EQ(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), -505);
	CHECK_EQ(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), -505);
	CHECK_EQ(parse("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), -505);
	CHECK_EQ(parse("GET / HTTP/1.10\r\n"), -400);
	CHECK_EQ(parse("GET / http/1.1\r\nHost: a\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), -400);
	CHECK_EQ(parse("GET  / HTTP/1.1\r\n"), -400);
	CHECK_EQ(parse("GET /  HTTP/1.1\r\n"), -400);
	CHECK_EQ(parse(" GET / HTTP/1.1\r\n"), -400);
	CHECK_EQ(parse("GET /\r\n"), -400);
	CHECK_EQ(parse("G(T / HTTP/1.1\r\n"), -400);
	CHECK_EQ(parse("GET /a\x7f HTTP/1.1\r\n"), -400);
	CHECK_EQ(parse("GET /a\tb HTTP/1.1\r\n"), -400);
	CHECK_EQ(parse("\x16\x03\x01\x02"), -400); /* TLS on a plain-HTTP stream: at once */
	CHECK_EQ(parse("SSH-2.0-OpenSSH_9.2 x\r\n"), -400);
	CHECK_EQ(http_req_parse("GET\0/", 5, &r), -400);
	/* method length: 32 accepted, 33 refused as it arrives */
	char m[64];
	memset(m, 'M', 32);
	strcpy(m + 32, " / HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ(parse(m), 1);
	memset(m, 'M', 33);
	m[33] = 0;
	CHECK_EQ(parse(m), -400);
}

TEST(http_line_endings)
{
	CHECK_EQ(parse("GET / HTTP/1.1\nHost: a\n\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\n"), -400); /* at once */
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n\n"), -400);
	CHECK_EQ(parse("\nGET / HTTP/1.1\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\rHost: a\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nX: a\rb\r\nHost: a\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r"), 0); /* a CR at the end: wait for its LF */
	CHECK_EQ(http_req_parse("GET / HTTP/1.1\r\nX: a\0b\r\n", 24, &r), -400);
}

TEST(http_fields)
{
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n continued\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n"), -400);
	/* obs-text and tabs inside a value are fine; OWS is trimmed */
	const char *s =
	    "GET / HTTP/1.1\r\nHost: a\r\nX:  \t caf\xc3\xa9\tau lait \t \r\nY:\r\n\r\n";

	CHECK_EQ(parse(s), 1);
	CHECK_EQ(r.nfields, 3);
	CHECK(span_is(s, r.field[1].name, "X"));
	CHECK(span_is(s, r.field[1].value, "caf\xc3\xa9\tau lait"));
	CHECK(span_is(s, r.field[2].value, ""));
}

TEST(http_framing)
{
	CHECK_EQ(
	    parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
	    -400);
	CHECK_EQ(
	    parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n"),
	    1);
	CHECK_EQ(r.clen, 5);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"), -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n"), -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"), -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n"),
		 -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 123456789012345678\r\n\r\n"),
		 1);
	CHECK_EQ(r.clen, 123456789012345678ull);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"), 1);
	CHECK(r.chunked);
	CHECK(!r.has_clen);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		       "Transfer-Encoding: chunked\r\n\r\n"),
		 -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		       "Content-Length: 5\r\n\r\n"),
		 -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
		 -501);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
		       "Transfer-Encoding: chunked\r\n\r\n"),
		 -501);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
		 -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		       "Transfer-Encoding: chunked\r\n\r\n"),
		 -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n"), -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"), -400);
	CHECK_EQ(parse("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
	/* empty list elements are allowed (RFC 9110 5.6.1) */
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n"), 1);
	CHECK(r.chunked);
}

TEST(http_connection_tokens)
{
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close, , x-foo\r\n"
		       "Proxy-Connection: keep-alive\r\n\r\n"),
		 1);
	CHECK_EQ(r.conn, HTTP_CONN_CLOSE | HTTP_CONN_OTHER);
	CHECK_EQ(r.proxy_conn, HTTP_CONN_KEEPALIVE);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n"), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c, "
		       "WebSocket\r\n\r\n"),
		 1);
	CHECK(r.websocket);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"), 1);
	CHECK(!r.websocket); /* not named in Connection */
	CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: "
		       "websocket\r\n\r\n"),
		 1);
	CHECK(!r.websocket);
	CHECK_EQ(parse("GET / HTTP/1.0\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: "
		       "websocket\r\n\r\n"),
		 1);
	CHECK(!r.websocket);
}

TEST(http_limits)
{
	static char b[HTTP_HEAD_MAX + 4096];
	size_t n;
	int i;

	/* request-target: 8192 bytes accepted, 8193 refused as soon as it is seen */
	n = (size_t)sprintf(b, "GET /");
	memset(b + n, 'a', HTTP_TARGET_MAX - 1);
	n += HTTP_TARGET_MAX - 1;
	n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ(http_req_parse(b, n, &r), 1);
	CHECK_EQ(r.target.len, HTTP_TARGET_MAX);
	n = (size_t)sprintf(b, "GET /");
	memset(b + n, 'a', HTTP_TARGET_MAX);
	n += HTTP_TARGET_MAX;
	CHECK_EQ(http_req_parse(b, n, &r), -414);
	CHECK_EQ(http_req_parse(b, n - 1, &r), 0);

	/* the whole head: exactly HTTP_HEAD_MAX accepted, one more refused */
	n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	size_t pad = HTTP_HEAD_MAX - n - 4;
	memset(b + n, 'v', pad);
	n += pad;
	memcpy(b + n, "\r\n\r\n", 4);
	n += 4;
	CHECK_EQ(n, HTTP_HEAD_MAX);
	CHECK_EQ(http_req_parse(b, n, &r), 1);
	CHECK_EQ(r.head_len, HTTP_HEAD_MAX);
	memmove(b + 30, b + 29, n - 29);
	n++;
	CHECK_EQ(http_req_parse(b, n, &r), -431);
	CHECK_EQ(http_req_parse(b, HTTP_HEAD_MAX - 1, &r), 0);
	CHECK_EQ(http_req_parse(b, HTTP_HEAD_MAX, &r), -431);

	/* 100 fields accepted, 101 refused */
	n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < 100; i++)
		n += (size_t)sprintf(b + n, "X-%d: %d\r\n", i, i);
	n += (size_t)sprintf(b + n, "\r\n");
	CHECK_EQ(http_req_parse(b, n, &r), 1);
	CHECK_EQ(r.nfields, 100);
	n -= 2;
	n += (size_t)sprintf(b + n, "X-100: 1\r\n\r\n");
	CHECK_EQ(http_req_parse(b, n, &r), -431);

	/* nothing but empty lines up to the limit */
	for (n = 0; n < HTTP_HEAD_MAX; n += 2)
		memcpy(b + n, "\r\n", 2);
	CHECK_EQ(http_req_parse(b, n, &r), -400);
	CHECK_EQ(http_req_parse(b, n - 2, &r), 0);
}

TEST(http_every_prefix)
{
	static const char *const ok[] = {
	    "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
	    "\r\nPOST /x HTTP/1.0\r\nHost: a.test\r\nContent-Length: 10\r\nX:\r\n\r\n",
	    "PUT /u HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "GET http://h.test HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
		CHECK(prefixes_ok(ok[i]));
}

TEST(http_host_names)
{
	char h[HTTP_HOST_MAX + 1], big[300];

	CHECK_EQ(http_host_norm("A-b_C.example.", 14, h, sizeof h), HTTP_HOST_NAME);
	CHECK_STR(h, "a-b_c.example");
	CHECK_EQ(http_host_norm("localhost", 9, h, sizeof h), HTTP_HOST_NAME);
	CHECK_EQ(http_host_norm("1.2.3.4", 7, h, sizeof h), HTTP_HOST_IPV4);
	CHECK_EQ(http_host_norm("0.0.0.0", 7, h, sizeof h), HTTP_HOST_IPV4);
	CHECK_EQ(http_host_norm("255.255.255.255.", 16, h, sizeof h), HTTP_HOST_IPV4);
	CHECK_STR(h, "255.255.255.255");
	CHECK_EQ(http_host_norm("127.1", 5, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("2130706433", 10, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("0x7f000001", 10, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("0x7f.0.0.1", 10, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("017.0.0.1", 9, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("256.1.1.1", 9, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("1.2.3.4.5", 9, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("foo.123", 7, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("123.foo", 7, h, sizeof h), HTTP_HOST_NAME);
	CHECK_EQ(http_host_norm("", 0, h, sizeof h), -1);
	CHECK_EQ(http_host_norm(".", 1, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("a..b", 4, h, sizeof h), -1);
	CHECK_EQ(http_host_norm(".a", 2, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("a..", 3, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("a b", 3, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("a\0b", 3, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("a*.b", 4, h, sizeof h), -1);
	CHECK_EQ(http_host_norm("example.com", 11, h, 11), -1); /* no room for the NUL */
	CHECK_EQ(http_host_norm("example.com", 11, h, 12), HTTP_HOST_NAME);
	/* 63-byte label ok, 64 not; 253 bytes ok (254 with a trailing dot), 254 not */
	memset(big, 'a', 64);
	CHECK_EQ(http_host_norm(big, 63, h, sizeof h), HTTP_HOST_NAME);
	CHECK_EQ(http_host_norm(big, 64, h, sizeof h), -1);
	for (int i = 0; i < 300; i++)
		big[i] = (i % 50 == 49) ? '.' : 'b';
	big[253] = '.';
	CHECK_EQ(http_host_norm(big, 253, h, sizeof h), HTTP_HOST_NAME);
	CHECK_EQ(strlen(h), 253);
	CHECK_EQ(http_host_norm(big, 254, h, sizeof h), HTTP_HOST_NAME);
	big[253] = 'b';
	CHECK_EQ(http_host_norm(big, 254, h, sizeof h), -1);
}

TEST(http_rewrite_absolute)
{
	CHECK_STR(rewrite("GET http://Example.COM./path?q=1 HTTP/1.1\r\n"
			  "Host: other.test\r\n"
			  "User-Agent: curl/7.88.1\r\n"
			  "Proxy-Connection: Keep-Alive\r\n"
			  "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
			  "Accept:*/*  \r\n"
			  "Keep-Alive: 300\r\n"
			  "TE: trailers\r\n"
			  "Trailer: X-Sum\r\n"
			  "Upgrade: h2c\r\n"
			  "Connection: keep-alive, X-Hop, Content-Length, Upgrade\r\n"
			  "X-Hop: secret\r\n"
			  "x-hop: again\r\n"
			  "Content-Length: 3\r\n"
			  "X-Empty:   \r\n"
			  "\r\nabc"),
		  "GET /path?q=1 HTTP/1.1\r\n"
		  "Host: example.com\r\n"
		  "User-Agent: curl/7.88.1\r\n"
		  "Accept:*/*\r\n"
		  "Content-Length: 3\r\n"
		  "X-Empty:\r\n"
		  "Connection: close\r\n"
		  "\r\n");
	CHECK(r.host_mismatch);
	CHECK_STR(rewrite("GET http://h.test HTTP/1.0\r\n\r\n"),
		  "GET / HTTP/1.0\r\nHost: h.test\r\nConnection: close\r\n\r\n");
	CHECK_STR(rewrite("OPTIONS http://h.test:8080?x HTTP/1.1\r\n\r\n"),
		  "OPTIONS /?x HTTP/1.1\r\nHost: h.test:8080\r\nConnection: close\r\n\r\n");
	CHECK_STR(rewrite("GET http://h.test:80/ HTTP/1.1\r\n\r\n"),
		  "GET / HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n");
	CHECK_STR(rewrite("GET http://[0:0::1]:81/ HTTP/1.1\r\n\r\n"),
		  "GET / HTTP/1.1\r\nHost: [::1]:81\r\nConnection: close\r\n\r\n");
	CHECK_STR(rewrite("POST http://h.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			  "Connection: transfer-encoding\r\n\r\n"),
		  "POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\n"
		  "Connection: close\r\n\r\n");
}

TEST(http_rewrite_origin_and_websocket)
{
	CHECK_STR(rewrite("GET /a HTTP/1.1\r\nX-A: 1\r\nHost: Example.com:8080\r\nX-B: 2\r\n\r\n"),
		  "GET /a HTTP/1.1\r\nHost: example.com:8080\r\nX-A: 1\r\nX-B: 2\r\n"
		  "Connection: close\r\n\r\n");
	CHECK_STR(rewrite("GET http://ws.test/chat HTTP/1.1\r\nHost: ws.test\r\n"
			  "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
			  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			  "Sec-WebSocket-Version: 13\r\n\r\n"),
		  "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n\r\n");
}

TEST(http_rewrite_cap)
{
	const char *s = "GET http://h.test/ HTTP/1.1\r\n\r\n";
	const char *want = "GET / HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n";
	char out[128];
	size_t n = strlen(want);

	CHECK_EQ(parse(s), 1);
	memset(out, '#', sizeof out);
	CHECK_EQ(http_req_rewrite(&r, s, out, n - 1), -1);
	CHECK_EQ(http_req_rewrite(&r, s, out, n), (int)n);
	CHECK(memcmp(out, want, n) == 0);
	CHECK_EQ(out[n], '#'); /* nothing past the head */
	CHECK_EQ(http_req_rewrite(&r, s, out, 0), -1);
}

TEST(http_simple_response)
{
	char out[512];
	const char *want = "HTTP/1.1 403 Forbidden\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Length: 26\r\n"
			   "Connection: close\r\n"
			   "\r\n"
			   "blocked: d.test (deny-\xc3\xa9)\n";

	CHECK_EQ(http_resp_simple(out, sizeof out, 403, NULL, "blocked: d.test (deny-\xc3\xa9)\n"),
		 (int)strlen(want));
	CHECK_STR(out, want);
	CHECK_EQ(http_resp_simple(out, sizeof out, 502, "Upstream Gone", NULL),
		 (int)strlen("HTTP/1.1 502 Upstream Gone\r\nContent-Type: text/plain; "
			     "charset=utf-8\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
	CHECK_STR(out, "HTTP/1.1 502 Upstream Gone\r\nContent-Type: text/plain; "
		       "charset=utf-8\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	CHECK_EQ(http_resp_simple(out, sizeof out, 400, "Bad\r\nSet-Cookie: x", "b"), -1);
	CHECK_EQ(http_resp_simple(out, sizeof out, 204, NULL, NULL), -1);
	CHECK_EQ(http_resp_simple(out, sizeof out, 99, NULL, NULL), -1);
	CHECK_EQ(http_resp_simple(out, sizeof out, 600, NULL, NULL), -1);
	CHECK_EQ(
	    http_resp_simple(out, strlen(want), 403, NULL, "blocked: d.test (deny-\xc3\xa9)\n"),
	    -1);
	CHECK_STR(http_status_reason(504), "Gateway Timeout");
	CHECK_STR(http_status_reason(431), "Request Header Fields Too Large");
	CHECK_STR(http_status_reason(299), "Unknown");
}

/* ---- TLS ---- */

/* A real TLS 1.2 ClientHello (Python ssl / OpenSSL 3.0, server_hostname "Api.Example.COM"). */
static const char tls12_hex[] =
    "16030100b5010000b10303f9b06470457b00ca538cb0273091360b615ba5e9ba4c3493da50bfcf3ed271e200"
    "001ec02cc030c02bc02fcca9cca8c024c028c023c027009f009e006b006700ff0100006a0000001400120000"
    "0f4170692e4578616d706c652e434f4d000b000403000102000a000c000a001d0017001e0019001800230000"
    "0016000000170000000d002a0028040305030603080708080809080a080b0804080508060401050106010303"
    "03010302040205020602";

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* A server_name extension holding @n entries of (type, name). */
static size_t ext_sni(uint8_t *p, const char *name)
{
	size_t nl = strlen(name);

	put16(p, 0);
	put16(p + 2, (unsigned)(nl + 5));
	put16(p + 4, (unsigned)(nl + 3));
	p[6] = 0;
	put16(p + 7, (unsigned)nl);
	memcpy(p + 9, name, nl);
	return 9 + nl;
}

/* ClientHello body fields after legacy_version + random, as @tail; @ext/@elen the extensions
 * block contents (or no block at all when @ext is NULL). One record unless @split > 0: then
 * handshake bytes are cut into records of @split bytes. Return the bytes written to @out. */
static size_t mk_hello(uint8_t *out, const uint8_t *ext, size_t elen, size_t split)
{
	static uint8_t hs[TLS_HELLO_MAX + 64];
	size_t n = 4, pos = 0, i;

	put16(hs + n, 0x0303);
	n += 2;
	memset(hs + n, 0xab, 32);
	n += 32;
	hs[n++] = 32;
	memset(hs + n, 0xcd, 32);
	n += 32;
	n += put16(hs + n, 4);
	n += put16(hs + n, 0x1301);
	n += put16(hs + n, 0x1302);
	hs[n++] = 1;
	hs[n++] = 0;
	if (ext) {
		n += put16(hs + n, (unsigned)elen);
		memcpy(hs + n, ext, elen);
		n += elen;
	}
	hs[0] = 1;
	hs[1] = (uint8_t)((n - 4) >> 16);
	hs[2] = (uint8_t)((n - 4) >> 8);
	hs[3] = (uint8_t)(n - 4);
	if (!split)
		split = 16384;
	for (i = 0; i < n; i += split) {
		size_t k = n - i < split ? n - i : split;

		out[pos++] = 22;
		out[pos++] = 3;
		out[pos++] = 1;
		pos += put16(out + pos, (unsigned)k);
		memcpy(out + pos, hs + i, k);
		pos += k;
	}
	return pos;
}

static char sni[TLS_SNI_MAX + 1];

static int sni_of(const uint8_t *b, size_t n)
{
	memset(sni, 'z', sizeof sni);
	return tls_hello_sni(b, n, sni, sizeof sni);
}

/* Every proper prefix answers 0, the whole @want. */
static int tls_prefixes_ok(const uint8_t *b, size_t n, int want)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int rc = sni_of(b, i);

		if (rc != 0 || sni[0] != 0) {
			fprintf(stderr, "prefix %zu of %zu: %d\n", i, n, rc);
			return 0;
		}
	}
	return sni_of(b, n) == want;
}

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

TEST(tls_real_hello)
{
	static uint8_t b[512];
	size_t n = unhex(tls12_hex, b);

	CHECK_EQ(n, 186);
	CHECK(tls_prefixes_ok(b, n, 1));
	CHECK_STR(sni, "api.example.com");
	/* bytes after the hello (the next flight) do not change the answer */
	memset(b + n, 0x17, 20);
	CHECK_EQ(sni_of(b, n + 20), 1);
}

TEST(tls_built_hellos)
{
	static uint8_t b[TLS_HELLO_NEED_MAX + 64];
	uint8_t ext[600];
	size_t n, e;

	e = ext_sni(ext, "X.Example.");
	n = mk_hello(b, ext, e, 0);
	CHECK(tls_prefixes_ok(b, n, 1));
	CHECK_STR(sni, "x.example");
	/* split into records of 7 bytes (the handshake header itself split) is too many */
	n = mk_hello(b, ext, e, 7);
	CHECK_EQ(sni_of(b, n), -1);
	CHECK_EQ(sni_of(b, 5 + 7 + 5 + 3), 0); /* the first records alone: need more */
	/* two records, the second holding most of the hello */
	n = mk_hello(b, ext, e, 60);
	CHECK(tls_prefixes_ok(b, n, 1));
	CHECK_STR(sni, "x.example");
	/* extensions without server_name, an empty extensions block, no block at all */
	put16(ext, 0x000a);
	put16(ext + 2, 4);
	put16(ext + 4, 2);
	put16(ext + 6, 0x001d);
	n = mk_hello(b, ext, 8, 0);
	CHECK(tls_prefixes_ok(b, n, 2));
	n = mk_hello(b, ext, 0, 0);
	CHECK(tls_prefixes_ok(b, n, 2));
	n = mk_hello(b, NULL, 0, 0);
	CHECK(tls_prefixes_ok(b, n, 2));
	/* a server_name entry of another type beside the host_name is skipped */
	e = ext_sni(ext, "a.test");
	ext[3] += 4;
	ext[5] += 4;
	ext[e++] = 7;
	e += put16(ext + e, 1);
	ext[e++] = 'q';
	n = mk_hello(b, ext, e, 0);
	CHECK_EQ(sni_of(b, n), 1);
	CHECK_STR(sni, "a.test");
}

TEST(tls_limits)
{
	static uint8_t b[TLS_HELLO_NEED_MAX + 64];
	static uint8_t ext[TLS_HELLO_MAX];
	size_t base, e, n;

	/* pad (extension 21) so the handshake message is exactly TLS_HELLO_MAX bytes */
	e = ext_sni(ext, "big.test");
	base = 4 + 2 + 32 + 1 + 32 + 2 + 4 + 1 + 1 + 2; /* up to the extensions block */
	size_t pad = TLS_HELLO_MAX - base - e - 4;
	put16(ext + e, 21);
	put16(ext + e + 2, (unsigned)pad);
	memset(ext + e + 4, 0, pad);
	n = mk_hello(b, ext, e + 4 + pad, 16000);
	CHECK_EQ(n, TLS_HELLO_MAX + 10); /* two records */
	CHECK(n <= TLS_HELLO_NEED_MAX);
	CHECK_EQ(sni_of(b, n), 1);
	CHECK_STR(sni, "big.test");
	CHECK_EQ(sni_of(b, n - 1), 0);
	/* one byte more is refused as soon as the handshake length is seen */
	put16(ext + e + 2, (unsigned)pad + 1);
	n = mk_hello(b, ext, e + 5 + pad, 0);
	CHECK_EQ(sni_of(b, 9), -1);
	CHECK_EQ(sni_of(b, 8), 0);
	/* a record longer than 2^14 */
	n = mk_hello(b, NULL, 0, 0);
	put16(b + 3, 16385);
	CHECK_EQ(sni_of(b, 5), -1);
}

TEST(tls_not_tls)
{
	uint8_t b[1024];
	size_t n;

	CHECK_EQ(sni_of((const uint8_t *)"", 0), 0);
	CHECK_EQ(sni_of((const uint8_t *)"G", 1), -1);
	CHECK_EQ(sni_of((const uint8_t *)"\x17", 1), -1);		      /* application data */
	CHECK_EQ(sni_of((const uint8_t *)"\x80\x2e\x01", 3), -1);	      /* SSLv2 hello */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x02", 2), -1);		      /* major 2 */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x03\x00", 3), -1);	      /* SSL 3.0 */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x03\x05", 3), -1);	      /* beyond 1.3 */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x03\x01\x00\x00", 5), -1);     /* empty record */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x03\x03\x00\x04\x02", 6), -1); /* ServerHello */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x03\x03\x00\x04\x01\x01", 7), -1); /* >= 64K */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x03\x03\x00\x04\x01\x00\x00\x28", 9), -1); /* 40 */
	CHECK_EQ(sni_of((const uint8_t *)"\x16\x03\x04\x00\x04\x01\x00\x00\x29", 9), 0);
	/* a hello whose second record is not a handshake record */
	n = mk_hello(b, NULL, 0, 50);
	CHECK_EQ(sni_of(b, n), 2);
	b[55] = 23;
	CHECK_EQ(sni_of(b, n), -1);
	CHECK_EQ(sni_of(b, 55), 0);
	CHECK_EQ(sni_of(b, 56), -1);
}

/* Build a hello with @e extension bytes, then corrupt byte @at (hello offset) to @v. */
static int hello_with(const uint8_t *ext, size_t e, size_t at, int v)
{
	static uint8_t b[2048];
	size_t n = mk_hello(b, ext, e, 0);

	if (v >= 0)
		b[5 + at] = (uint8_t)v;
	return sni_of(b, n);
}

TEST(tls_malformed_fields)
{
	uint8_t ext[512];
	size_t e = ext_sni(ext, "a.test");
	/* hello offsets: 4 version, 6 random, 38 sid len, 71 suites len, 73 suites, 77 comp len,
	 * 78 comp, 79 ext block len */
	CHECK_EQ(hello_with(ext, e, 0, -1), 1);
	CHECK_EQ(hello_with(ext, e, 5, 0x00), -1);	  /* legacy_version 0x0300 */
	CHECK_EQ(hello_with(ext, e, 5, 0x05), -1);	  /* 0x0305 */
	CHECK_EQ(hello_with(ext, e, 4, 0x02), -1);	  /* 0x0203 */
	CHECK_EQ(hello_with(ext, e, 38, 33), -1);	  /* session_id > 32 */
	CHECK_EQ(hello_with(ext, e, 72, 3), -1);	  /* odd cipher_suites */
	CHECK_EQ(hello_with(ext, e, 72, 0), -1);	  /* no cipher_suites */
	CHECK_EQ(hello_with(ext, e, 77, 0), -1);	  /* no compression methods */
	CHECK_EQ(hello_with(ext, e, 80, 0xff), -1);	  /* ext block longer than the hello */
	CHECK_EQ(hello_with(ext, e, 80, (int)e - 1), -1); /* shorter: trailing bytes */
	CHECK_EQ(hello_with(ext, e, 84, 0xff), -1);	  /* one extension overruns */
	CHECK_EQ(hello_with(ext, e, 86, 0xff), -1);	  /* server name list overruns */
	CHECK_EQ(hello_with(ext, e, 86, 0x00), -1);	  /* empty list */
	CHECK_EQ(hello_with(ext, e, 87, 0x01), -1); /* host_name replaced by type 1: none left */
	CHECK_EQ(hello_with(ext, e, 89, 0x07), -1); /* name longer than its entry */
	CHECK_EQ(hello_with(ext, e, 89, 0x05), -1); /* shorter: a stray byte after it */
}

TEST(tls_sni_names)
{
	uint8_t ext[600];
	size_t e;
	char small[6];
	static uint8_t b[2048];
	size_t n;
	static const char *const bad[] = {
	    "a b",     "a..b", ".", "", "1.2.3.4", "127.1", "a/b", "a:443", "caf\xc3\xa9.test",
	    "*.a.test"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		e = ext_sni(ext, bad[i]);
		CHECK_EQ(hello_with(ext, e, 0, -1), -1);
		CHECK_EQ(sni[0], 0);
	}
	/* "a\0b": written by hand, strlen would stop at the NUL */
	memcpy(ext,
	       "\0\0\0\x08\0\x06\0\0\x03"
	       "a\0b",
	       12);
	CHECK_EQ(hello_with(ext, 12, 0, -1), -1);
	e = ext_sni(ext, "_srv.Under_Score-1.test");
	CHECK_EQ(hello_with(ext, e, 0, -1), 1);
	CHECK_STR(sni, "_srv.under_score-1.test");
	/* two server_name extensions; two host_name entries in one */
	e = ext_sni(ext, "a.test");
	e += ext_sni(ext + e, "a.test");
	CHECK_EQ(hello_with(ext, e, 0, -1), -1);
	memcpy(ext,
	       "\0\0\0\x0e\0\x0c\0\0\x03"
	       "a.b\0\0\x03"
	       "c.d",
	       18);
	CHECK_EQ(hello_with(ext, 18, 0, -1), -1);
	/* the name must fit the caller's buffer */
	e = ext_sni(ext, "abcdef.test");
	n = mk_hello(b, ext, e, 0);
	CHECK_EQ(tls_hello_sni(b, n, small, sizeof small), -1);
	CHECK_EQ(small[0], 0);
	CHECK_EQ(tls_hello_sni(b, n, small, 0), -1);
}

int main(void)
{
	RUN(http_absolute_get);
	RUN(http_absolute_forms);
	RUN(http_absolute_refused);
	RUN(http_host_mismatch);
	RUN(http_connect);
	RUN(http_origin);
	RUN(http_request_line);
	RUN(http_line_endings);
	RUN(http_fields);
	RUN(http_framing);
	RUN(http_connection_tokens);
	RUN(http_limits);
	RUN(http_every_prefix);
	RUN(http_host_names);
	RUN(http_rewrite_absolute);
	RUN(http_rewrite_origin_and_websocket);
	RUN(http_rewrite_cap);
	RUN(http_simple_response);
	RUN(tls_real_hello);
	RUN(tls_built_hellos);
	RUN(tls_limits);
	RUN(tls_not_tls);
	RUN(tls_malformed_fields);
	RUN(tls_sni_names);
	T_EXIT();
}
