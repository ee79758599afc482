/* Unit tests of sbxd's egress service loop (src/daemon/egress/loop.c, conn.c, dnssrv.c) on
 * its real sockets: a temporary policy database allows "allowed.test", SBX_HOSTS_FILE maps it
 * (and "denied.test") to 127.0.0.1, where an HTTP server and an echo server stand in for the
 * outside. Covers: policy DNS (allowed, denied, several frames in one write), the explicit
 * proxy (GET, 403), a CONNECT tunnel carrying 1 MiB each way with half-close and its logged
 * byte count, the transparent relay by synthetic address, and sandbox removal. */
#include "daemon/dns/msg.h"
#include "egress_harness.h"
#include "proto/egress.h"
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BIG (1u << 20)

static struct sbxd_ctx ctx;
static uint16_t http_port, echo_port;
static const char http_resp[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

/* ---- the outside: an HTTP server and an echo server on 127.0.0.1 ---- */

static void *http_conn(void *arg)
{
	struct eh_conn *c = arg;
	int fd = c->fd;
	char b[4096];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(b) - 1 && (r = read(fd, b + n, sizeof(b) - 1 - n)) > 0) {
		n += (size_t)r;
		b[n] = 0;
		if (strstr(b, "\r\n\r\n"))
			break;
	}
	(void)!write(fd, http_resp, sizeof(http_resp) - 1);
	close(fd);
	free(c);
	return NULL;
}

static void *echo_conn(void *arg)
{
	struct eh_conn *c = arg;
	int fd = c->fd;
	char b[65536];
	ssize_t r;

	while ((r = read(fd, b, sizeof(b))) > 0)
		if (send(fd, b, (size_t)r, MSG_NOSIGNAL) != r)
			break;
	shutdown(fd, SHUT_WR);
	close(fd);
	free(c);
	return NULL;
}

/* ---- the guest side: sbx-init's relay would connect to eh_eh_guest_connect()'s sockets ---- */

/* Read until EOF (or @cap bytes); return the count, NUL-terminated when room is left. */
static size_t read_all(int fd, char *b, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && (r = read(fd, b + n, cap - n)) > 0)
		n += (size_t)r;
	if (n < cap)
		b[n] = 0;
	return n;
}

/* Read exactly @n bytes (the socket's 10 s receive timeout bounds the wait). */
static int read_full(int fd, void *b, size_t n)
{
	return recv(fd, b, n, MSG_WAITALL) == (ssize_t)n ? 0 : -1;
}

/* A DNS-over-TCP query for @name, type A, id @id, framed, into @out. Return its length. */
static size_t dns_query_frame(uint8_t *out, uint16_t id, const char *name)
{
	uint8_t *p = out + 2;
	const char *s = name;

	*p++ = (uint8_t)(id >> 8);
	*p++ = (uint8_t)id;
	*p++ = 0x01; /* RD */
	*p++ = 0;
	*p++ = 0;
	*p++ = 1; /* QDCOUNT */
	memset(p, 0, 6);
	p += 6;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		*p++ = (uint8_t)l;
		memcpy(p, s, l);
		p += l;
		s += l + (dot ? 1 : 0);
	}
	*p++ = 0;
	*p++ = 0;
	*p++ = 1; /* A */
	*p++ = 0;
	*p++ = 1; /* IN */
	out[0] = (uint8_t)((p - out - 2) >> 8);
	out[1] = (uint8_t)(p - out - 2);
	return (size_t)(p - out);
}

/* Read one framed DNS answer from @fd and parse it. */
static int dns_answer(int fd, struct dns_reply *r)
{
	uint8_t len[2], msg[1024];
	size_t n;

	if (read_full(fd, len, 2) < 0)
		return -1;
	n = (size_t)len[0] << 8 | len[1];
	if (n > sizeof(msg) || read_full(fd, msg, n) < 0)
		return -1;
	return dns_msg_parse_reply(msg, n, r);
}

/* ---- set-up ---- */

