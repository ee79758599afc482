/* ports_path DIR TARGET_PORT: the published-port path of sbx without a VM, for bench/ports.sh —
 * sbxd's forwarder (src/daemon/ports) on an ephemeral 127.0.0.1 port, sbx-init's relay
 * (src/guest/relay*.c) in a child process, and in place of the vsock device a copying shim that
 * answers the hybrid "CONNECT 1025" line and joins each stream to the relay's inbound unix socket.
 * The relay connects to 127.0.0.1:TARGET_PORT (a server on the host). Prints the published port,
 * then serves until SIGTERM/SIGINT. Owns DIR/vsock.sock and DIR/in.sock. */
#include "common/portspec.h"
#include "daemon/ports/fwd.h"
#include "guest/gi.h"
#include "proto/agent.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char in_path[108], vs_path[108];

/* @flags: SOCK_NONBLOCK for the relay's listener (its loop accepts until EAGAIN). */
static int unix_listen(const char *path, int flags)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copy both ways until both directions ended (half-close kept). */
static void pump(int a, int b)
{
	static __thread char buf[1 << 16];
	bool open_ab = true, open_ba = true;

	while (open_ab || open_ba) {
		struct pollfd p[2] = {{.fd = open_ab ? a : -1, .events = POLLIN},
				      {.fd = open_ba ? b : -1, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		for (int i = 0; i < 2; i++) {
			int from = i ? b : a, to = i ? a : b;
			ssize_t r;
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(from, buf, sizeof(buf));
			if (r <= 0 || agent_write_full(to, buf, (size_t)r) < 0) {
				shutdown(to, SHUT_WR);
				if (i)
					open_ba = false;
				else
					open_ab = false;
			}
		}
	}
}

/* One hybrid stream: "CONNECT <port>\n" -> the relay's inbound socket, "OK <port>\n". */
static void *shim_one(void *arg)
{
	int hfd = (int)(intptr_t)arg, gfd = -1;
	char line[32];
	size_t n = 0;

	while (n < sizeof(line) && read(hfd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	if (n < sizeof(line) && (gfd = unix_connect(in_path)) >= 0 &&
	    agent_write_full(hfd, "OK 1025\n", 8) == 0)
		pump(hfd, gfd);
	close(hfd);
	if (gfd >= 0)
		close(gfd);
	return NULL;
}

static void *shim(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (;;) {
		pthread_t t;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 && pthread_create(&t, &at, shim_one, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct gi_relay_cfg cfg = {
	    .proxy_fd = -1, .transp_fd = -1, .dns_udp_fd = -1, .dns_tcp_fd = -1, .inbound_fd = -1};
	struct port_spec spec;
	char err[256];
	uint16_t bound;
	pthread_t t;
	sigset_t set;
	pid_t relay;
	int sig, lfd;

	if (argc != 3) {
		fprintf(stderr, "usage: ports_path DIR TARGET_PORT\n");
		return 2;
	}
	snprintf(in_path, sizeof(in_path), "%s/in.sock", argv[1]);
	snprintf(vs_path, sizeof(vs_path), "%s/vsock.sock", argv[1]);
	signal(SIGPIPE, SIG_IGN);
	cfg.inbound_fd = unix_listen(in_path, SOCK_NONBLOCK);
	relay = fork();
	if (relay == 0) {
		gi_relay_run(&cfg);
		_exit(1);
	}
	close(cfg.inbound_fd);
	lfd = unix_listen(vs_path, 0);
	pthread_create(&t, NULL, shim, (void *)(intptr_t)lfd);
	if (portspec_parse(argv[2], &spec, err, sizeof(err)) < 0 || ports_fwd_start() < 0 ||
	    (lfd = ports_fwd_listen(&spec, &bound, err, sizeof(err))) < 0) {
		fprintf(stderr, "ports_path: %s\n", err);
		kill(relay, SIGKILL);
		return 1;
	}
	spec.host_port = bound;
	ports_fwd_add("bench", vs_path, &spec, lfd);
	printf("%u\n", (unsigned)bound);
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
	kill(relay, SIGKILL);
	unlink(in_path);
	unlink(vs_path);
	return 0;
}
