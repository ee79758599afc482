/* Unit tests of sbxd's egress service loop (src/daemon/egress/loop.c, conn.c, dnssrv.c) on
 * its real sockets: a temporary policy database allows "allowed.test", SBX_HOSTS_FILE maps it
 * (and "denied.test") to 127.0.0.1, where an HTTP server and an echo server stand in for the
 * outside. Covers: policy DNS (allowed, denied, several frames in one write), the explicit
 * proxy (GET, 403), a CONNECT tunnel carrying 1 MiB each way with half-close and its logged
 * byte count, the transparent relay by synthetic address, and sandbox removal. */
#include "daemon/dns/msg.h"
#include "daemon/egress/egress.h"
#include "daemon/netpol.h"
#include "daemon/sandbox.h"
#include "daemon/store.h"
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

static char dir[] = "/tmp/sbx-egress-test-XXXXXX";
static struct sbxd_ctx ctx;
static uint16_t http_port, echo_port;
static const char http_resp[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

/* ---- the outside: an HTTP server and an echo server on 127.0.0.1 ---- */

static int listen_local(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static void *http_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
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
	return NULL;
}

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char b[65536];
	ssize_t r;

	while ((r = read(fd, b, sizeof(b))) > 0)
		if (send(fd, b, (size_t)r, MSG_NOSIGNAL) != r)
			break;
	shutdown(fd, SHUT_WR);
	close(fd);
	return NULL;
}

struct server {
	int lfd;
	void *(*fn)(void *);
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd;

	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, s->fn, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

/* ---- the guest side: sbx-init's relay would connect to these sockets ---- */

static int guest_connect(unsigned port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 10};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vsock.sock_%u", dir, port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

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
	char path[PATH_MAX + 32], err[256];
	struct store_policy pol;
	static struct server http, echo;
	pthread_t t;
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(ctx.paths.data, sizeof(ctx.paths.data), "%s/data", dir);
	snprintf(ctx.paths.libdir, sizeof(ctx.paths.libdir), "%s/lib", dir);
	mkdir(ctx.paths.data, 0700);
	snprintf(path, sizeof(path), "%s/hosts", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("127.0.0.1 allowed.test denied.test\n", f);
	fclose(f);
	setenv("SBX_HOSTS_FILE", path, 1);
	snprintf(path, sizeof(path), "%s/sbx.db", ctx.paths.data);
	if (store_open(path, &ctx.store) < 0 || netpol_init(&ctx) < 0)
		return -1;
	/* an exact name: explicit, so its 127.0.0.1 may be connected to */
	if (netpol_policy_add("allow", "allowed.test", NULL, &pol, err, sizeof(err)) != 201)
		return -1;
	free(pol.resources);
	http.fn = http_conn;
	echo.fn = echo_conn;
	if ((http.lfd = listen_local(&http_port)) < 0 || (echo.lfd = listen_local(&echo_port)) < 0)
		return -1;
	if (pthread_create(&t, NULL, serve, &http) || pthread_detach(t) ||
	    pthread_create(&t, NULL, serve, &echo) || pthread_detach(t))
		return -1;
	if (egress_start() < 0 || egress_sandbox_add("sb", dir, err, sizeof(err)) < 0)
		return -1;
	return 0;
}

/* The log row of sandbox "sb" for @proxy to @host:@port, waited for up to 3 s (connections
 * are logged as they close). Return: 0 with *@row set, or -1. */
static int log_row(const char *proxy, const char *host, uint16_t port, struct store_log_row *row)
{
	for (int i = 0; i < 300; i++) {
		struct store_log_row *rows;
		size_t n;
		int found = -1;

		if (netpol_log_list("sb", &rows, &n) == 0) {
			for (size_t j = 0; j < n; j++)
				if (strcmp(rows[j].proxy, proxy) == 0 &&
				    strcmp(rows[j].host, host) == 0 && rows[j].port == port) {
					*row = rows[j];
					found = 0;
				}
			free(rows);
		}
		if (found == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* ---- tests ---- */

TEST(dns_allowed_denied_pipelined)
{
	uint8_t q[1024];
	size_t n;
	struct dns_reply r;
	int fd = guest_connect(EGRESS_PORT_DNS);

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
	int fd = guest_connect(EGRESS_PORT_PROXY);
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
	CHECK_EQ(log_row("http", "allowed.test", http_port, &row), 0);
	CHECK(row.allowed);
	CHECK(row.bytes > sizeof(http_resp) - 1);
}

TEST(proxy_denied_403)
{
	char req[256], resp[4096];
	int fd = guest_connect(EGRESS_PORT_PROXY);
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
	int fd = guest_connect(EGRESS_PORT_PROXY);
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
	CHECK_EQ(log_row("connect", "allowed.test", echo_port, &row), 0);
	CHECK(row.allowed);
	/* both directions of the tunnel and our "established" line, the CONNECT head not */
	CHECK_EQ(row.bytes, 2ull * BIG + sizeof(est) - 1);
}

TEST(transparent_by_synthetic_address)
{
	uint8_t q[512];
	struct dns_reply r;
	struct egress_orig_dst h = {.magic = htonl(EGRESS_ORIG_MAGIC), .family = 4};
	int dfd = guest_connect(EGRESS_PORT_DNS), fd;

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
	fd = guest_connect(EGRESS_PORT_TRANSPARENT);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	echo_big(fd);
	close(fd);
}

TEST(remove_closes_listeners)
{
	int fd = guest_connect(EGRESS_PORT_PROXY);

	CHECK(fd >= 0);
	egress_sandbox_remove("sb");
	if (fd >= 0) { /* an accepted connection is closed with its sandbox */
		char b[16];
		struct pollfd p = {.fd = fd, .events = POLLIN};

		CHECK_EQ(poll(&p, 1, 5000), 1);
		CHECK(read(fd, b, sizeof(b)) <= 0);
		close(fd);
	}
	CHECK_EQ(guest_connect(EGRESS_PORT_PROXY), -1);
	CHECK_EQ(guest_connect(EGRESS_PORT_DNS), -1);
}

int main(void)
{
	char cmd[PATH_MAX];

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
	netpol_close();
	store_close(ctx.store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	T_EXIT();
}