static int setup(void)
{
	static const char *const allow[] = {"allowed.test"};
	char err[256];
	int hfd, efd;

	if (eh_tmpdir("/tmp/sbx-egress-test-XXXXXX", &ctx.paths) < 0)
		return -1;
	snprintf(ctx.paths.libdir, sizeof(ctx.paths.libdir), "%s/lib", eh_dir);
	if (eh_hosts("127.0.0.1 allowed.test denied.test\n") < 0 || eh_policy_open(&ctx) < 0 ||
	    eh_allow(allow, 1) < 0)
		return -1;
	if ((hfd = eh_listen_local(&http_port)) < 0 || (efd = eh_listen_local(&echo_port)) < 0)
		return -1;
	if (eh_serve(hfd, http_conn, NULL) < 0 || eh_serve(efd, echo_conn, NULL) < 0)
		return -1;
	return eh_sandbox_start(err, sizeof(err));
}

/* ---- tests ---- */

TEST(dns_allowed_denied_pipelined)
{
	uint8_t q[1024];
	size_t n;
	struct dns_reply r;
	int fd = eh_guest_connect(EGRESS_PORT_DNS);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	n = dns_query_frame(q, 0x1234, "allowed.test");
	n += dns_query_frame(q + n, 0x4321, "denied.test");
	n += dns_query_frame(q + n, 0x5555, "allowed.test");
	CHECK_EQ(write(fd, q, n), (ssize_t)n);
	CHECK_EQ(dns_answer(fd, &r), 0);
	CHECK_EQ(r.id, 0x1234);
	CHECK_EQ(r.rcode, DNS_RCODE_NOERROR);
	CHECK_EQ(r.naddrs, 1);
	/* a synthetic address from 198.18.0.0/15, never the real one */
	CHECK_EQ(ntohl(r.addrs[0].s_addr) >> 17, (198u << 7) | (18u >> 1));
	CHECK_EQ(dns_answer(fd, &r), 0);
	CHECK_EQ(r.id, 0x4321);
	CHECK_EQ(r.rcode, DNS_RCODE_NXDOMAIN);
	CHECK_EQ(r.naddrs, 0);
	CHECK_EQ(dns_answer(fd, &r), 0);
	CHECK_EQ(r.id, 0x5555);
	CHECK_EQ(r.naddrs, 1);
	close(fd);
}

TEST(proxy_get)
{
	char req[256], resp[1024];
	int fd = eh_guest_connect(EGRESS_PORT_PROXY);
	int n = snprintf(req, sizeof(req),
			 "GET http://allowed.test:%u/x HTTP/1.1\r\nHost: allowed.test:%u\r\n\r\n",
			 (unsigned)http_port, (unsigned)http_port);
	struct store_log_row row;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, req, (size_t)n), n);
	CHECK_EQ(read_all(fd, resp, sizeof(resp) - 1), sizeof(http_resp) - 1);
	CHECK_STR(resp, http_resp);
	close(fd);
	CHECK_EQ(eh_log_row("http", "allowed.test", http_port, &row), 0);
	CHECK(row.allowed);
	CHECK(row.bytes > sizeof(http_resp) - 1);
}

TEST(proxy_denied_403)
{
	char req[256], resp[4096];
	int fd = eh_guest_connect(EGRESS_PORT_PROXY);
	int n = snprintf(req, sizeof(req),
			 "GET http://denied.test:%u/ HTTP/1.1\r\nHost: denied.test:%u\r\n\r\n",
			 (unsigned)http_port, (unsigned)http_port);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, req, (size_t)n), n);
	read_all(fd, resp, sizeof(resp) - 1);
	CHECK(strncmp(resp, "HTTP/1.1 403", 12) == 0);
	CHECK(strstr(resp, "sbx policy allow network sb \"denied.test\"") != NULL);
	close(fd);
}

struct big_writer {
	int fd;
	const uint8_t *data;
};

