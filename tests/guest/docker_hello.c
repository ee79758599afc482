/* docker_hello [WORD] | docker_hello get HOST PORT PATH: the static program of the e2e test's
 * FROM scratch image (tests/e2e/docker.sh). Without "get": prints "hello from scratch [WORD]".
 * With it: resolves HOST (musl's own resolver, /etc/resolv.conf), connects to PORT within 20 s,
 * sends an HTTP/1.0 GET for PATH and prints the response body (exit 0 on a 200, else 1).
 * Owns nothing; reads only /etc/resolv.conf and /etc/hosts; every wait is bounded. */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int get(const char *host, const char *port, const char *path)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	static char buf[1 << 16];
	size_t len = 0;
	int fd, rc;
	char *body;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "docker_hello: resolving %s: %s\n", host, gai_strerror(rc));
		return 1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("docker_hello: connect");
		return 1;
	}
	freeaddrinfo(ai);
	snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, port);
	if (write(fd, buf, strlen(buf)) < 0) {
		perror("docker_hello: write");
		return 1;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (len + 1 >= sizeof(buf) || poll(&p, 1, 20000) <= 0)
			break;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	body = strstr(buf, "\r\n\r\n");
	if (!body || strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4)) {
		fprintf(stderr, "docker_hello: bad answer: %.80s\n", buf);
		return 1;
	}
	fputs(body + 4, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "get") == 0)
		return get(argv[2], argv[3], argv[4]);
	printf("hello from scratch%s%s\n", argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	return 0;
}
