/* Unit tests of the intercepted-request rewriter (src/daemon/proxy/req_rewrite.c): a service
 * key replaces the sentinel header, a custom placeholder is swapped in header values only,
 * keep-alive and pipelined heads are all rewritten, Content-Length and chunked bodies (with
 * extensions and trailers) pass untouched whatever the read sizes, and bad heads, a foreign
 * Host, upgrades and HTTP/2 are refused with the right status. */
#include "daemon/proxy/req_rewrite.h"
#include "t.h"

static const struct req_rw_conf anth = {
    .host = "api.anthropic.com", .header = "x-api-key", .value = "sk-REAL"};
static const struct req_rw_conf oai = {
    .host = "api.openai.com", .header = "Authorization", .prefix = "Bearer ", .value = "sk-O"};
static const struct req_rw_conf cust = {
    .host = "api.example.com", .placeholder = "sbx-ph-0123", .value = "VAL"};

static char outbuf[1 << 20];

/* Run @in through a new rewriter of @conf in reads of @chunk bytes with @cap bytes of output
 * room per call. Return the status (0 ok, else the error) and the output in outbuf. */
static int run(const struct req_rw_conf *conf, const char *in, size_t chunk, size_t cap,
	       size_t *outlen)
{
	struct req_rw *rw = req_rw_new(conf);
	size_t n = strlen(in), off = 0, w = 0;
	int st = 0;

	if (!rw)
		return -1;
	for (int guard = 0; guard < 1000000; guard++) {
		size_t take = n - off < chunk ? n - off : chunk, used;
		size_t room = sizeof(outbuf) - 1 - w < cap ? sizeof(outbuf) - 1 - w : cap;
		ssize_t r = req_rw_feed(rw, (const uint8_t *)in + off, take, &used,
					(uint8_t *)outbuf + w, room);

		if (r < 0) {
			st = (int)-r;
			break;
		}
		w += (size_t)r;
		off += used;
		if (off == n && !req_rw_pending(rw) && r == 0)
			break;
	}
	outbuf[w] = 0;
	*outlen = w;
	req_rw_free(rw);
	return st;
}

TEST(service_key_replaces_sentinel)
{
	size_t n;
	const char *in = "GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\nX-Api-Key: "
			 "proxy-managed\r\nAccept: */*\r\n\r\n";

	CHECK_EQ(run(&anth, in, 1 << 20, 1 << 20, &n), 0);
	CHECK_STR(outbuf, "GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\nAccept: "
			  "*/*\r\nx-api-key: sk-REAL\r\n\r\n");
	CHECK(!strstr(outbuf, "proxy-managed"));
	CHECK_EQ(run(&oai,
		     "POST /v1/x HTTP/1.1\r\nhost: API.openai.com:443\r\nauthorization: Bearer "
		     "proxy-managed\r\nContent-Length: 3\r\n\r\nabc",
		     7, 5, &n),
		 0);
	CHECK_STR(outbuf, "POST /v1/x HTTP/1.1\r\nhost: API.openai.com:443\r\nContent-Length: "
			  "3\r\nAuthorization: Bearer sk-O\r\n\r\nabc");
}

TEST(custom_placeholder_in_values_only)
{
	size_t n;
	const char *in = "POST /sbx-ph-0123 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: "
			 "Bearer sbx-ph-0123\r\nX-Key: sbx-ph-0123\r\nX-Two: "
			 "asbx-ph-0123bsbx-ph-0123\r\nContent-Length: 11\r\n\r\nsbx-ph-0123";

	CHECK_EQ(run(&cust, in, 3, 1 << 20, &n), 0);
	CHECK_STR(outbuf, "POST /sbx-ph-0123 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: "
			  "Bearer VAL\r\nX-Key: VAL\r\nX-Two: aVALbVAL\r\nContent-Length: "
			  "11\r\n\r\nsbx-ph-0123");
}

TEST(keepalive_pipelined_and_chunked)
{
	const char *in = "POST /a HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: "
			 "chunked\r\nx-api-key: proxy-managed\r\n\r\n"
			 "5;ext=1\r\nhello\r\nA ; x=\"y\"\r\n0123456789\r\n0\r\nX-Trail: "
			 "t\r\n\r\n"
			 "GET /b HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: x\r\n\r\n"
			 "GET /c HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n";
	const char *want =
	    "POST /a HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: "
	    "chunked\r\nx-api-key: sk-REAL\r\n\r\n"
	    "5;ext=1\r\nhello\r\nA ; x=\"y\"\r\n0123456789\r\n0\r\nX-Trail: "
	    "t\r\n\r\n"
	    "GET /b HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: sk-REAL\r\n\r\n"
	    "GET /c HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: sk-REAL\r\n\r\n";
	size_t sizes[] = {1, 2, 7, 64, 1 << 20}, n;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			CHECK_EQ(run(&anth, in, sizes[i], sizes[j], &n), 0);
			CHECK_STR(outbuf, want);
		}
}

TEST(refusals)
{
	size_t n;
	char big[40000];

	CHECK_EQ(run(&anth, "GET / HTTP/1.1\r\nHost: evil.com\r\n\r\n", 100, 100, &n), 421);
	CHECK_EQ(n, 0);
	CHECK_EQ(run(&anth, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 100, 100, &n) > 0, 1);
	CHECK_EQ(run(&anth,
		     "GET / HTTP/1.1\r\nHost: api.anthropic.com\r\nConnection: Upgrade\r\n"
		     "Upgrade: websocket\r\n\r\n",
		     100, 100, &n),
		 501);
	CHECK_EQ(run(&anth, "GET / HTTP/1.1\nHost: api.anthropic.com\n\n", 100, 100, &n), 400);
	CHECK_EQ(run(&anth,
		     "POST / HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Length: 1\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n",
		     100, 100, &n),
		 400);
	CHECK_EQ(run(&anth,
		     "POST / HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: chunked"
		     "\r\n\r\nzz\r\n",
		     100, 100, &n),
		 400);
	CHECK_EQ(run(&anth,
		     "POST / HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: chunked"
		     "\r\n\r\n2\r\nabX\r\n",
		     100, 100, &n),
		 400);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK_EQ(run(&anth, big, 1000, 100, &n), 431);
	CHECK(req_rw_new(&(struct req_rw_conf){.host = "h", .value = "v"}) == NULL);
}

int main(void)
{
	RUN(service_key_replaces_sentinel);
	RUN(custom_placeholder_in_values_only);
	RUN(keepalive_pipelined_and_chunked);
	RUN(refusals);
	return t_failed_total ? 1 : 0;
}
