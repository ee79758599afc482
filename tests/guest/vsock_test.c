/* vsock end-to-end test helper, one static binary for both sides of tests/e2e/vsock.sh:
 *   vsock_test guest             (in the VM) servers on vsock 5000 (echo) and 5001 (sink), then
 *                                the guest->host checks; prints PASS/FAIL lines on the console
 *   vsock_test host-serve UDS    (host) echo on UDS_1025, sink on UDS_1026
 *   vsock_test host-suite UDS    (host) host->guest checks through "CONNECT <port>\n"
 * Owns test traffic only; never runs without a deadline (alarm + socket timeouts). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <unistd.h>
#if __has_include(<linux/vm_sockets.h>)
#include <linux/vm_sockets.h>
#else /* musl without kernel headers: the stable uapi layout */
struct sockaddr_vm {
	sa_family_t svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_zero[sizeof(struct sockaddr) - sizeof(sa_family_t) -
			       sizeof(unsigned short) - 2 * sizeof(unsigned int)];
};
#define VMADDR_CID_ANY	(-1U)
#define VMADDR_CID_HOST 2
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define ECHO_PORT  1025 /* host side */
#define SINK_PORT  1026
#define GECHO_PORT 5000 /* guest side */
#define GSINK_PORT 5001
#define NOLISTEN_H 1099
#define NOLISTEN_G 5999
#define BIG	   (64u << 20)
#define NSTREAMS   200
#define MAXCONN	   600

static int failures;

static void result(int ok, const char *name)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", name);
	fflush(stdout);
	if (!ok)
		failures++;
}

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void fill(uint8_t *p, size_t n, uint32_t *state)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t x = *state;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*state = x;
		p[i] = (uint8_t)x;
	}
}

static void set_timeouts(int fd, int secs)
{
	struct timeval tv = {secs, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* read one line (up to n-1 bytes) byte by byte */
static int read_line(int fd, char *buf, size_t n)
{
	size_t i = 0;
	while (i + 1 < n) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r <= 0)
			return -1;
		buf[i++] = c;
		if (c == '\n')
			break;
	}
	buf[i] = 0;
	return (int)i;
}

/* ---- connecting ---- */

static int vsock_connect(unsigned cid, unsigned port)
{
	struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd, 30);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int uds_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0)
		return -1;
	set_timeouts(fd, 30);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* host -> guest: connect to the hybrid socket and do the handshake; -1 on failure */
static int hybrid_connect(const char *uds, unsigned port, char *reply, size_t rn)
{
	char line[64];
	int fd = uds_connect(uds);
	if (fd < 0)
		return -1;
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (write_all(fd, line, strlen(line)) < 0 || read_line(fd, reply, rn) < 0 ||
	    strncmp(reply, "OK ", 3) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- servers (poll loop: echo and sink) ---- */

enum kind { K_LISTEN_ECHO, K_LISTEN_SINK, K_ECHO, K_SINK };
struct sconn {
	enum kind k;
	uint32_t crc;
	uint64_t len;
};

static void serve(int lecho, int lsink)
{
	static struct pollfd pfd[MAXCONN];
	static struct sconn sc[MAXCONN];
	static uint8_t buf[65536];
	int n = 2;

	pfd[0] = (struct pollfd){.fd = lecho, .events = POLLIN};
	sc[0].k = K_LISTEN_ECHO;
	pfd[1] = (struct pollfd){.fd = lsink, .events = POLLIN};
	sc[1].k = K_LISTEN_SINK;
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (sc[i].k == K_LISTEN_ECHO || sc[i].k == K_LISTEN_SINK) {
				int c = accept(pfd[i].fd, NULL, NULL);
				if (c < 0)
					continue;
				if (n >= MAXCONN) {
					close(c);
					continue;
				}
				set_timeouts(c, 30);
				pfd[n] = (struct pollfd){.fd = c, .events = POLLIN};
				sc[n] =
				    (struct sconn){.k = sc[i].k == K_LISTEN_ECHO ? K_ECHO : K_SINK};
				n++;
				continue;
			}
			ssize_t r = read(pfd[i].fd, buf, sizeof(buf));
			if (r > 0 && sc[i].k == K_ECHO) {
				if (write_all(pfd[i].fd, buf, (size_t)r) == 0)
					continue;
			} else if (r > 0) {
				sc[i].crc = crc_update(sc[i].crc, buf, (size_t)r);
				sc[i].len += (uint64_t)r;
				continue;
			} else if (r == 0 && sc[i].k == K_SINK) {
				char line[64];
				snprintf(line, sizeof(line), "%08x %llu\n", sc[i].crc,
					 (unsigned long long)sc[i].len);
				write_all(pfd[i].fd, line, strlen(line));
			} else if (r < 0 && errno == EINTR) {
				continue;
			}
			close(pfd[i].fd);
			pfd[i] = pfd[n - 1];
			sc[i] = sc[n - 1];
			n--;
			i--;
		}
	}
}

