/* Unit tests of TLS interception in sbxd's egress service (src/daemon/egress/mitm.c with
 * conn.c, loop.c and proxy/req_rewrite.c) on its real sockets, no VM: HTTPS servers on
 * 127.0.0.1 (certificates minted by test CAs made with tls/ca.h) stand in for
 * api.anthropic.com (trusted through SBX_TLS_UPSTREAM_CA), plain.test (no secret) and
 * api.openai.com (a certificate nobody trusts). A client on the explicit-proxy socket
 * CONNECTs and speaks TLS trusting only sbxd's CA. Covers: the key injected in place of the
 * sentinel on keep-alive requests, a chunked body intact, a streamed response arriving chunk
 * by chunk, the "intercept" log row, a host without a secret left a plain tunnel, an
 * untrusted upstream never reached (502), and a foreign Host answered 421. */
#include "daemon/secrets/store.h"
#include "daemon/tls/ca.h"
#include "daemon/tls/ca_default.h"
#include "daemon/tls/leaf.h"
#include "egress_harness.h"
#include "proto/egress.h"
#include "t.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

static struct sbxd_ctx ctx;
static struct tls_ca *test_ca, *rogue_ca;

/* ---- the outside: an HTTPS server per host ---- */

struct upstream {
	const char *host;
	SSL_CTX *ctx;
	int lfd;
	uint16_t port;
	pthread_mutex_t mu;
	char heads[8192]; /* every request head seen, concatenated */
	char body[4096];  /* the last request body (decoded framing not undone) */
	int requests;
};

static struct upstream anth = {.host = "api.anthropic.com"}, plain = {.host = "plain.test"},
		       rogue = {.host = "api.openai.com"};

#define BIG_LEN (8u << 20) /* a response larger than every buffer on the way */

