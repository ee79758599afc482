/* Unit tests of the guest side of published ports: the relay, run in a child, takes the host's
 * streams on a unix listener (as it takes vsock port 1025 in the VM) and carries them to
 * servers on this host's loopback: TCP over IPv4 and IPv6, refusals, bad headers, UDP frames,
 * and 100 parallel streams with one stalled reader. */
#include "guest/gi.h"
#include "proto/ports.h"
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char inpath[64];
static pid_t relay_pid;

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A listening (@type SOCK_STREAM) or bound (SOCK_DGRAM) socket on the loopback of @family;
 * its port into *@port. Return: the fd, or -1 when that loopback does not exist. */
static int loop_socket(int family, int type, uint16_t *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t l = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, type, 0);

	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, l) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &l) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* Read exactly @n bytes within 5 s. Return: bytes read (fewer at EOF, error or timeout). */
static size_t read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* True when @fd ends (EOF or reset) within 5 s without delivering a single byte. */
static bool closed_empty(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;
	ssize_t r;

	if (poll(&p, 1, 5000) != 1)
		return false;
	r = read(fd, &b, 1);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

/* A new stream from "the host" to the relay's inbound listener. */
static int host_open(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", inpath);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	return fd;
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

static void relay_start(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct gi_relay_cfg cfg = {.proxy_fd = -1,
				   .transp_fd = -1,
				   .dns_udp_fd = -1,
				   .dns_tcp_fd = -1,
				   .host_unix = "/nonexistent/sbx-portstest"};

	snprintf(inpath, sizeof(inpath), "/tmp/sbx-portstest-%d.sock", (int)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", inpath);
	unlink(inpath);
	cfg.inbound_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (cfg.inbound_fd < 0 || bind(cfg.inbound_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(cfg.inbound_fd, 256) < 0)
		abort();
	relay_pid = fork();
	if (relay_pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		gi_relay_run(&cfg);
		_exit(1);
	}
	close(cfg.inbound_fd);
}

TEST(ports_tcp_echo_half_close)
{
	uint16_t port;
	int l = loop_socket(AF_INET, SOCK_STREAM, &port), c, s;
	char buf[16];

	CHECK(l >= 0);
	c = host_stream(PORTS_PROTO_TCP, port, "hello", 5); /* data in the header's write */
	s = accept_within(l, 5000);
	CHECK(s >= 0);
	CHECK_EQ(read_n(s, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(write(s, "hello", 5), 5);
	CHECK_EQ(read_n(c, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	shutdown(s, SHUT_WR);		  /* the server is done sending ... */
	CHECK_EQ(read_n(c, buf, 1), 0);	  /* ... the host sees EOF ... */
	CHECK_EQ(write(c, "more", 4), 4); /* ... and can still send */
	CHECK_EQ(read_n(s, buf, 4), 4);
	CHECK(memcmp(buf, "more", 4) == 0);
	shutdown(c, SHUT_WR); /* the host is done too */
	CHECK_EQ(read_n(s, buf, 1), 0);
	close(s);
	close(c);
	close(l);
}

TEST(ports_tcp_header_in_pieces)
{
	uint16_t port;
	int l = loop_socket(AF_INET, SOCK_STREAM, &port), c, s;
	uint8_t h[PORTS_HDR_LEN + 2];
	char buf[4];

	CHECK(l >= 0);
	ports_hdr_put(h, PORTS_PROTO_TCP, port);
	memcpy(h + PORTS_HDR_LEN, "ok", 2);
	c = host_open();
	CHECK_EQ(write(c, h, 3), 3);
	usleep(50 * 1000);
	CHECK_EQ(write(c, h + 3, sizeof(h) - 3), (ssize_t)sizeof(h) - 3);
	s = accept_within(l, 5000);
	CHECK(s >= 0);
	CHECK_EQ(read_n(s, buf, 2), 2);
	CHECK(memcmp(buf, "ok", 2) == 0);
	close(s);
	CHECK_EQ(read_n(c, buf, 1), 0);
	close(c);
	close(l);
}

TEST(ports_tcp_ipv6_only_server)
{
	uint16_t port;
	int l = loop_socket(AF_INET6, SOCK_STREAM, &port), c, s;
	char buf[8];

	c = host_stream(PORTS_PROTO_TCP, port, "six", 3);
	s = accept_within(l, 5000);
	CHECK(s >= 0);
	CHECK_EQ(read_n(s, buf, 3), 3);
	CHECK(memcmp(buf, "six", 3) == 0);
	CHECK_EQ(write(s, "vi", 2), 2);
	close(s);
	CHECK_EQ(read_n(c, buf, sizeof(buf)), 2); /* then EOF */
	CHECK(memcmp(buf, "vi", 2) == 0);
	close(c);
	close(l);
}

TEST(ports_tcp_no_server_closes_empty)
{
	uint16_t port;
	int l = loop_socket(AF_INET, SOCK_STREAM, &port), c;

	close(l); /* a port nobody listens on (v4 nor, most surely, v6) */
	c = host_stream(PORTS_PROTO_TCP, port, "x", 1);
	CHECK(closed_empty(c));
	close(c);
}

TEST(ports_bad_header_closes)
{
	uint8_t h[PORTS_HDR_LEN];
	uint16_t port;
	int l = loop_socket(AF_INET, SOCK_STREAM, &port), c;

	ports_hdr_put(h, PORTS_PROTO_TCP, port);
	h[0] ^= 0xff; /* magic */
	c = host_open();
	CHECK_EQ(write(c, h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK(closed_empty(c));
	close(c);
	ports_hdr_put(h, 1, port); /* ICMP: no such proto */
	c = host_open();
	CHECK_EQ(write(c, h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK(closed_empty(c));
	close(c);
	ports_hdr_put(h, PORTS_PROTO_TCP, 0); /* port 0 */
	c = host_open();
	CHECK_EQ(write(c, h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK(closed_empty(c));
	close(c);
	ports_hdr_put(h, PORTS_PROTO_TCP, port); /* cut short by the host's EOF */
	c = host_open();
	CHECK_EQ(write(c, h, 5), 5);
	shutdown(c, SHUT_WR);
	CHECK(closed_empty(c));
	close(c);
	CHECK_EQ(accept_within(l, 200), -1); /* nothing reached the server */
	close(l);
}

TEST(ports_udp_frames)
{
	static const char *const msg[] = {"one", "two", "three", ""};
	uint16_t port;
	int u = loop_socket(AF_INET, SOCK_DGRAM, &port), c;
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
	got = read_n(c, in, n); /* the replies, framed the same way */
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
	CHECK(closed_empty(c));
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
	uint16_t port;
	int l = loop_socket(AF_INET, SOCK_STREAM, &port), done = 0;
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
	CHECK_EQ(waitpid(relay_pid, NULL, WNOHANG), 0);
}

int main(void)
{
	uint16_t p6;
	int v6 = loop_socket(AF_INET6, SOCK_STREAM, &p6);

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
	kill(relay_pid, SIGKILL);
	waitpid(relay_pid, NULL, 0);
	unlink(inpath);
	return t_failed_total ? 1 : 0;
}
