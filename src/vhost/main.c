/* sbx-vhost: serves our virtio-vsock device to QEMU as a vhost-user backend, with the hybrid
 * unix-socket host side. Owns argument parsing, signals, the ready handshake with sbxd and
 * socket clean-up. Never outlives its frontend: exits 0 when QEMU disconnects. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/err.h"
#include "common/evloop.h"
#include "virtio/vhost_user.h"
#include "virtio/vsock/vsock.h"

static const char usage[] = "usage: sbx-vhost --vsock-socket PATH --uds PATH [--cid N] "
			    "[--ready-fd FD] [--log FILE]";

static void on_signal(int fd, uint32_t events, void *opaque)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		sbx_log("signal %u: shutting down", si.ssi_signo);
	evloop_stop(opaque);
}

static void on_gone(void *opaque)
{
	sbx_log("frontend gone: exiting");
	evloop_stop(opaque);
}

static long parse_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		sbx_die("bad %s '%s': must be a number in %ld..%ld (%s)", what, s, min, max, usage);
	return v;
}

/**
 * main() - sbx-vhost entry point; see the usage string. Exit 0 on frontend disconnect or
 * SIGTERM/SIGINT, 1 on bad arguments or socket failures.
 */
int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"vsock-socket", required_argument, NULL, 's'},
	    {"uds", required_argument, NULL, 'u'},
	    {"cid", required_argument, NULL, 'c'},
	    {"ready-fd", required_argument, NULL, 'r'},
	    {"log", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *vhost_path = NULL, *uds = NULL, *logfile = NULL;
	long cid = VSOCK_DEFAULT_CID, ready_fd = -1;
	struct vsock_dev_config cfg;
	struct vsock_dev *vs;
	struct vhost_user *vu;
	struct evloop *loop;
	sigset_t ss;
	int opt, sfd, rc = 0;

	sbx_prog = "sbx-vhost";
	opterr = 0; /* our own one-line errors */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			vhost_path = optarg;
			break;
		case 'u':
			uds = optarg;
			break;
		case 'c':
			cid = parse_num(optarg, 3, 0xfffffffe, "--cid");
			break;
		case 'r':
			ready_fd = parse_num(optarg, 0, INT_MAX, "--ready-fd");
			break;
		case 'l':
			logfile = optarg;
			break;
		case 'h':
			puts(usage);
			return 0;
		default:
			sbx_die("bad arguments: unknown or incomplete option '%s' (%s)",
				argv[optind - 1], usage);
		}
	}
	if (optind < argc)
		sbx_die("bad arguments: unexpected '%s' (%s)", argv[optind], usage);
	if (!vhost_path || !uds)
		sbx_die("bad arguments: --vsock-socket and --uds are required (%s)", usage);
	if (logfile && !freopen(logfile, "a", stderr))
		sbx_die("cannot open log %s: %s (check the directory exists and is writable)",
			logfile, strerror(errno));
	if (logfile)
		setvbuf(stderr, NULL, _IOLBF, 0);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	loop = evloop_new();
	sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (!loop || sfd < 0 || evloop_add(loop, sfd, EPOLLIN, on_signal, loop) < 0)
		sbx_die("cannot set up event loop: %s (check file descriptor limits)",
			strerror(errno));

	cfg = (struct vsock_dev_config){.guest_cid = (uint64_t)cid, .uds_path = uds, .loop = loop};
	vs = vsock_dev_new(&cfg);
	if (!vs) {
		sbx_err("cannot create vsock device: %s (check --uds and --cid)", strerror(errno));
		return 1;
	}
	if (vsock_dev_listen(vs) < 0) {
		int e = errno;
		vsock_dev_free(vs);
		sbx_die("cannot listen on %s: %s (check the directory exists and no other "
			"sbx-vhost uses it)",
			uds, strerror(e));
	}
	vu = vhost_user_new(loop, vsock_dev_virtio(vs), vhost_path, on_gone, loop);
	if (!vu) {
		int e = errno;
		vsock_dev_free(vs);
		sbx_die("cannot listen on %s: %s (check the directory exists and is writable)",
			vhost_path, strerror(e));
	}
	if (ready_fd >= 0) {
		if (write((int)ready_fd, "READY\n", 6) != 6)
			sbx_log("cannot write READY to fd %ld: %s", ready_fd, strerror(errno));
		close((int)ready_fd);
	}
	sbx_log("serving vsock (guest cid %ld) on %s, host side %s", cid, vhost_path, uds);
	if (evloop_run(loop) < 0) {
		sbx_err("event loop failed: %s (see the log)", strerror(errno));
		rc = 1;
	}
	vhost_user_free(vu);
	vsock_dev_free(vs);
	close(sfd);
	evloop_free(loop);
	return rc;
}
