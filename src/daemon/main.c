/* sbxd: one host daemon per user. Owns start-up (single instance lock, socket, --daemon
 * detach, pid file), reattach, and orderly exit on SIGTERM. Never stops a VM on its own
 * exit: VMs are detached processes and outlive sbxd by design. */
#include "common/err.h"
#include "common/paths.h"
#include "daemon/api.h"
#include "daemon/egress/egress.h"
#include "daemon/ports/fwd.h"
#include "daemon/netpol.h"
#include "daemon/sandbox.h"
#include "daemon/secrets/store.h"
#include "daemon/supervisor.h"
#include "daemon/tls/ca_default.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: sbxd [--daemon]\n"
		   "  Host daemon of sbx: REST API on <runtime>/sbxd.sock (see docs/API.md).\n"
		   "  --daemon  detach, log to <data>/sbxd.log, write <runtime>/sbxd.pid\n");
}

/* True if an sbxd answers on @path. */
static bool socket_alive(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(a.sun_path))
		return false;
	memcpy(a.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(a.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path); /* stale: nobody answered it (checked before) and we hold the lock */
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* --daemon: detach twice; the original process waits (≤ 30 s) for the daemon to say it
 * listens, so `sbxd --daemon && curl ...` works. Returns in the daemon with *@ready_fd. */
static void daemonize(const char *log, int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		sbx_die("cannot detach: pipe: %s", strerror(errno));
	pid_t c = fork();
	if (c < 0)
		sbx_die("cannot detach: fork: %s", strerror(errno));
	if (c > 0) {
		close(p[1]);
		char b = 0;
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		if (poll(&pfd, 1, 30000) == 1 && read(p[0], &b, 1) == 1 && b == 'R')
			exit(0);
		sbx_err("sbxd did not start (see %s)", log);
		exit(1);
	}
	close(p[0]);
	setsid();
	c = fork();
	if (c < 0)
		_exit(1);
	if (c > 0)
		_exit(0);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (nul < 0 || lf < 0)
		sbx_die("cannot open log %s: %s", log, strerror(errno));
	dup2(nul, 0);
	dup2(lf, 1);
	dup2(lf, 2);
	close(nul);
	close(lf);
	if (chdir("/") < 0)
		_exit(1);
	*ready_fd = p[1];
}

int main(int argc, char **argv)
{
	static struct sbxd_ctx ctx;
	char sock[PATH_MAX], lockp[PATH_MAX], pidp[PATH_MAX], logp[PATH_MAX], dbp[PATH_MAX];
	char vmdir[PATH_MAX];
	bool detach = false;
	int ready_fd = -1;

	sbx_prog = "sbxd";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--daemon") == 0 || strcmp(argv[i], "-d") == 0) {
			detach = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			sbx_err("unknown option %s (see sbxd --help)", argv[i]);
			return 2;
		}
	}
	if (sbx_paths_init(&ctx.paths) < 0)
		return 1;
	if (sbx_path_join(sock, "%s/sbxd.sock", ctx.paths.runtime) < 0 ||
	    strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    sbx_path_join(lockp, "%s/sbxd.lock", ctx.paths.data) < 0 ||
	    sbx_path_join(pidp, "%s/sbxd.pid", ctx.paths.runtime) < 0 ||
	    sbx_path_join(logp, "%s/sbxd.log", ctx.paths.data) < 0 ||
	    sbx_path_join(dbp, "%s/sbx.db", ctx.paths.data) < 0 ||
	    sbx_path_join(vmdir, "%s/vm", ctx.paths.runtime) < 0)
		sbx_die("socket path %s/sbxd.sock is too long (use a shorter SBX_HOME or "
			"XDG_RUNTIME_DIR)",
			ctx.paths.runtime);
	if (sbx_mkdir_p(ctx.paths.data, 0700) < 0 || sbx_mkdir_p(ctx.paths.runtime, 0700) < 0 ||
	    sbx_mkdir_p(vmdir, 0700) < 0)
		sbx_die("cannot create %s or %s: %s (check permissions)", ctx.paths.data,
			ctx.paths.runtime, strerror(errno));
	if (socket_alive(sock)) {
		printf("sbxd: already running on %s\n", sock);
		return 0;
	}
	int lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0)
		sbx_die("cannot open lock %s: %s (check permissions)", lockp, strerror(errno));
	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			printf("sbxd: another sbxd already runs for %s\n", ctx.paths.data);
			return 0;
		}
		sbx_die("cannot lock %s: %s", lockp, strerror(errno));
	}
	if (detach)
		daemonize(logp, &ready_fd);

	/* Signals are taken by sigwait() in this thread only: block them before any thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int lfd = listen_unix(sock);
	if (lfd < 0)
		sbx_die("cannot listen on %s: %s (check %s)", sock, strerror(errno),
			ctx.paths.runtime);
	struct stat sock_st;
	stat(sock, &sock_st);
	/* before egress: guests get the CA and interception uses it; a failure is logged only */
	tls_ca_default_init(&ctx.paths);
	if (store_open(dbp, &ctx.store) < 0 || sandbox_ctx_init(&ctx) < 0 ||
	    netpol_init(&ctx) < 0 || secrets_init(ctx.paths.config) < 0 || egress_start() < 0 ||
	    ports_fwd_start() < 0) {
		unlink(sock);
		return 1;
	}
	int n = supervisor_reattach(&ctx);
	if (n < 0)
		sbx_log("could not check the recorded sandboxes: state database error");
	struct api *api;
	if (supervisor_start(&ctx) < 0 || api_start(&ctx, lfd, &api) < 0) {
		unlink(sock);
		return 1;
	}
	if (detach) {
		FILE *pf = fopen(pidp, "we");
		if (pf) {
			fprintf(pf, "%d\n", (int)getpid());
			fclose(pf);
		}
	}
	sbx_log("listening on %s (data %s, %d sandbox(es) reattached)", sock, ctx.paths.data,
		n > 0 ? n : 0);
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) < 0)
			sbx_log("could not tell the starting process we are ready");
		close(ready_fd);
	}

	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	sbx_log("got signal %d: no longer serving; running VMs keep running", sig);
	api_quiesce(api);
	struct stat now;
	if (stat(sock, &now) == 0 && now.st_ino == sock_st.st_ino)
		unlink(sock);
	if (detach)
		unlink(pidp);
	for (int i = 0; i < 40 && api_active(api) > 0; i++)
		usleep(50 * 1000);
	netpol_flush(); /* the last second of the network log */
	if (api_active(api) > 0) {
		/* A start in flight: its VM is detached and recorded; the next sbxd reattaches. */
		sbx_log("exiting with %d request(s) in flight", api_active(api));
		_exit(0);
	}
	api_stop(api);
	store_close(ctx.store);
	return 0;
}
