/* Unit tests of the guest's egress parts: the transparent header, the DNS framing, SERVFAIL,
 * the answer FIFO, the proxy variables, and the relay itself run on the host against fake
 * host listeners on unix sockets (explicit, transparent, DNS over UDP and TCP, refusals). */
#include "guest/gi.h"
#include "proto/egress.h"
#include "relay_harness.h"
#include "t.h"

TEST(egress_header)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(8080)};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	uint8_t h[EGRESS_ORIG_LEN],
	    want4[EGRESS_ORIG_LEN] = {0x53, 0x42, 0x58, 0x54, 4, 0, 0x1f, 0x90, 1, 2, 3, 4};

	inet_pton(AF_INET, "1.2.3.4", &s4.sin_addr);
	CHECK_EQ(gi_egress_hdr((struct sockaddr *)&s4, sizeof(s4), h), 0);
	CHECK(memcmp(h, want4, sizeof(h)) == 0);
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	CHECK_EQ(gi_egress_hdr((struct sockaddr *)&s6, sizeof(s6), h), 0);
	CHECK_EQ(h[4], 6);
	CHECK_EQ(h[6] << 8 | h[7], 443);
	CHECK(memcmp(h + 8, &s6.sin6_addr, 16) == 0);
	CHECK_EQ(sizeof(struct egress_orig_dst), EGRESS_ORIG_LEN);
	s4.sin_family = AF_UNIX;
	CHECK_EQ(gi_egress_hdr((struct sockaddr *)&s4, sizeof(s4), h), -1);
	s6.sin6_family = AF_INET6;
	CHECK_EQ(gi_egress_hdr((struct sockaddr *)&s6, sizeof(struct sockaddr_in), h), -1);
}

TEST(dns_framing)
{
	const uint8_t f[] = {0, 3, 'a', 'b', 'c', 0, 1};
	const uint8_t z[] = {0, 0, 1};
	const uint8_t big[] = {0xff, 0xff};

	CHECK_EQ(gi_dns_frame(f, 0), 0);
	CHECK_EQ(gi_dns_frame(f, 1), 0);
	CHECK_EQ(gi_dns_frame(f, 4), 0);
	CHECK_EQ(gi_dns_frame(f, 5), 5);
	CHECK_EQ(gi_dns_frame(f, sizeof(f)), 5);
	CHECK_EQ(gi_dns_frame(z, sizeof(z)), -1);
	CHECK_EQ(gi_dns_frame(big, 2), 0);
}

TEST(dns_servfail)
{
	uint8_t q[16] = {0x12, 0x34, 0x01 | 0x04 | 0x02, 0x20, 0, 1}, out[16];

	CHECK_EQ(gi_dns_servfail(q, 11, out, sizeof(out)), 0);
	CHECK_EQ(gi_dns_servfail(q, 16, out, 15), 0);
	CHECK_EQ(gi_dns_servfail(q, 16, out, sizeof(out)), 16);
	CHECK_EQ(out[0], 0x12);
	CHECK_EQ(out[1], 0x34);
	CHECK_EQ(out[2], 0x81); /* QR + RD kept, AA and TC cleared */
	CHECK_EQ(out[3], 0x82); /* RA, SERVFAIL */
	CHECK_EQ(out[5], 1);	/* question count kept */
}

static int delivered, last_slot;
static size_t last_len;
static void collect(void *arg, const struct gi_dns_pend *p, const uint8_t *msg, size_t n)
{
	(void)arg;
	(void)msg;
	delivered++;
	last_slot = (int)p->slot;
	last_len = n;
}

TEST(dns_fifo_and_answers)
{
	static struct gi_dns_fifo f;
	struct gi_dns_pend p = {.kind = GI_DNS_TCP};
	const uint8_t s[] = {0, 2, 'x', 'y', 0, 3, 'a', 'b', 'c', 0, 5, 'p'};
	const uint8_t empty[] = {0, 0};

	for (int i = 0; i < GI_DNS_PEND_MAX; i++) {
		p.slot = (uint32_t)i;
		CHECK_EQ(gi_dns_fifo_push(&f, &p), 0);
	}
	CHECK_EQ(gi_dns_fifo_push(&f, &p), -1);
	CHECK_EQ(gi_dns_fifo_pop(&f, &p), 0);
	CHECK_EQ(p.slot, 0);
	CHECK_EQ(gi_dns_answers(s, sizeof(s), &f, collect, NULL), 9); /* stops at the partial */
	CHECK_EQ(delivered, 2);
	CHECK_EQ(last_slot, 2);
	CHECK_EQ(last_len, 3);
	CHECK_EQ(gi_dns_answers(empty, sizeof(empty), &f, collect, NULL), -1);
	f.head = f.n = 0;
	CHECK_EQ(gi_dns_answers(s, 4, &f, collect, NULL), -1); /* an answer nobody asked for */
	CHECK_EQ(gi_dns_fifo_pop(&f, &p), -1);
}

