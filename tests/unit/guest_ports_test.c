/* Unit tests of the guest side of published ports: the relay, run in a child, takes the host's
 * streams on a unix listener (as it takes vsock port 1025 in the VM) and carries them to
 * servers on this host's loopback: TCP over IPv4 and IPv6, refusals, bad headers, UDP frames,
 * and 100 parallel streams with one stalled reader. */
#include "proto/ports.h"
#include "relay_harness.h"
#include "t.h"

#include <fcntl.h>
#include <time.h>

static char inpath[64];
static pid_t relay_pid;

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new stream from "the host" to the relay's inbound listener. */
static int host_open(void)
{
	return rh_unix_connect(inpath);
}

/* Open a stream and send the header for @proto/@port and @n bytes of @data in one write. */
static int host_stream(uint8_t proto, uint16_t port, const void *data, size_t n)
{
	uint8_t b[256];
	int fd = host_open();

	if (n > sizeof(b) - PORTS_HDR_LEN)
		abort();
	ports_hdr_put(b, proto, port);
	memcpy(b + PORTS_HDR_LEN, data, n);
	if (write(fd, b, PORTS_HDR_LEN + n) != (ssize_t)(PORTS_HDR_LEN + n))
		abort();
	return fd;
}

/* The relay with only its inbound (published ports) listener, on a unix socket. */
static void relay_start(void)
{
	struct gi_relay_cfg cfg = {.proxy_fd = -1,
				   .transp_fd = -1,
				   .dns_udp_fd = -1,
				   .dns_tcp_fd = -1,
				   .host_unix = "/nonexistent/sbx-portstest"};

	snprintf(inpath, sizeof(inpath), "/tmp/sbx-portstest-%d.sock", (int)getpid());
	cfg.inbound_fd = rh_unix_listen(inpath, SOCK_NONBLOCK, 256);
	relay_pid = rh_relay_start(&cfg);
}