static char big_byte(unsigned i)
{
	return (char)((i * 7u + (i >> 16)) % 251u);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Read one request (head and body) from @s into @buf. Return its head length, or -1. */
static int read_request(SSL *s, char *buf, size_t cap, size_t *have, size_t *total)
{
	char *end;
	size_t hl;
	int r;

	buf[*have] = 0;
	while (!(end = strstr(buf, "\r\n\r\n"))) {
		if (*have + 1 >= cap || (r = SSL_read(s, buf + *have, (int)(cap - 1 - *have))) <= 0)
			return -1;
		*have += (size_t)r;
		buf[*have] = 0;
	}
	hl = (size_t)(end - buf) + 4;
	*total = hl;
	if (strcasestr(buf, "transfer-encoding: chunked")) {
		while (!strstr(buf + hl, "\r\n0\r\n\r\n") && strncmp(buf + hl, "0\r\n\r\n", 5)) {
			if (*have + 1 >= cap ||
			    (r = SSL_read(s, buf + *have, (int)(cap - 1 - *have))) <= 0)
				return -1;
			*have += (size_t)r;
			buf[*have] = 0;
		}
		*total = (size_t)(strstr(buf + hl - 2, "\r\n0\r\n\r\n") - buf) + 7;
	} else {
		const char *cl = strcasestr(buf, "content-length:");
		size_t n = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;

		while (*have < hl + n) {
			if (*have + 1 >= cap ||
			    (r = SSL_read(s, buf + *have, (int)(cap - 1 - *have))) <= 0)
				return -1;
			*have += (size_t)r;
		}
		*total = hl + n;
	}
	return (int)hl;
}

static void *upstream_conn(void *arg)
{
	struct eh_conn *uc = arg;
	struct upstream *u = uc->arg;
	SSL *s = SSL_new(u->ctx);
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char buf[16384];
	size_t have = 0, total;
	int hl;

	SSL_set_fd(s, uc->fd);
	if (SSL_accept(s) != 1)
		goto out;
	while ((hl = read_request(s, buf, sizeof(buf), &have, &total)) > 0) {
		pthread_mutex_lock(&u->mu);
		u->requests++;
		strncat(u->heads, buf,
			sizeof(u->heads) - strlen(u->heads) - 1 < (size_t)hl
			    ? sizeof(u->heads) - strlen(u->heads) - 1
			    : (size_t)hl);
		snprintf(u->body, sizeof(u->body), "%.*s", (int)(total - (size_t)hl), buf + hl);
		pthread_mutex_unlock(&u->mu);
		if (strncmp(buf, "GET /big ", 9) == 0) {
			static char chunk[65536];
			char head[128];
			int hn = snprintf(head, sizeof(head),
					  "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BIG_LEN);

			SSL_write(s, head, hn);
			for (unsigned off = 0; off < BIG_LEN; off += sizeof(chunk)) {
				for (unsigned i = 0; i < sizeof(chunk); i++)
					chunk[i] = big_byte(off + i);
				if (SSL_write(s, chunk, sizeof(chunk)) != (int)sizeof(chunk))
					break;
			}
		} else if (strncmp(buf, "GET /stream ", 12) == 0) {
			SSL_write(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 47);
			for (int i = 0; i < 5; i++) {
				char c[16];
				int n = snprintf(c, sizeof(c), "2\r\nc%d\r\n", i);

				SSL_write(s, c, n);
				usleep(200000);
			}
			SSL_write(s, "0\r\n\r\n", 5);
		} else {
			SSL_write(s, ok, sizeof(ok) - 1);
		}
		memmove(buf, buf + total, have - total);
		have -= total;
	}
out:
	SSL_free(s);
	close(uc->fd);
	free(uc);
	return NULL;
}

static int upstream_start(struct upstream *u, struct tls_ca *ca)
{
	struct tls_leaf_cache *lc = tls_leaf_cache_new(ca, 0);
	char err[256];

	u->ctx = lc ? tls_leaf_for_host(lc, u->host, err, sizeof(err)) : NULL;
	tls_leaf_cache_free(lc); /* the context keeps its own reference */
	if (!u->ctx)
		return -1;
	pthread_mutex_init(&u->mu, NULL);
	u->lfd = eh_listen_local(&u->port);
	return u->lfd < 0 ? -1 : eh_serve(u->lfd, upstream_conn, u);
}

/* ---- the guest side ---- */

/* CONNECT @host:@port through the proxy and start TLS trusting only @trust, checking the
 * name. Return the session (its fd inside), or NULL. */
static SSL *tls_through_proxy(const char *host, uint16_t port, X509 *trust)
{
	int fd = eh_guest_connect(EGRESS_PORT_PROXY);
	char req[512], resp[512];
	size_t n = 0;
	ssize_t r;
	SSL_CTX *x;
	SSL *s;

	if (fd < 0)
		return NULL;
	snprintf(req, sizeof(req), "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n\r\n", host, port,
		 host, port);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return close(fd), NULL;
	while (n < sizeof(resp) - 1 && (r = read(fd, resp + n, 1)) == 1) {
		resp[++n] = 0;
		resp[n] = 0;
		if (n >= 4 && memcmp(resp + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	resp[n] = 0;
	if (strncmp(resp, "HTTP/1.1 200", 12) != 0)
		return close(fd), NULL;
	x = SSL_CTX_new(TLS_client_method());
	X509_STORE_add_cert(SSL_CTX_get_cert_store(x), trust);
	SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
	s = SSL_new(x);
	SSL_CTX_free(x);
	SSL_set_tlsext_host_name(s, host);
	SSL_set1_host(s, host);
	SSL_set_alpn_protos(s, (const unsigned char *)"\x02h2\x08http/1.1", 12);
	SSL_set_fd(s, fd);
	if (SSL_connect(s) != 1) {
		ERR_clear_error();
		SSL_free(s);
		close(fd);
		return NULL;
	}
	return s;
}

static void tls_close(SSL *s)
{
	int fd = SSL_get_fd(s);

	SSL_free(s);
	close(fd);
}

static int ssl_send(SSL *s, const char *t)
{
	return SSL_write(s, t, (int)strlen(t)) == (int)strlen(t) ? 0 : -1;
}

/* Read a response until @until is in it. Return bytes read (buffer NUL-terminated). */
static size_t ssl_read_until(SSL *s, char *b, size_t cap, const char *until)
{
	size_t n = 0;
	int r;

	b[0] = 0;
	while (!strstr(b, until) && n + 1 < cap && (r = SSL_read(s, b + n, (int)(cap - 1 - n))) > 0)
		b[n += (size_t)r] = 0;
	return n;
}

/* ---- tests ---- */

TEST(intercept_injects_key_keepalive_chunked)
{
	SSL *s = tls_through_proxy("api.anthropic.com", anth.port, tls_ca_cert(tls_ca_default()));
	char b[4096];
	struct store_log_row row = {0};

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(SSL_get0_peer_certificate(s) != NULL);
	CHECK_EQ(ssl_send(s, "GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n"
			     "x-api-key: proxy-managed\r\n\r\n"),
		 0);
	ssl_read_until(s, b, sizeof(b), "\r\n\r\nok");
	CHECK(strstr(b, "HTTP/1.1 200 OK") != NULL);
	CHECK_EQ(ssl_send(s, "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
			     "X-Api-Key: proxy-managed\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "5;e=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
		 0);
	ssl_read_until(s, b, sizeof(b), "\r\n\r\nok");
	CHECK(strstr(b, "HTTP/1.1 200 OK") != NULL);
	tls_close(s);
	pthread_mutex_lock(&anth.mu);
	CHECK_EQ(anth.requests, 2);
	CHECK(strstr(anth.heads, "GET /v1/models HTTP/1.1\r\n") != NULL);
	CHECK(strstr(anth.heads, "POST /v1/messages HTTP/1.1\r\n") != NULL);
	CHECK(!strstr(anth.heads, "proxy-managed"));
	{ /* the real key, once per request */
		const char *p = strstr(anth.heads, "x-api-key: sk-ant-REAL\r\n");
		CHECK(p != NULL);
		CHECK(p && strstr(p + 1, "x-api-key: sk-ant-REAL\r\n") != NULL);
	}
	CHECK_STR(anth.body, "5;e=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
	pthread_mutex_unlock(&anth.mu);
	CHECK_EQ(eh_log_row("intercept", "api.anthropic.com", -1, &row), 0);
	CHECK(row.allowed);
}

TEST(streamed_response_is_not_buffered)
{
	SSL *s = tls_through_proxy("api.anthropic.com", anth.port, tls_ca_cert(tls_ca_default()));
	char b[4096];
	long long t0, first = 0, last = 0;
	size_t n = 0;
	int r;

	CHECK(s != NULL);
	if (!s)
		return;
	t0 = now_ms();
	CHECK_EQ(ssl_send(s, "GET /stream HTTP/1.1\r\nHost: api.anthropic.com\r\n"
			     "x-api-key: proxy-managed\r\n\r\n"),
		 0);
	b[0] = 0;
	while (!strstr(b, "0\r\n\r\n") && n + 1 < sizeof(b) &&
	       (r = SSL_read(s, b + n, (int)(sizeof(b) - 1 - n))) > 0) {
		b[n += (size_t)r] = 0;
		if (!first && strstr(b, "c0"))
			first = now_ms();
	}
	last = now_ms();
	tls_close(s);
	CHECK(strstr(b, "c4\r\n0\r\n\r\n") != NULL);
	CHECK(first > 0 && first - t0 < 500);
	CHECK(last - first >= 600); /* four more chunks 200 ms apart came after the first */
}

/* A response far larger than the pump's buffers arrives whole and in order, and the connection
 * is still good for the next request (the pump must not stop with bytes left in its TLS
 * sessions once the upstream has sent everything). */
TEST(large_response_arrives_whole)
{
	SSL *s = tls_through_proxy("api.anthropic.com", anth.port, tls_ca_cert(tls_ca_default()));
	struct timeval tv = {.tv_sec = 20};
	static char b[1 << 16];
	char head[4096];
	size_t n = 0, got = 0, bad = 0;
	int r;

	CHECK(s != NULL);
	if (!s)
		return;
	/* a stall fails the test instead of hanging it */
	setsockopt(SSL_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK_EQ(ssl_send(s, "GET /big HTTP/1.1\r\nHost: api.anthropic.com\r\n"
			     "x-api-key: proxy-managed\r\n\r\n"),
		 0);
	head[0] = 0;
	while (!strstr(head, "\r\n\r\n") && n + 1 < sizeof(head) &&
	       (r = SSL_read(s, head + n, 1)) == 1)
		head[++n] = 0;
	CHECK(strstr(head, "Content-Length: 8388608") != NULL);
	while (got < BIG_LEN && (r = SSL_read(s, b, (int)sizeof(b))) > 0) {
		for (int i = 0; i < r; i++)
			bad += b[i] != big_byte((unsigned)(got + (size_t)i));
		got += (size_t)r;
	}
	if (got != BIG_LEN)
		fprintf(stderr, "large: got %zu of %u bytes\n", got, BIG_LEN);
	CHECK_EQ(got, BIG_LEN);
	CHECK_EQ(bad, 0);
	CHECK_EQ(ssl_send(s, "GET /after HTTP/1.1\r\nHost: api.anthropic.com\r\n"
			     "x-api-key: proxy-managed\r\n\r\n"),
		 0);
	ssl_read_until(s, b, sizeof(b), "\r\n\r\nok");
	CHECK(strstr(b, "HTTP/1.1 200 OK") != NULL);
	tls_close(s);
}

TEST(no_secret_stays_a_plain_tunnel)
{
	SSL *s = tls_through_proxy("plain.test", plain.port, tls_ca_cert(test_ca));
	char b[4096];

	CHECK(s != NULL); /* verified against the upstream's own CA: not intercepted */
	if (!s)
		return;
	CHECK_EQ(
	    ssl_send(s, "GET / HTTP/1.1\r\nHost: plain.test\r\nx-api-key: proxy-managed\r\n\r\n"),
	    0);
	ssl_read_until(s, b, sizeof(b), "\r\n\r\nok");
	CHECK(strstr(b, "200 OK") != NULL);
	tls_close(s);
	pthread_mutex_lock(&plain.mu);
	CHECK(strstr(plain.heads, "x-api-key: proxy-managed") != NULL);
	pthread_mutex_unlock(&plain.mu);
	/* and sbxd's CA does not work for it */
	CHECK(tls_through_proxy("plain.test", plain.port, tls_ca_cert(tls_ca_default())) == NULL);
}

TEST(untrusted_upstream_gets_nothing)
{
	SSL *s = tls_through_proxy("api.openai.com", rogue.port, tls_ca_cert(tls_ca_default()));
	char b[4096] = "";

	CHECK(s != NULL); /* sbxd's side of the handshake */
	if (!s)
		return;
	ssl_send(s, "GET / HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer x\r\n\r\n");
	ssl_read_until(s, b, sizeof(b), "\r\n\r\n");
	CHECK(strncmp(b, "HTTP/1.1 502", 12) == 0);
	CHECK(strstr(b, "api.openai.com") != NULL);
	tls_close(s);
	usleep(100000);
	pthread_mutex_lock(&rogue.mu);
	CHECK_EQ(rogue.requests, 0);
	pthread_mutex_unlock(&rogue.mu);
}

TEST(foreign_host_header_421)
{
	SSL *s = tls_through_proxy("api.anthropic.com", anth.port, tls_ca_cert(tls_ca_default()));
	char b[4096] = "";
	int before;

	CHECK(s != NULL);
	if (!s)
		return;
	pthread_mutex_lock(&anth.mu);
	before = anth.requests;
	pthread_mutex_unlock(&anth.mu);
	ssl_send(s, "GET / HTTP/1.1\r\nHost: evil.example\r\nx-api-key: proxy-managed\r\n\r\n");
	ssl_read_until(s, b, sizeof(b), "\r\n\r\n");
	CHECK(strncmp(b, "HTTP/1.1 421", 12) == 0);
	tls_close(s);
	usleep(100000);
	pthread_mutex_lock(&anth.mu);
	CHECK_EQ(anth.requests, before);
	pthread_mutex_unlock(&anth.mu);
}

/* ---- set-up ---- */

static int add_secret(const char *service, const char *value)
{
	struct secret_spec sp = {.kind = SECRET_SERVICE, .name = service, .value = value};
	char err[256];

	return secret_store_set(secrets_default(), &sp, NULL, NULL, err, sizeof(err));
}

static int setup(void)
{
	static const char *const allow[] = {"api.anthropic.com", "plain.test", "api.openai.com"};
	char path[PATH_MAX + 32], err[256];

	signal(SIGPIPE, SIG_IGN);
	if (eh_tmpdir("/tmp/sbx-mitm-test-XXXXXX", &ctx.paths) < 0)
		return -1;
	snprintf(ctx.paths.config, sizeof(ctx.paths.config), "%s/config", eh_dir);
	snprintf(ctx.paths.libdir, sizeof(ctx.paths.libdir), "%s/lib", eh_dir);
	snprintf(path, sizeof(path), "%s/test-ca", eh_dir);
	if (tls_ca_load_or_create(path, &test_ca, err, sizeof(err)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/rogue-ca", eh_dir);
	if (tls_ca_load_or_create(path, &rogue_ca, err, sizeof(err)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/test-ca/ca.pem", eh_dir);
	setenv("SBX_TLS_UPSTREAM_CA", path, 1);
	if (upstream_start(&anth, test_ca) < 0 || upstream_start(&plain, test_ca) < 0 ||
	    upstream_start(&rogue, rogue_ca) < 0)
		return -1;
	if (eh_hosts("127.0.0.1 api.anthropic.com plain.test api.openai.com\n") < 0 ||
	    eh_policy_open(&ctx) < 0 || secrets_init(ctx.paths.config) < 0 ||
	    tls_ca_default_init(&ctx.paths) < 0 || eh_allow(allow, 3) < 0)
		return -1;
	if (add_secret("anthropic", "sk-ant-REAL") || add_secret("openai", "sk-oai-REAL"))
		return -1;
	return eh_sandbox_start(err, sizeof(err));
}

int main(void)
{
	if (setup() < 0) {
		fprintf(stderr, "egress_mitm_test: set-up failed\n");
		return 1;
	}
	RUN(intercept_injects_key_keepalive_chunked);
	RUN(streamed_response_is_not_buffered);
	RUN(large_response_arrives_whole);
	RUN(no_secret_stays_a_plain_tunnel);
	RUN(untrusted_upstream_gets_nothing);
	RUN(foreign_host_header_421);
	egress_sandbox_remove("sb");
	eh_finish(&ctx);
	T_EXIT();
}