TEST(proxy_env)
{
	static struct gi_env e;
	struct gi_user u = {.name = "agent", .home = "/home/agent", .shell = "/bin/bash"};
	const char *req[] = {"HTTPS_PROXY=http://other:1", NULL};
	int seen = 0;

	CHECK_EQ(gi_env_build(&e, &u, false, req), 0);
	for (size_t i = 0; e.v[i]; i++) {
		seen += strcmp(e.v[i], "HTTP_PROXY=" GI_PROXY_URL) == 0;
		seen += strcmp(e.v[i], "http_proxy=" GI_PROXY_URL) == 0;
		seen += strcmp(e.v[i], "ALL_PROXY=" GI_PROXY_URL) == 0;
		seen += strcmp(e.v[i], "no_proxy=" GI_NO_PROXY) == 0;
		seen += strcmp(e.v[i], "HTTPS_PROXY=http://other:1") == 0;
		CHECK(strcmp(e.v[i], "HTTPS_PROXY=" GI_PROXY_URL) != 0);
	}
	CHECK_EQ(seen, 5);
}

/* ---- the relay, run in a child, against fake hosts on unix sockets ---- */

static char hostbase[64];
static pid_t relay_pid;
static uint16_t proxy_port, transp_port, dns_port;

/* A fake host listening on its vsock port @port ("<hostbase>_<port>"). */
static int host_listen(unsigned port)
{
	char p[160];

	snprintf(p, sizeof(p), "%s_%u", hostbase, port);
	return rh_unix_listen(p, 0, 16);
}

static void host_unlisten(int fd, unsigned port)
{
	char p[160];

	snprintf(p, sizeof(p), "%s_%u", hostbase, port);
	unlink(p);
	close(fd);
}

/* A guest program's TCP connection to the relay's listener on 127.0.0.1:@port. */
static int client(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t l = rh_loop_addr(AF_INET, port, &ss);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (const struct sockaddr *)&ss, l) < 0)
		abort();
	return fd;
}

/* The relay with its egress listeners (explicit, transparent, DNS over TCP and UDP on the
 * same port) on 127.0.0.1 and the host on unix sockets under hostbase. */
static void relay_start(void)
{
	static struct sockaddr_in orig = {.sin_family = AF_INET, .sin_port = 0x5000};
	struct gi_relay_cfg cfg = {.host_unix = hostbase, .fake_orig_dst = &orig, .inbound_fd = -1};

	orig.sin_addr.s_addr = htonl(0x01020304);
	snprintf(hostbase, sizeof(hostbase), "/tmp/sbx-relaytest-%d.sock", (int)getpid());
	cfg.proxy_fd = rh_loop_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, &proxy_port);
	cfg.transp_fd = rh_loop_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, &transp_port);
	cfg.dns_tcp_fd = rh_loop_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, &dns_port);
	cfg.dns_udp_fd = rh_loop_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, &dns_port);
	if (cfg.proxy_fd < 0 || cfg.transp_fd < 0 || cfg.dns_tcp_fd < 0 || cfg.dns_udp_fd < 0)
		abort();
	relay_pid = rh_relay_start(&cfg);
}