static void *write_big(void *arg)
{
	struct big_writer *w = arg;
	size_t off = 0;

	while (off < BIG) {
		ssize_t r = send(w->fd, w->data + off, BIG - off, MSG_NOSIGNAL);

		if (r <= 0)
			break;
		off += (size_t)r;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

/* Send BIG bytes through @fd from a thread while reading them back; EOF must follow. */
static void echo_big(int fd)
{
	uint8_t *out = malloc(BIG), *in = malloc(BIG + 1);
	struct big_writer w = {.fd = fd, .data = out};
	pthread_t t;

	CHECK(out && in);
	if (!out || !in)
		goto done;
	for (size_t i = 0; i < BIG; i++)
		out[i] = (uint8_t)('a' + i % 23); /* never a TLS record type first */
	CHECK_EQ(pthread_create(&t, NULL, write_big, &w), 0);
	CHECK_EQ(read_all(fd, (char *)in, BIG + 1), BIG);
	CHECK(memcmp(in, out, BIG) == 0);
	pthread_join(t, NULL);
done:
	free(out);
	free(in);
}

TEST(connect_tunnel_half_close_and_bytes)
{
	static const char est[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	char req[256], got[sizeof(est)] = "";
	int fd = eh_guest_connect(EGRESS_PORT_PROXY);
	int n = snprintf(req, sizeof(req),
			 "CONNECT allowed.test:%u HTTP/1.1\r\nHost: allowed.test:%u\r\n\r\n",
			 (unsigned)echo_port, (unsigned)echo_port);
	struct store_log_row row;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, req, (size_t)n), n);
	CHECK_EQ(read_full(fd, got, sizeof(est) - 1), 0);
	CHECK_STR(got, est);
	echo_big(fd);
	close(fd);
	CHECK_EQ(eh_log_row("connect", "allowed.test", echo_port, &row), 0);
	CHECK(row.allowed);
	/* both directions of the tunnel and our "established" line, the CONNECT head not */
	CHECK_EQ(row.bytes, 2ull * BIG + sizeof(est) - 1);
}

TEST(transparent_by_synthetic_address)
{
	uint8_t q[512];
	struct dns_reply r;
	struct egress_orig_dst h = {.magic = htonl(EGRESS_ORIG_MAGIC), .family = 4};
	int dfd = eh_guest_connect(EGRESS_PORT_DNS), fd;

	CHECK(dfd >= 0);
	if (dfd < 0)
		return;
	size_t n = dns_query_frame(q, 7, "allowed.test");
	CHECK_EQ(write(dfd, q, n), (ssize_t)n);
	CHECK_EQ(dns_answer(dfd, &r), 0);
	close(dfd);
	CHECK_EQ(r.naddrs, 1);
	h.port = htons(echo_port);
	memcpy(h.addr, &r.addrs[0], 4);
	fd = eh_guest_connect(EGRESS_PORT_TRANSPARENT);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	echo_big(fd);
	close(fd);
}

TEST(remove_closes_listeners)
{
	int fd = eh_guest_connect(EGRESS_PORT_PROXY);

	CHECK(fd >= 0);
	egress_sandbox_remove("sb");
	if (fd >= 0) { /* an accepted connection is closed with its sandbox */
		char b[16];
		struct pollfd p = {.fd = fd, .events = POLLIN};

		CHECK_EQ(poll(&p, 1, 5000), 1);
		CHECK(read(fd, b, sizeof(b)) <= 0);
		close(fd);
	}
	CHECK_EQ(eh_guest_connect(EGRESS_PORT_PROXY), -1);
	CHECK_EQ(eh_guest_connect(EGRESS_PORT_DNS), -1);
}

int main(void)
{
	if (setup() < 0) {
		fprintf(stderr, "egress_loop_test: set-up failed\n");
		return 1;
	}
	RUN(dns_allowed_denied_pipelined);
	RUN(proxy_get);
	RUN(proxy_denied_403);
	RUN(connect_tunnel_half_close_and_bytes);
	RUN(transparent_by_synthetic_address);
	RUN(remove_closes_listeners);
	eh_finish(&ctx);
	T_EXIT();
}
