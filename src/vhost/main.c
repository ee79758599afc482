/* sbx-vhost: serves our virtio-vsock device, with the hybrid unix-socket host
 * side, and one virtio-fs device per share to QEMU as vhost-user backends, all
 * on one event loop. Owns argument parsing, signals, the ready handshake with
 * sbxd and socket clean-up. Never outlives its frontend: exits 0 when QEMU's
 * vsock connection goes away. */
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
#include "common/owner.h"
#include "virtio/fs/fs.h"
#include "virtio/vhost_user.h"
#include "virtio/vsock/vsock.h"

#define SHARES_MAX 16

static const char usage[] = "usage: sbx-vhost --vsock-socket PATH --uds PATH "
			    "[--cid N] [--ready-fd FD] [--log FILE] "
			    "[--owner UID:GID] [--fs-socket PATH --fs-tag TAG "
			    "--fs-path DIR [--fs-ro] [--fs-file NAME]]... "
			    "(each --fs-socket starts a share; its --fs-tag, "
			    "--fs-path, --fs-ro and --fs-file follow it; "
			    "--fs-file shares only entry NAME of DIR, read-only)";

/* One share: its config and, once set up, its device and transport. */
struct share {
	const char *socket;
	struct fs_share_config cfg;
	struct fs_dev *dev;
	struct vhost_user *vu;
};

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

static void on_fs_gone(void *opaque)
{
	sbx_log("virtio-fs frontend of %s gone", (const char *)opaque);
}

/* "UID:GID" -> @uid, @gid. */
static void parse_owner(const char *arg, uid_t *uid, gid_t *gid)
{
	if (owner_parse(arg, uid, gid) < 0)
		sbx_die("bad --owner '%s': must be UID:GID, e.g. 1000:1000 (%s)", arg, usage);
}

/* The share being described by the --fs-* flags that follow its --fs-socket. */
static struct share *cur_share(struct share *sh, int n, const char *flag)
{
	if (n == 0)
		sbx_die("bad arguments: %s before any --fs-socket (%s)", flag, usage);
	return &sh[n - 1];
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
 * main() - sbx-vhost entry point; see the usage string. Exit 0 on frontend
 * disconnect or SIGTERM/SIGINT, 1 on bad arguments or socket failures.
 */
int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"vsock-socket", required_argument, NULL, 's'},
	    {"uds", required_argument, NULL, 'u'},
	    {"cid", required_argument, NULL, 'c'},
	    {"ready-fd", required_argument, NULL, 'r'},
	    {"log", required_argument, NULL, 'l'},
	    {"owner", required_argument, NULL, 'o'},
	    {"fs-socket", required_argument, NULL, 'S'},
	    {"fs-tag", required_argument, NULL, 'T'},
	    {"fs-path", required_argument, NULL, 'P'},
	    {"fs-ro", no_argument, NULL, 'R'},
	    {"fs-file", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *vhost_path = NULL, *uds = NULL, *logfile = NULL;
	long cid = VSOCK_DEFAULT_CID, ready_fd = -1;
	struct vsock_dev_config cfg;
	struct vsock_dev *vs;
	struct vhost_user *vu;
	struct evloop *loop;
	struct share sh[SHARES_MAX];
	uid_t owner_uid = getuid();
	gid_t owner_gid = getgid();
	sigset_t ss;
	int opt, sfd, rc = 0, nsh = 0, i;

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
		case 'o':
			parse_owner(optarg, &owner_uid, &owner_gid);
			break;
		case 'S':
			if (nsh == SHARES_MAX)
				sbx_die("bad arguments: more than %d shares (%s)", SHARES_MAX,
					usage);
			memset(&sh[nsh], 0, sizeof(sh[nsh]));
			sh[nsh++].socket = optarg;
			break;
		case 'T':
			if (strlen(optarg) == 0 || strlen(optarg) > FS_TAG_MAX)
				sbx_die("bad --fs-tag '%s': must be 1 to %d bytes (%s)", optarg,
					FS_TAG_MAX, usage);
			cur_share(sh, nsh, "--fs-tag")->cfg.tag = optarg;
			break;
		case 'P':
			if (optarg[0] != '/')
				sbx_die("bad --fs-path '%s': not an absolute path (give the full "
					"path)",
					optarg);
			cur_share(sh, nsh, "--fs-path")->cfg.root = optarg;
			break;
		case 'R':
			cur_share(sh, nsh, "--fs-ro")->cfg.readonly = true;
			break;
		case 'F':
			if (!*optarg || strchr(optarg, '/') || !strcmp(optarg, ".") ||
			    !strcmp(optarg, ".."))
				sbx_die("bad --fs-file '%s': must be one file name in --fs-path, "
					"without '/' (%s)",
					optarg, usage);
			cur_share(sh, nsh, "--fs-file")->cfg.only_name = optarg;
			cur_share(sh, nsh, "--fs-file")->cfg.readonly = true;
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
	for (i = 0; i < nsh; i++)
		if (!sh[i].cfg.tag || !sh[i].cfg.root)
			sbx_die("bad arguments: share %s needs --fs-tag and --fs-path (%s)",
				sh[i].socket, usage);
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
	/* Shares: each its own device and socket on the same loop; READY only once
	 * all listen. */
	for (i = 0; i < nsh; i++) {
		sh[i].cfg.owner_uid = owner_uid;
		sh[i].cfg.owner_gid = owner_gid;
		sh[i].cfg.loop = loop;
		sh[i].dev = fs_dev_new(&sh[i].cfg); /* prints its own one-line error */
		if (sh[i].dev)
			sh[i].vu = vhost_user_new(loop, fs_dev_virtio(sh[i].dev), sh[i].socket,
						  on_fs_gone, (void *)sh[i].cfg.root);
		if (!sh[i].vu) {
			int e = errno;
			if (sh[i].dev) {
				fs_dev_free(sh[i].dev);
				sbx_err("cannot listen on %s: %s (check the directory exists and "
					"is writable)",
					sh[i].socket, strerror(e));
			}
			while (i-- > 0) {
				vhost_user_free(sh[i].vu);
				fs_dev_free(sh[i].dev);
			}
			vhost_user_free(vu);
			vsock_dev_free(vs);
			return 1;
		}
		sbx_log("serving share %s%s%s (%s, %s) on %s", sh[i].cfg.root,
			sh[i].cfg.only_name ? " file " : "",
			sh[i].cfg.only_name ? sh[i].cfg.only_name : "", sh[i].cfg.tag,
			sh[i].cfg.readonly ? "read-only" : "read-write", sh[i].socket);
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
	for (i = 0; i < nsh; i++) {
		vhost_user_free(sh[i].vu); /* resets the device: its workers go idle */
		fs_dev_free(sh[i].dev);
	}
	vhost_user_free(vu);
	vsock_dev_free(vs);
	close(sfd);
	evloop_free(loop);
	return rc;
}
