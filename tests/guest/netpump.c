/* netpump: a small static TCP/UDP load tool for port-publishing tests and bench/ports.sh, run in
 * the guest (servers) and on the host (clients, and the reference stream).
 *   netpump serve PORT [ADDR]      TCP server (default 127.0.0.1), one thread per connection; the
 *                                  client's first line picks: "GEN BYTES SEED\n" (send that many
 *                                  bytes of the seeded stream, then close), "ECHO\n" (echo to EOF)
 *   netpump udp-echo PORT [ADDR]   UDP echo server
 *   netpump gen BYTES SEED         the seeded stream to stdout (what GEN sends)
 *   netpump get HOST PORT BYTES SEED   fetch a GEN stream to stdout; exit 1 if short
 *   netpump ping HOST PORT N       N sequential connections, 1-byte ECHO round trip each; prints
 *                                  the mean milliseconds per connection
 * Owns nothing on disk; every client wait is bounded (30 s without a byte). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 16)

/* xorshift64 stream: fills @b with the next @n bytes (n a multiple of 8). */
static void stream(uint64_t *s, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t x = *s;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*s = x;
		memcpy(b + i, &x, 8);
	}
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int gen(int fd, unsigned long long bytes, unsigned long long seed)
{
	uint8_t b[CHUNK / 4];
	uint64_t s = seed * 2654435761u + 1;

	while (bytes) {
		size_t n = bytes < sizeof(b) ? (size_t)bytes : sizeof(b);
		stream(&s, b, sizeof(b));
		if (write_all(fd, b, n) < 0)
			return -1;
		bytes -= n;
	}
	return 0;
}

static int listen_on(int type, const char *addr, const char *port)
{
	struct addrinfo h = {.ai_socktype = type, .ai_flags = AI_PASSIVE | AI_NUMERICHOST}, *ai;
	int fd, one = 1;

	if (getaddrinfo(addr, port, &h, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, type, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 512) < 0)) {
		perror("netpump: listen");
		exit(1);
	}
	freeaddrinfo(ai);
	return fd;
}

static void *serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char line[128];
	size_t n = 0;
	unsigned long long bytes, seed;
	char *b = malloc(CHUNK);

	if (!b) {
		close(fd);
		return NULL;
	}
	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	if (sscanf(line, "GEN %llu %llu", &bytes, &seed) == 2) {
		gen(fd, bytes, seed);
	} else if (strcmp(line, "ECHO") == 0) {
		ssize_t r;
		while ((r = read(fd, b, CHUNK)) > 0)
			if (write_all(fd, b, (size_t)r) < 0)
				break;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, b, CHUNK) > 0) /* let the client close first: no RST */
		;
	close(fd);
	free(b);
	return NULL;
}

static _Noreturn void serve(const char *port, const char *addr)
{
	int lfd = listen_on(SOCK_STREAM, addr, port);

	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 64 << 10);
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		if (pthread_create(&t, &at, serve_one, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}

static _Noreturn void udp_echo(const char *port, const char *addr)
{
	int fd = listen_on(SOCK_DGRAM, addr, port);
	static char b[65536];

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		ssize_t r = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&peer, &pl);
		if (r >= 0)
			sendto(fd, b, (size_t)r, 0, (struct sockaddr *)&peer, pl);
	}
}

static int dial(const char *host, const char *port)
{
	struct addrinfo h = {.ai_socktype = SOCK_STREAM}, *ai;
	int fd;

	if (getaddrinfo(host, port, &h, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	return fd;
}

/* read with a 30 s idle limit */
static ssize_t read_some(int fd, void *b, size_t n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, 30000) <= 0)
		return -1;
	return read(fd, b, n);
}

static int get(const char *host, const char *port, unsigned long long bytes, const char *seed)
{
	static char b[CHUNK];
	char line[96];
	unsigned long long got = 0;
	ssize_t r;
	int fd = dial(host, port);

	if (fd < 0) {
		perror("netpump: connect");
		return 1;
	}
	snprintf(line, sizeof(line), "GEN %llu %s\n", bytes, seed);
	write_all(fd, line, strlen(line));
	while ((r = read_some(fd, b, sizeof(b))) > 0) {
		if (write_all(1, b, (size_t)r) < 0)
			return 1;
		got += (unsigned long long)r;
	}
	close(fd);
	if (got != bytes)
		fprintf(stderr, "netpump: got %llu of %llu bytes\n", got, bytes);
	return got == bytes ? 0 : 1;
}

static int ping(const char *host, const char *port, int n)
{
	struct timespec t0, t1;
	char c;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		int fd = dial(host, port);
		if (fd < 0 || write_all(fd, "ECHO\nx", 6) < 0 || read_some(fd, &c, 1) != 1) {
			fprintf(stderr, "netpump: ping %d failed\n", i);
			return 1;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f\n",
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) /
		   n);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		serve(argv[2], argc > 3 ? argv[3] : "127.0.0.1");
	if (argc >= 3 && strcmp(argv[1], "udp-echo") == 0)
		udp_echo(argv[2], argc > 3 ? argv[3] : "127.0.0.1");
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return gen(1, strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10)) ? 1 : 0;
	if (argc == 6 && strcmp(argv[1], "get") == 0)
		return get(argv[2], argv[3], strtoull(argv[4], NULL, 10), argv[5]);
	if (argc == 5 && strcmp(argv[1], "ping") == 0)
		return ping(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: netpump serve|udp-echo PORT [ADDR] | gen BYTES SEED | get HOST "
			"PORT BYTES SEED | ping HOST PORT N\n");
	return 2;
}
