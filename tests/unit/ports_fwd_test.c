/* Unit tests of sbxd's port forwarder (src/daemon/ports/fwd.c, fwd_udp.c) against a fake
 * guest: a unix socket at a temporary vsock path that answers the hybrid handshake, checks
 * the ports header and then echoes (TCP bytes, UDP frames), refuses, or never says OK.
 * Covers: ephemeral ports, listen errors, echo with early data and half-close, refusals,
 * 100 parallel 1 MiB echoes beside a client that never reads, removal, UDP flows, and the
 * ports_fwd_has() query. */
#include "daemon/ports/fwd.h"
#include "proto/ports.h"
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- the fake guest ---- */

enum fg_mode {
	FG_ECHO,   /* OK, header, then echo (TCP bytes or UDP frames) */
	FG_REFUSE, /* OK, header, then close without a byte (port not reachable inside) */
	FG_NO_OK,  /* close right after CONNECT (no relay listening on the vsock port) */
	FG_BAD,	   /* UDP: OK, header, then a frame longer than any datagram; wait for EOF */
};

struct fguest {
	char dir[64], path[108];
	int lfd;
	enum fg_mode mode;
	int ok_delay_ms;
	pthread_t th;
	atomic_int streams, active, bad, last_proto, last_port, eofs;
};

struct fworker {
	struct fguest *g;
	int fd;
};