TEST(relay_explicit_half_close)
{
	int h = host_listen(EGRESS_PORT_PROXY), c = client(proxy_port), s;
	char buf[16];

	CHECK_EQ(write(c, "hello", 5), 5);
	s = rh_accept_within(h, 5000);
	CHECK(s >= 0);
	CHECK_EQ(rh_read_n(s, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	shutdown(c, SHUT_WR);		   /* client done sending ... */
	CHECK_EQ(rh_read_n(s, buf, 1), 0); /* ... the host sees EOF ... */
	CHECK_EQ(write(s, "world", 5), 5); /* ... and can still answer */
	close(s);
	CHECK_EQ(rh_read_n(c, buf, sizeof(buf)), 5); /* answer, then EOF */
	CHECK(memcmp(buf, "world", 5) == 0);
	close(c);
	host_unlisten(h, EGRESS_PORT_PROXY);
}

TEST(relay_transparent_header)
{
	int h = host_listen(EGRESS_PORT_TRANSPARENT), c = client(transp_port), s;
	uint8_t buf[EGRESS_ORIG_LEN + 4];

	CHECK_EQ(write(c, "data", 4), 4);
	s = rh_accept_within(h, 5000);
	CHECK(s >= 0);
	CHECK_EQ(rh_read_n(s, buf, sizeof(buf)), sizeof(buf));
	CHECK(memcmp(buf, "SBXT", 4) == 0);
	CHECK_EQ(buf[4], 4);
	CHECK_EQ(buf[6] << 8 | buf[7], 0x50); /* port 80 */
	CHECK(buf[8] == 1 && buf[9] == 2 && buf[10] == 3 && buf[11] == 4);
	CHECK(memcmp(buf + EGRESS_ORIG_LEN, "data", 4) == 0);
	close(s);
	close(c);
	host_unlisten(h, EGRESS_PORT_TRANSPARENT);
}

TEST(relay_refused_resets_fast)
{
	int c = client(proxy_port); /* nobody listens on the host's proxy port */

	CHECK(rh_closed_empty(c, 2000));
	close(c);
}

static size_t dns_query(uint8_t *q, uint16_t id)
{
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 1;
	q[5] = 1;
	memcpy(q + 12, "\1x\0\0\1\0\1", 7);
	return 19;
}

TEST(relay_dns_udp_tcp_and_host_down)
{
	struct sockaddr_storage dns_sa;
	socklen_t dl = rh_loop_addr(AF_INET, dns_port, &dns_sa);
	int u = socket(AF_INET, SOCK_DGRAM, 0), h, s, t;
	uint8_t q[64], buf[128], frame[2 + 19];
	size_t n = dns_query(q, 0x4242);

	/* host down: a SERVFAIL at once */
	CHECK_EQ(sendto(u, q, n, 0, (struct sockaddr *)&dns_sa, dl), (ssize_t)n);
	CHECK_EQ(rh_read_n(u, buf, n), n);
	CHECK(buf[0] == 0x42 && buf[1] == 0x42 && (buf[3] & 0xf) == 2 && (buf[2] & 0x80));
	/* host up: UDP query -> frame on the stream -> answer back to the client */
	h = host_listen(EGRESS_PORT_DNS);
	CHECK_EQ(sendto(u, q, n, 0, (struct sockaddr *)&dns_sa, dl), (ssize_t)n);
	s = rh_accept_within(h, 5000);
	CHECK(s >= 0);
	CHECK_EQ(rh_read_n(s, frame, sizeof(frame)), sizeof(frame));
	CHECK(frame[0] == 0 && frame[1] == 19 && memcmp(frame + 2, q, n) == 0);
	frame[2 + 2] |= 0x80; /* "answer" */
	CHECK_EQ(write(s, frame, sizeof(frame)), (ssize_t)sizeof(frame));
	CHECK_EQ(rh_read_n(u, buf, sizeof(buf)), 19);
	CHECK(memcmp(buf, frame + 2, 19) == 0);
	/* TCP client: two pipelined queries, answered in order on the same stream */
	t = client(dns_port);
	uint8_t two[2 * 21];
	two[0] = 0;
	two[1] = 19;
	dns_query(two + 2, 1);
	two[21] = 0;
	two[22] = 19;
	dns_query(two + 23, 2);
	CHECK_EQ(write(t, two, sizeof(two)), (ssize_t)sizeof(two));
	shutdown(t, SHUT_WR); /* the answers must still come */
	CHECK_EQ(rh_read_n(s, buf, sizeof(two)), sizeof(two));
	CHECK(memcmp(buf, two, sizeof(two)) == 0);
	CHECK_EQ(write(s, two, sizeof(two)), (ssize_t)sizeof(two)); /* echo as answers */
	CHECK_EQ(rh_read_n(t, buf, sizeof(buf)), sizeof(two));	    /* then EOF */
	CHECK(memcmp(buf, two, sizeof(two)) == 0);
	/* an answer nobody asked for: the relay drops the stream (EOF at the host) */
	CHECK_EQ(write(s, frame, sizeof(frame)), (ssize_t)sizeof(frame));
	CHECK_EQ(rh_read_n(s, buf, 1), 0);
	close(s);
	close(t);
	close(u);
	host_unlisten(h, EGRESS_PORT_DNS);
}

TEST(relay_still_alive)
{
	CHECK(rh_relay_alive(relay_pid));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(egress_header);
	RUN(dns_framing);
	RUN(dns_servfail);
	RUN(dns_fifo_and_answers);
	RUN(proxy_env);
	relay_start();
	RUN(relay_explicit_half_close);
	RUN(relay_transparent_header);
	RUN(relay_refused_resets_fast);
	RUN(relay_dns_udp_tcp_and_host_down);
	RUN(relay_still_alive);
	rh_relay_stop(relay_pid);
	return t_failed_total ? 1 : 0;
}