static int vsock_listen(unsigned port)
{
	struct sockaddr_vm a = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0) {
		perror("vsock listen");
		exit(1);
	}
	return fd;
}

static int uds_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0) {
		perror("uds listen");
		exit(1);
	}
	return fd;
}

/* ---- checks shared by both directions ---- */

static int echo_check(int fd, const char *msg)
{
	char back[256];
	size_t n = strlen(msg);
	return write_all(fd, msg, n) == 0 && read_full(fd, back, n) == (ssize_t)n &&
	       memcmp(back, msg, n) == 0;
}

/* send BIG bytes, half-close, expect "<crc> <len>" from the sink */
static int big_check(int fd, const char *who)
{
	static uint8_t buf[65536];
	uint32_t st = 0x12345678u, crc = 0;
	char line[64], want[64];
	struct timeval t0, t1;

	gettimeofday(&t0, NULL);
	for (uint32_t sent = 0; sent < BIG; sent += sizeof(buf)) {
		fill(buf, sizeof(buf), &st);
		crc = crc_update(crc, buf, sizeof(buf));
		if (write_all(fd, buf, sizeof(buf)) < 0) {
			fprintf(stderr, "%s: write failed after %u bytes: %s\n", who, sent,
				strerror(errno));
			return 0;
		}
	}
	shutdown(fd, SHUT_WR);
	if (read_line(fd, line, sizeof(line)) < 0) {
		fprintf(stderr, "%s: no checksum reply: %s\n", who, strerror(errno));
		return 0;
	}
	gettimeofday(&t1, NULL);
	snprintf(want, sizeof(want), "%08x %u\n", crc, BIG);
	fprintf(stderr, "%s: 64 MiB in %.2f s, sink says %s", who,
		(double)(t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6, line);
	return strcmp(line, want) == 0;
}

static int streams_check(int *fds, int n)
{
	char msg[64];
	int ok = 1;
	for (int i = 0; i < n; i++) {
		snprintf(msg, sizeof(msg), "stream %d of %d says hello\n", i, n);
		if (write_all(fds[i], msg, strlen(msg)) < 0)
			ok = 0;
	}
	for (int i = n - 1; i >= 0; i--) {
		char back[64];
		size_t l;
		snprintf(msg, sizeof(msg), "stream %d of %d says hello\n", i, n);
		l = strlen(msg);
		if (read_full(fds[i], back, l) != (ssize_t)l || memcmp(back, msg, l) != 0)
			ok = 0;
		close(fds[i]);
	}
	return ok;
}

/* ---- modes ---- */

static _Noreturn void guest_main(void)
{
	int fds[NSTREAMS], fd, le, ls, i;
	pid_t srv;

	le = vsock_listen(GECHO_PORT);
	ls = vsock_listen(GSINK_PORT);
	srv = fork();
	if (srv == 0) {
		alarm(0);
		serve(le, ls);
	}
	close(le);
	close(ls);
	printf("GUEST-SERVERS-READY\n");
	fflush(stdout);

	fd = vsock_connect(VMADDR_CID_HOST, ECHO_PORT);
	result(fd >= 0 && echo_check(fd, "hello from the guest\n"), "guest_to_host_echo");
	if (fd >= 0)
		close(fd);

	fd = vsock_connect(VMADDR_CID_HOST, NOLISTEN_H);
	result(fd < 0 && errno == ECONNRESET, "guest_connect_no_listener_gets_rst");
	if (fd >= 0)
		close(fd);

	fd = vsock_connect(VMADDR_CID_HOST, SINK_PORT);
	result(fd >= 0 && big_check(fd, "guest->host"), "guest_to_host_64mib_checksum");
	if (fd >= 0)
		close(fd);

	int ok = 1;
	for (i = 0; i < NSTREAMS; i++) {
		fds[i] = vsock_connect(VMADDR_CID_HOST, ECHO_PORT);
		if (fds[i] < 0) {
			fprintf(stderr, "stream %d: connect: %s\n", i, strerror(errno));
			ok = 0;
			break;
		}
	}
	result(ok && streams_check(fds, i), "guest_to_host_200_streams");
	if (!ok)
		while (i-- > 0)
			close(fds[i]);

	printf("GUEST-DONE %d\n", failures);
	fflush(stdout);
	for (;;)
		pause(); /* keep the servers' parent alive until the host stops the VM */
}

static int host_serve(const char *uds)
{
	char p1[200], p2[200];
	snprintf(p1, sizeof(p1), "%s_%d", uds, ECHO_PORT);
	snprintf(p2, sizeof(p2), "%s_%d", uds, SINK_PORT);
	int le = uds_listen(p1), ls = uds_listen(p2);
	printf("HOST-SERVE-READY\n");
	fflush(stdout);
	alarm(0);
	serve(le, ls);
	return 0;
}

static int host_suite(const char *uds)
{
	char reply[64];
	int fds[NSTREAMS], fd, i, ok;

	fd = hybrid_connect(uds, GECHO_PORT, reply, sizeof(reply));
	result(fd >= 0 && strlen(reply) > 4 && reply[strlen(reply) - 1] == '\n',
	       "host_to_guest_connect_ok_reply");
	result(fd >= 0 && echo_check(fd, "hello from the host\n"), "host_to_guest_echo");
	if (fd >= 0)
		close(fd);

	fd = uds_connect(uds);
	if (fd >= 0) {
		ssize_t r;
		write_all(fd, "CONNECT 5999\n", 13);
		r = read(fd, reply, sizeof(reply));
		result(r == 0, "host_connect_no_listener_closed");
		close(fd);
	} else {
		result(0, "host_connect_no_listener_closed");
	}

	fd = uds_connect(uds);
	if (fd >= 0) {
		ssize_t r;
		write_all(fd, "HELLO 5000\n", 11);
		r = read(fd, reply, sizeof(reply));
		result(r == 0, "host_bad_handshake_closed");
		close(fd);
	} else {
		result(0, "host_bad_handshake_closed");
	}

	fd = hybrid_connect(uds, GSINK_PORT, reply, sizeof(reply));
	result(fd >= 0 && big_check(fd, "host->guest"), "host_to_guest_64mib_checksum");
	if (fd >= 0)
		close(fd);

	ok = 1;
	for (i = 0; i < NSTREAMS; i++) {
		fds[i] = hybrid_connect(uds, GECHO_PORT, reply, sizeof(reply));
		if (fds[i] < 0) {
			fprintf(stderr, "stream %d: hybrid connect failed\n", i);
			ok = 0;
			break;
		}
	}
	result(ok && streams_check(fds, i), "host_to_guest_200_streams");
	if (!ok)
		while (i-- > 0)
			close(fds[i]);
	return failures ? 1 : 0;
}

/**
 * main() - dispatch to a mode (see the header comment); a 100 s alarm bounds every run.
 */
int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	crc_init();
	alarm(100);
	if (argc == 2 && strcmp(argv[1], "guest") == 0)
		guest_main();
	if (argc == 3 && strcmp(argv[1], "host-serve") == 0)
		return host_serve(argv[2]);
	if (argc == 3 && strcmp(argv[1], "host-suite") == 0)
		return host_suite(argv[2]);
	fprintf(stderr, "usage: vsock_test guest | host-serve UDS | host-suite UDS\n");
	return 2;
}