static int read_full(int fd, void *b, size_t n)
{
	char *p = b;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *b, size_t n)
{
	const char *p = b;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void echo_udp(int fd)
{
	uint8_t b[2 + PORTS_DGRAM_MAX];

	for (;;) {
		size_t len;

		if (read_full(fd, b, 2) < 0)
			return;
		len = (size_t)b[0] << 8 | b[1];
		if (len > PORTS_DGRAM_MAX || read_full(fd, b + 2, len) < 0 ||
		    write_full(fd, b, len + 2) < 0)
			return;
	}
}

static void echo_tcp(int fd)
{
	static _Thread_local char b[64 << 10];
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		if (write_full(fd, b, (size_t)n) < 0)
			return;
	if (n == 0)
		shutdown(fd, SHUT_WR);
}

static void *fg_worker(void *arg)
{
	struct fworker *w = arg;
	struct fguest *g = w->g;
	char line[32];
	uint8_t hdr[PORTS_HDR_LEN], proto;
	uint16_t port;
	size_t n = 0;

	while (n < sizeof(line) && read(w->fd, line + n, 1) == 1)
		if (line[n++] == '\n')
			break;
	if (n != 13 || memcmp(line, "CONNECT 1025\n", 13) != 0) {
		g->bad++;
		goto out;
	}
	if (g->mode == FG_NO_OK)
		goto out;
	if (g->ok_delay_ms)
		usleep((useconds_t)g->ok_delay_ms * 1000);
	if (write_full(w->fd, "OK 1073741824\n", 14) < 0 ||
	    read_full(w->fd, hdr, sizeof(hdr)) < 0 ||
	    ports_hdr_parse(hdr, sizeof(hdr), &proto, &port) != 1) {
		g->bad++;
		goto out;
	}
	g->last_proto = proto;
	g->last_port = port;
	if (g->mode == FG_REFUSE)
		goto out;
	if (g->mode == FG_BAD) {
		char c[64];
		ssize_t r = -1;

		if (write_full(w->fd, "\xff\xff", 2) == 0)
			while ((r = read(w->fd, c, sizeof(c))) > 0) /* the datagram that came */
				;
		if (r == 0)
			g->eofs++;
		goto out;
	}
	if (proto == PORTS_PROTO_UDP)
		echo_udp(w->fd);
	else
		echo_tcp(w->fd);
out:
	close(w->fd);
	g->active--;
	free(w);
	return NULL;
}

static void *fg_accept(void *arg)
{
	struct fguest *g = arg;
	int fd;

	while ((fd = accept4(g->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct fworker *w = malloc(sizeof(*w));
		pthread_t t;

		g->streams++;
		g->active++;
		w->g = g;
		w->fd = fd;
		if (pthread_create(&t, NULL, fg_worker, w) != 0) {
			close(fd);
			g->active--;
			free(w);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static struct fguest *fg_start(enum fg_mode mode, int ok_delay_ms)
{
	struct fguest *g = calloc(1, sizeof(*g));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	g->mode = mode;
	g->ok_delay_ms = ok_delay_ms;
	snprintf(g->dir, sizeof(g->dir), "/tmp/sbx-fwd-test.XXXXXX");
	if (!mkdtemp(g->dir))
		abort();
	snprintf(g->path, sizeof(g->path), "%s/vsock.sock", g->dir);
	strcpy(sa.sun_path, g->path);
	g->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g->lfd < 0 || bind(g->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(g->lfd, 1024) < 0 || pthread_create(&g->th, NULL, fg_accept, g) != 0)
		abort();
	return g;
}

/* Wait (up to 5 s) for every stream of @g to end, then tear it down. */
static void fg_stop(struct fguest *g)
{
	for (int i = 0; i < 500 && g->active; i++)
		usleep(10000);
	CHECK_EQ(g->active, 0);
	shutdown(g->lfd, SHUT_RDWR);
	pthread_join(g->th, NULL);
	close(g->lfd);
	unlink(g->path);
	rmdir(g->dir);
	free(g);
}

/* ---- clients ---- */

static struct port_spec spec(const char *text)
{
	struct port_spec p;
	char err[128];

	if (portspec_parse(text, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return p;
}

/* Publish @text for sandbox @name on @g; returns the bound port (0 on failure). */
static uint16_t publish(const char *name, struct fguest *g, struct port_spec *p)
{
	char err[160];
	uint16_t bound = 0;
	int fd = ports_fwd_listen(p, &bound, err, sizeof(err));

	CHECK(fd >= 0);
	if (fd < 0) {
		fprintf(stderr, "listen: %s\n", err);
		return 0;
	}
	p->host_port = bound;
	ports_fwd_add(name, g->path, p, fd);
	return bound;
}

static int client(int family, int type, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	struct timeval tv = {.tv_sec = 5};
	socklen_t sl;
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until EOF into @b (@cap). Return bytes read, or -1 - bytes on an error. */
static long read_to_eof(int fd, char *b, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, b + n, cap - n);

		if (r == 0)
			return (long)n;
		if (r < 0)
			return -1 - (long)n;
		n += (size_t)r;
		if (n == cap)
			return (long)n;
	}
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- tests ---- */

TEST(listen_ephemeral_and_errors)
{
	struct port_spec p = spec("3000"), q, u = spec("3000/udp");
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[160], want[160];
	uint16_t bound = 0, b2 = 0;
	int fd = ports_fwd_listen(&p, &bound, err, sizeof(err)), fd2, fdu;

	CHECK(fd >= 0);
	CHECK(bound > 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	CHECK_EQ(ntohs(sa.sin_port), bound);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	q = p;
	q.host_port = bound;
	fd2 = ports_fwd_listen(&q, &b2, err, sizeof(err));
	CHECK_EQ(fd2, -1);
	snprintf(want, sizeof(want),
		 "host port 127.0.0.1:%u/tcp is already in use (by another program or sandbox)",
		 bound);
	CHECK_STR(err, want);

	/* the same number over UDP is another port */
	u.host_port = bound;
	fdu = ports_fwd_listen(&u, &b2, err, sizeof(err));
	CHECK(fdu >= 0);
	CHECK_EQ(b2, bound);
	CHECK_EQ(ports_fwd_listen(&u, &b2, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "host port 127.0.0.1:%u/udp is already in use (by another program or sandbox)",
		 bound);
	CHECK_STR(err, want);
	close(fdu);
	close(fd);

	q = spec("10.9.9.9:8080:80");
	CHECK_EQ(ports_fwd_listen(&q, &b2, err, sizeof(err)), -1);
	CHECK_STR(err, "host address 10.9.9.9 is not an address of this machine");

	q = spec("127.0.0.1:80:80");
	fd2 = ports_fwd_listen(&q, &b2, err, sizeof(err));
	if (fd2 >= 0) /* privileged (root, or a low ip_unprivileged_port_start) */
		close(fd2);
	else if (errno == EACCES || strstr(err, "privileges"))
		CHECK_STR(err, "host port 80 needs privileges (pick a port above 1023)");
}

TEST(tcp_echo_early_data_and_half_close)
{
	struct fguest *g = fg_start(FG_ECHO, 300);
	struct port_spec p = spec("127.0.0.1::3000");
	uint16_t port = publish("sb-echo", g, &p);
	const char msg[] = "hello before the guest answered";
	char b[256];
	int fd = client(AF_INET, SOCK_STREAM, port);

	CHECK(fd >= 0);
	/* all of it is sent, and our side closed, while the guest is still silent */
	CHECK(write_full(fd, msg, sizeof(msg) - 1) == 0);
	CHECK(shutdown(fd, SHUT_WR) == 0);
	CHECK_EQ(read_to_eof(fd, b, sizeof(b)), (long)sizeof(msg) - 1);
	CHECK(memcmp(b, msg, sizeof(msg) - 1) == 0);
	close(fd);
	CHECK_EQ(g->last_proto, PORTS_PROTO_TCP);
	CHECK_EQ(g->last_port, 3000);
	CHECK_EQ(g->bad, 0);

	/* an interactive exchange: the connection stays open both ways */
	fd = client(AF_INET, SOCK_STREAM, port);
	CHECK(fd >= 0);
	CHECK(write_full(fd, "ping", 4) == 0);
	CHECK(read_full(fd, b, 4) == 0 && memcmp(b, "ping", 4) == 0);
	CHECK(write_full(fd, "pong", 4) == 0);
	CHECK(read_full(fd, b, 4) == 0 && memcmp(b, "pong", 4) == 0);
	close(fd);
	ports_fwd_remove("sb-echo", &p);
	fg_stop(g);
}

static void check_refused(enum fg_mode mode)
{
	struct fguest *g = fg_start(mode, 0);
	struct port_spec p = spec("127.0.0.1::3001");
	uint16_t port = publish("sb-refuse", g, &p);
	char b[64];
	int fd = client(AF_INET, SOCK_STREAM, port);
	ssize_t n;

	CHECK(fd >= 0);
	(void)!write(fd, "x", 1);
	n = read(fd, b, sizeof(b));
	CHECK(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd);
	CHECK(g->streams >= 1);
	CHECK_EQ(g->bad, 0);
	ports_fwd_remove_all("sb-refuse");
	fg_stop(g);
}

TEST(tcp_guest_port_refused)
{
	check_refused(FG_REFUSE);
}

TEST(tcp_guest_relay_absent)
{
	check_refused(FG_NO_OK);
}

TEST(tcp_sandbox_not_running)
{
	struct fguest *g = fg_start(FG_ECHO, 0);
	struct port_spec p = spec("127.0.0.1::3002");
	uint16_t port;
	char b[8];
	int fd;
	ssize_t n;

	unlink(g->path); /* the VM's socket is gone */
	port = publish("sb-gone", g, &p);
	fd = client(AF_INET, SOCK_STREAM, port);
	CHECK(fd >= 0);
	n = read(fd, b, sizeof(b));
	CHECK(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd);
	CHECK_EQ(g->streams, 0);
	ports_fwd_remove("sb-gone", &p);
	fg_stop(g);
}

#define NPAR   100
#define PAR_SZ (1u << 20)

static uint8_t pat(int i, size_t off)
{
	return (uint8_t)(off * 31 + (size_t)i * 7 + (off >> 12));
}

TEST(tcp_parallel_with_a_stuck_reader)
{
	struct fguest *g = fg_start(FG_ECHO, 0);
	struct port_spec p = spec("127.0.0.1::3003");
	uint16_t port = publish("sb-par", g, &p);
	struct {
		int fd;
		size_t sent, got;
		bool shut, done, bad;
	} c[NPAR];
	static uint8_t buf[64 << 10];
	int stuck = client(AF_INET, SOCK_STREAM, port), done = 0, bad = 0;
	long long deadline = now_ms() + 8000;
	size_t stuck_sent = 0;

	CHECK(stuck >= 0);
	fcntl(stuck, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < NPAR; i++) {
		c[i].fd = client(AF_INET, SOCK_STREAM, port);
		CHECK(c[i].fd >= 0);
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		c[i].sent = c[i].got = 0;
		c[i].shut = c[i].done = c[i].bad = false;
	}
	/* the stuck client fills every buffer on its path and then never reads */
	for (int k = 0; k < 2000; k++) {
		ssize_t w = send(stuck, buf, sizeof(buf), MSG_NOSIGNAL);

		if (w > 0)
			stuck_sent += (size_t)w;
		else if (k > 100)
			break;
		else
			usleep(1000);
	}
	CHECK(stuck_sent > (1u << 20));
	while (done < NPAR && now_ms() < deadline) {
		struct pollfd pf[NPAR];

		for (int i = 0; i < NPAR; i++) {
			pf[i].fd = c[i].done ? -1 : c[i].fd;
			pf[i].events = POLLIN | (c[i].sent < PAR_SZ ? POLLOUT : 0);
		}
		if (poll(pf, NPAR, 100) <= 0)
			continue;
		for (int i = 0; i < NPAR; i++) {
			if (pf[i].revents & POLLOUT && c[i].sent < PAR_SZ) {
				size_t n = PAR_SZ - c[i].sent;
				ssize_t w;

				if (n > sizeof(buf))
					n = sizeof(buf);
				for (size_t k = 0; k < n; k++)
					buf[k] = pat(i, c[i].sent + k);
				w = send(c[i].fd, buf, n, MSG_NOSIGNAL);
				if (w > 0)
					c[i].sent += (size_t)w;
				if (c[i].sent == PAR_SZ && !c[i].shut) {
					shutdown(c[i].fd, SHUT_WR);
					c[i].shut = true;
				}
			}
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(c[i].fd, buf, sizeof(buf));

				if (r > 0) {
					for (ssize_t k = 0; k < r; k++)
						if (buf[k] != pat(i, c[i].got + (size_t)k))
							c[i].bad = true;
					c[i].got += (size_t)r;
				} else if (r == 0 || errno != EAGAIN) {
					c[i].done = true;
					done++;
				}
			}
		}
	}
	CHECK_EQ(done, NPAR);
	for (int i = 0; i < NPAR; i++) {
		if (c[i].got != PAR_SZ || c[i].bad)
			bad++;
		close(c[i].fd);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(g->bad, 0);
	/* removing the listener ends the stuck connection and its guest stream */
	ports_fwd_remove("sb-par", &p);
	close(stuck);
	fg_stop(g);
}

TEST(remove_closes_listener_and_connections)
{
	struct fguest *g = fg_start(FG_ECHO, 0);
	struct port_spec p = spec("127.0.0.1::3004"), p2 = spec("127.0.0.1::3005");
	uint16_t port = publish("sb-rm", g, &p), port2 = publish("sb-rm", g, &p2);
	char b[8];
	int fd = client(AF_INET, SOCK_STREAM, port), fd2;
	ssize_t n;

	CHECK(fd >= 0);
	CHECK(write_full(fd, "ping", 4) == 0);
	CHECK(read_full(fd, b, 4) == 0 && memcmp(b, "ping", 4) == 0);
	ports_fwd_remove("sb-rm", &p);
	n = read(fd, b, sizeof(b));
	CHECK(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd);
	fd = client(AF_INET, SOCK_STREAM, port);
	CHECK_EQ(fd, -1);
	CHECK_EQ(errno, ECONNREFUSED);

	/* the other listener of the sandbox is untouched until remove_all */
	fd2 = client(AF_INET, SOCK_STREAM, port2);
	CHECK(fd2 >= 0);
	CHECK(write_full(fd2, "pong", 4) == 0);
	CHECK(read_full(fd2, b, 4) == 0 && memcmp(b, "pong", 4) == 0);
	ports_fwd_remove_all("sb-rm");
	n = read(fd2, b, sizeof(b));
	CHECK(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd2);
	fd2 = client(AF_INET, SOCK_STREAM, port2);
	CHECK_EQ(fd2, -1);
	fg_stop(g);
}

TEST(udp_flows_per_client)
{
	struct fguest *g = fg_start(FG_ECHO, 200);
	struct port_spec p = spec("127.0.0.1::5353/udp");
	uint16_t port = publish("sb-udp", g, &p);
	int a = client(AF_INET, SOCK_DGRAM, port), b = client(AF_INET, SOCK_DGRAM, port);
	char m[64], r[64];
	ssize_t n;

	CHECK(a >= 0 && b >= 0);
	/* sent while the flows' handshakes are pending: queued, not lost */
	for (int i = 0; i < 3; i++) {
		snprintf(m, sizeof(m), "a-%d", i);
		CHECK_EQ(send(a, m, strlen(m), 0), (long)strlen(m));
		snprintf(m, sizeof(m), "bb-%d", i);
		CHECK_EQ(send(b, m, strlen(m), 0), (long)strlen(m));
	}
	for (int i = 0; i < 3; i++) {
		snprintf(m, sizeof(m), "a-%d", i);
		n = recv(a, r, sizeof(r), 0);
		CHECK_EQ(n, (long)strlen(m));
		CHECK(n > 0 && memcmp(r, m, (size_t)n) == 0);
		snprintf(m, sizeof(m), "bb-%d", i);
		n = recv(b, r, sizeof(r), 0);
		CHECK_EQ(n, (long)strlen(m));
		CHECK(n > 0 && memcmp(r, m, (size_t)n) == 0);
	}
	/* an empty datagram is one too */
	CHECK_EQ(send(a, "", 0, 0), 0);
	CHECK_EQ(recv(a, r, sizeof(r), 0), 0);
	CHECK_EQ(g->streams, 2);
	CHECK_EQ(g->last_proto, PORTS_PROTO_UDP);
	CHECK_EQ(g->last_port, 5353);
	CHECK_EQ(g->bad, 0);
	ports_fwd_remove("sb-udp", &p);
	close(a);
	close(b);
	fg_stop(g);
}

TEST(udp_malformed_frame_ends_flow)
{
	struct fguest *g = fg_start(FG_BAD, 0);
	struct port_spec p = spec("127.0.0.1::5354/udp");
	uint16_t port = publish("sb-udp-bad", g, &p);
	int a = client(AF_INET, SOCK_DGRAM, port);

	CHECK(a >= 0);
	CHECK_EQ(send(a, "x", 1, 0), 1);
	for (int i = 0; i < 200 && g->eofs < 1; i++)
		usleep(10000);
	CHECK_EQ(g->eofs, 1); /* the forwarder ended the stream, the listener stays */
	CHECK_EQ(send(a, "y", 1, 0), 1);
	for (int i = 0; i < 200 && g->eofs < 2; i++)
		usleep(10000);
	CHECK_EQ(g->streams, 2);
	CHECK_EQ(g->eofs, 2);
	CHECK_EQ(g->last_proto, PORTS_PROTO_UDP);
	ports_fwd_remove("sb-udp-bad", &p);
	close(a);
	fg_stop(g);
}

TEST(tcp_ipv6)
{
	struct fguest *g = fg_start(FG_ECHO, 0);
	struct port_spec p = spec("[::1]::3006");
	char err[160], b[8];
	uint16_t port = 0;
	int lfd = ports_fwd_listen(&p, &port, err, sizeof(err)), fd;

	if (lfd < 0) { /* no IPv6 loopback here */
		fprintf(stderr, "skipping: %s\n", err);
		fg_stop(g);
		return;
	}
	p.host_port = port;
	ports_fwd_add("sb-v6", g->path, &p, lfd);
	fd = client(AF_INET6, SOCK_STREAM, port);
	CHECK(fd >= 0);
	CHECK(write_full(fd, "six!", 4) == 0);
	CHECK(read_full(fd, b, 4) == 0 && memcmp(b, "six!", 4) == 0);
	close(fd);
	/* IPV6_V6ONLY: the v4 loopback is not served on the same port */
	CHECK_EQ(client(AF_INET, SOCK_STREAM, port), -1);
	ports_fwd_remove_all("sb-v6");
	fg_stop(g);
}

TEST(has_answers_for_served_listeners_only)
{
	struct fguest *g = fg_start(FG_ECHO, 0);
	struct port_spec p = spec("127.0.0.1::3007"), u = spec("127.0.0.1::3007/udp"), q;

	CHECK(!ports_fwd_has("sb-has", &p)); /* not bound yet: host_port 0 */
	CHECK(publish("sb-has", g, &p) > 0);
	CHECK(ports_fwd_has("sb-has", &p));
	CHECK(!ports_fwd_has("sb-other", &p));
	CHECK(!ports_fwd_has("sb-ha", &p));
	q = p;
	q.sandbox_port = 3008; /* the same host address for another sandbox port */
	CHECK(!ports_fwd_has("sb-has", &q));
	q = p;
	q.host_port = (uint16_t)(p.host_port + 1);
	CHECK(!ports_fwd_has("sb-has", &q));
	q = p;
	portspec_set_ip(&q, "127.0.0.2");
	CHECK(!ports_fwd_has("sb-has", &q));
	q = p;
	q.proto = PORTS_PROTO_UDP;
	CHECK(!ports_fwd_has("sb-has", &q));

	CHECK(publish("sb-has", g, &u) > 0);
	CHECK(ports_fwd_has("sb-has", &u));
	ports_fwd_remove("sb-has", &p);
	CHECK(!ports_fwd_has("sb-has", &p)); /* seen as soon as remove returns */
	CHECK(ports_fwd_has("sb-has", &u));
	ports_fwd_remove_all("sb-has");
	CHECK(!ports_fwd_has("sb-has", &u));
	fg_stop(g);
}

int main(void)
{
	if (ports_fwd_start() < 0)
		return 1;
	RUN(listen_ephemeral_and_errors);
	RUN(tcp_echo_early_data_and_half_close);
	RUN(tcp_guest_port_refused);
	RUN(tcp_guest_relay_absent);
	RUN(tcp_sandbox_not_running);
	RUN(tcp_parallel_with_a_stuck_reader);
	RUN(remove_closes_listener_and_connections);
	RUN(udp_flows_per_client);
	RUN(udp_malformed_frame_ends_flow);
	RUN(tcp_ipv6);
	RUN(has_answers_for_served_listeners_only);
	T_EXIT();
}