TEST(ports_tcp_echo_half_close)
{
	uint16_t port = 0;
	int l = rh_loop_socket(AF_INET, SOCK_STREAM, &port), c, s;
	char buf[16];

	CHECK(l >= 0);
	c = host_stream(PORTS_PROTO_TCP, port, "hello", 5); /* data in the header's write */
	s = rh_accept_within(l, 5000);
	CHECK(s >= 0);
	CHECK_EQ(rh_read_n(s, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(write(s, "hello", 5), 5);
	CHECK_EQ(rh_read_n(c, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	shutdown(s, SHUT_WR);		   /* the server is done sending ... */
	CHECK_EQ(rh_read_n(c, buf, 1), 0); /* ... the host sees EOF ... */
	CHECK_EQ(write(c, "more", 4), 4);  /* ... and can still send */
	CHECK_EQ(rh_read_n(s, buf, 4), 4);
	CHECK(memcmp(buf, "more", 4) == 0);
	shutdown(c, SHUT_WR); /* the host is done too */
	CHECK_EQ(rh_read_n(s, buf, 1), 0);
	close(s);
	close(c);
	close(l);
}

TEST(ports_tcp_header_in_pieces)
{
	uint16_t port = 0;
	int l = rh_loop_socket(AF_INET, SOCK_STREAM, &port), c, s;
	uint8_t h[PORTS_HDR_LEN + 2];
	char buf[4];

	CHECK(l >= 0);
	ports_hdr_put(h, PORTS_PROTO_TCP, port);
	memcpy(h + PORTS_HDR_LEN, "ok", 2);
	c = host_open();
	CHECK_EQ(write(c, h, 3), 3);
	usleep(50 * 1000);
	CHECK_EQ(write(c, h + 3, sizeof(h) - 3), (ssize_t)sizeof(h) - 3);
	s = rh_accept_within(l, 5000);
	CHECK(s >= 0);
	CHECK_EQ(rh_read_n(s, buf, 2), 2);
	CHECK(memcmp(buf, "ok", 2) == 0);
	close(s);
	CHECK_EQ(rh_read_n(c, buf, 1), 0);
	close(c);
	close(l);
}

TEST(ports_tcp_ipv6_only_server)
{
	uint16_t port = 0;
	int l = rh_loop_socket(AF_INET6, SOCK_STREAM, &port), c, s;
	char buf[8];

	c = host_stream(PORTS_PROTO_TCP, port, "six", 3);
	s = rh_accept_within(l, 5000);
	CHECK(s >= 0);
	CHECK_EQ(rh_read_n(s, buf, 3), 3);
	CHECK(memcmp(buf, "six", 3) == 0);
	CHECK_EQ(write(s, "vi", 2), 2);
	close(s);
	CHECK_EQ(rh_read_n(c, buf, sizeof(buf)), 2); /* then EOF */
	CHECK(memcmp(buf, "vi", 2) == 0);
	close(c);
	close(l);
}

TEST(ports_tcp_no_server_closes_empty)
{
	uint16_t port = 0;
	int l = rh_loop_socket(AF_INET, SOCK_STREAM, &port), c;

	close(l); /* a port nobody listens on (v4 nor, most surely, v6) */
	c = host_stream(PORTS_PROTO_TCP, port, "x", 1);
	CHECK(rh_closed_empty(c, 5000));
	close(c);
}

TEST(ports_bad_header_closes)
{
	uint8_t h[PORTS_HDR_LEN];
	uint16_t port = 0;
	int l = rh_loop_socket(AF_INET, SOCK_STREAM, &port), c;

	ports_hdr_put(h, PORTS_PROTO_TCP, port);
	h[0] ^= 0xff; /* magic */
	c = host_open();
	CHECK_EQ(write(c, h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK(rh_closed_empty(c, 5000));
	close(c);
	ports_hdr_put(h, 1, port); /* ICMP: no such proto */
	c = host_open();
	CHECK_EQ(write(c, h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK(rh_closed_empty(c, 5000));
	close(c);
	ports_hdr_put(h, PORTS_PROTO_TCP, 0); /* port 0 */
	c = host_open();
	CHECK_EQ(write(c, h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK(rh_closed_empty(c, 5000));
	close(c);
	ports_hdr_put(h, PORTS_PROTO_TCP, port); /* cut short by the host's EOF */
	c = host_open();
	CHECK_EQ(write(c, h, 5), 5);
	shutdown(c, SHUT_WR);
	CHECK(rh_closed_empty(c, 5000));
	close(c);
	CHECK_EQ(rh_accept_within(l, 200), -1); /* nothing reached the server */
	close(l);
}

TEST(ports_udp_frames)
{
	static const char *const msg[] = {"one", "two", "three", ""};
	uint16_t port = 0;
	int u = rh_loop_socket(AF_INET, SOCK_DGRAM, &port), c;
	uint8_t out[64], in[64], *p = out;
	size_t n = 0, got;

	CHECK(u >= 0);
	for (int i = 0; i < 4; i++) {
		size_t ml = strlen(msg[i]);

		ports_dgram_put_len(p, ml);
		memcpy(p + 2, msg[i], ml);
		p += 2 + ml;
		n += 2 + ml;
	}
	c = host_stream(PORTS_PROTO_UDP, port, out, n); /* all four frames with the header */
	for (int i = 0; i < 4; i++) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		struct pollfd pf = {.fd = u, .events = POLLIN};
		char d[16];
		ssize_t r = -1;

		if (poll(&pf, 1, 5000) == 1)
			r = recvfrom(u, d, sizeof(d), 0, (struct sockaddr *)&peer, &pl);
		CHECK_EQ(r, (ssize_t)strlen(msg[i])); /* one datagram per frame, in order */
		if (r < 0)
			break;
		CHECK(memcmp(d, msg[i], (size_t)r) == 0);
		CHECK_EQ(sendto(u, d, (size_t)r, 0, (struct sockaddr *)&peer, pl), r); /* echo */
	}
	got = rh_read_n(c, in, n); /* the replies, framed the same way */
	CHECK_EQ(got, n);
	CHECK(memcmp(in, out, n) == 0);
	for (size_t off = 0; got == n && off < n;) {
		long fl = ports_dgram_frame(in + off, n - off);

		CHECK(fl >= 2);
		if (fl < 2)
			break;
		off += (size_t)fl;
	}
	CHECK_EQ(write(c, "\xff\xff", 2), 2); /* 65535 > PORTS_DGRAM_MAX: the flow ends */
	CHECK(rh_closed_empty(c, 5000));
	close(c);
	close(u);
}

/* ---- many streams, one stalled ---- */

#define PAR_N	  100
#define PAR_SIZE  (1u << 20)
#define PAR_STALL (64u << 20) /* what stream 0 tries to send: more than every buffer holds */

/* A non-blocking echo server on @l (up to 128 connections), in a child, until killed. */
static pid_t echo_server(int l)
{
	static struct econn {
		int fd;
		bool eof;
		size_t off, len;
		char b[65536];
	} e[128];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	fcntl(l, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 128; i++)
		e[i].fd = -1;
	for (;;) {
		struct pollfd pf[129] = {{.fd = l, .events = POLLIN}};

		for (int i = 0; i < 128; i++) {
			pf[i + 1].fd = e[i].fd;
			pf[i + 1].events = e[i].len ? POLLOUT : e[i].eof ? 0 : POLLIN;
		}
		if (poll(pf, 129, -1) < 0)
			_exit(1);
		for (int fd; (pf[0].revents & POLLIN) && (fd = accept(l, NULL, NULL)) >= 0;) {
			struct econn *x = NULL;

			for (int i = 0; i < 128 && !x; i++)
				if (e[i].fd < 0)
					x = &e[i];
			if (!x)
				_exit(2);
			fcntl(fd, F_SETFL, O_NONBLOCK);
			*x = (struct econn){.fd = fd};
		}
		for (int i = 0; i < 128; i++) {
			struct econn *x = &e[i];
			ssize_t r;

			if (x->fd < 0 || !pf[i + 1].revents)
				continue;
			if (x->len) {
				r = write(x->fd, x->b + x->off, x->len);
				if (r > 0) {
					x->off += (size_t)r;
					x->len -= (size_t)r;
				}
			} else if (!x->eof) {
				r = read(x->fd, x->b, sizeof(x->b));
				if (r > 0) {
					x->off = 0;
					x->len = (size_t)r;
				} else if (r == 0 || errno != EAGAIN) {
					x->eof = true;
				}
			}
			if (x->eof && x->len == 0) {
				close(x->fd);
				x->fd = -1;
			}
		}
	}
}

TEST(ports_parallel_with_stalled_reader)
{
	static struct pstream {
		int fd;
		size_t sent, got;
		bool shut, done, bad;
	} s[PAR_N];
	static char chunk[65536];
	uint16_t port = 0;
	int l = rh_loop_socket(AF_INET, SOCK_STREAM, &port), done = 0;
	pid_t echo = echo_server(l);
	long t0 = ms_now();

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)(i * 7 + i / 251);
	close(l);
	for (int i = 0; i < PAR_N; i++) {
		uint8_t h[PORTS_HDR_LEN];

		s[i] = (struct pstream){.fd = host_open()};
		ports_hdr_put(h, PORTS_PROTO_TCP, port);
		CHECK_EQ(write(s[i].fd, h, sizeof(h)), (ssize_t)sizeof(h));
		fcntl(s[i].fd, F_SETFL, O_NONBLOCK);
	}
	/* stream 0 sends but never reads: it stalls its own path only */
	while (done < PAR_N - 1 && ms_now() - t0 < 8000) {
		struct pollfd pf[PAR_N];

		for (int i = 0; i < PAR_N; i++) {
			pf[i].fd = s[i].done ? -1 : s[i].fd;
			pf[i].events = (s[i].sent < (i ? PAR_SIZE : PAR_STALL) ? POLLOUT : 0) |
				       (i ? POLLIN : 0);
		}
		if (poll(pf, PAR_N, 500) < 0)
			break;
		for (int i = 0; i < PAR_N; i++) {
			struct pstream *x = &s[i];
			char b[65536];
			ssize_t r;

			if (pf[i].revents & POLLOUT) {
				size_t off = x->sent % sizeof(chunk), want = sizeof(chunk) - off;
				size_t total = i ? PAR_SIZE : PAR_STALL;

				if (want > total - x->sent)
					want = total - x->sent;
				r = write(x->fd, chunk + off, want);
				if (r > 0)
					x->sent += (size_t)r;
				if (x->sent == PAR_SIZE && !x->shut) {
					shutdown(x->fd, SHUT_WR);
					x->shut = true;
				}
			}
			if (i && (pf[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				r = read(x->fd, b, sizeof(b));
				if (r > 0) {
					for (ssize_t k = 0; k < r; k++)
						x->bad |=
						    b[k] !=
						    chunk[(x->got + (size_t)k) % sizeof(chunk)];
					x->got += (size_t)r;
				} else if (r == 0 || errno != EAGAIN) {
					x->done = true;
					done++;
				}
			}
		}
	}
	CHECK_EQ(done, PAR_N - 1);
	for (int i = 1; i < PAR_N; i++) {
		CHECK_EQ(s[i].got, PAR_SIZE);
		CHECK(!s[i].bad);
	}
	CHECK(!s[0].done);
	CHECK(s[0].sent < PAR_STALL); /* really stalled: its path's buffers are full */
	for (int i = 0; i < PAR_N; i++)
		close(s[i].fd);
	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
}

TEST(ports_relay_still_alive)
{
	CHECK(rh_relay_alive(relay_pid));
}

int main(void)
{
	uint16_t p6 = 0;
	int v6 = rh_loop_socket(AF_INET6, SOCK_STREAM, &p6);

	signal(SIGPIPE, SIG_IGN);
	relay_start();
	RUN(ports_tcp_echo_half_close);
	RUN(ports_tcp_header_in_pieces);
	if (v6 >= 0) {
		close(v6);
		RUN(ports_tcp_ipv6_only_server);
	} else {
		printf("note: no IPv6 loopback here; ports_tcp_ipv6_only_server skipped\n");
	}
	RUN(ports_tcp_no_server_closes_empty);
	RUN(ports_bad_header_closes);
	RUN(ports_udp_frames);
	RUN(ports_parallel_with_stalled_reader);
	RUN(ports_relay_still_alive);
	rh_relay_stop(relay_pid);
	unlink(inpath);
	return t_failed_total ? 1 : 0;
}
