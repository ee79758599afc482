/* sbx-init's entry: as PID 1 in the VM, boot, start the egress relay (under its own small
 * supervisor, which restarts it), then serve vsock port 1024 forever; with --serve-unix PATH
 * (host test mode), serve a unix socket with the hybrid handshake.
 * Never returns or exits as PID 1 (the kernel would panic). */
#include "guest/gi.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* struct sockaddr_vm, spelled out: musl's headers do not carry <linux/vm_sockets.h>. */
struct gi_sockaddr_vm {
	sa_family_t svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[3];
};
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define GI_VMADDR_CID_ANY 0xffffffffu

static int listen_vsock(void)
{
	struct gi_sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_port = 1024, .svm_cid = GI_VMADDR_CID_ANY};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		gi_log("listening on vsock port 1024: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		gi_log("socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		gi_log("listening on %s: %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* The relay's process: no root (its sockets are already bound), then the loop. No return. */
static void relay_child(const struct gi_relay_cfg *cfg)
{
	struct rlimit nofile = {4096, 4096};

	prctl(PR_SET_NAME, "sbx-relay");
	signal(SIGPIPE, SIG_IGN);
	setrlimit(RLIMIT_NOFILE, &nofile); /* two per connection, 1024 connections */
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		gi_log("relay: dropping root: %s", strerror(errno));
	gi_relay_run(cfg);
	_exit(1);
}

/* Fork the egress relay's supervisor: it binds the listeners once (as root) and runs the
 * relay in a child, restarting it (after 1 s) whenever it dies, so a relay crash never
 * reaches PID 1 and never leaves the guest without egress. */
static void relay_start(void)
{
	pid_t sup = fork();

	if (sup < 0)
		gi_log("starting the egress relay: %s", strerror(errno));
	if (sup != 0)
		return;
	prctl(PR_SET_NAME, "sbx-relay-sup");
	static struct gi_relay_cfg cfg;
	gi_relay_listen(&cfg);
	for (;;) {
		int st = 0;
		pid_t pid = fork();

		if (pid == 0)
			relay_child(&cfg);
		if (pid > 0) {
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			gi_log("egress relay exited (%s %d); restarting",
			       WIFSIGNALED(st) ? "signal" : "status",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
		sleep(1);
	}
}

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	int fd;

	if (argc > 0 && strcmp(base ? base + 1 : argv[0], "runc") == 0)
		return gi_runc_main(argc, argv); /* the containers' runc wrapper (runc.c) */
	if (argc == 3 && strcmp(argv[1], "--serve-unix") == 0) {
		gi_vm_mode = false;
		gi_switch_users = geteuid() == 0;
		prctl(PR_SET_CHILD_SUBREAPER, 1); /* detached execs are ours to reap */
		fd = listen_unix(argv[2]);
		if (fd < 0)
			return 1;
		return gi_serve(fd, true) < 0 ? 1 : 0;
	}
	if (getpid() != 1) {
		fprintf(stderr,
			"usage: sbx-init (as PID 1 in an sbx VM) | sbx-init --serve-unix PATH\n");
		return 2;
	}
	gi_vm_mode = true;
	gi_switch_users = true;
	gi_boot();
	gi_ca_setup();	   /* before anything that makes TLS connections (dockerd) */
	gi_docker_start(); /* first: it must not hand the late modules on to the relay */
	relay_start();
	for (;;) {
		fd = listen_vsock();
		if (fd >= 0) {
			char up[32] = "?";
			FILE *f = fopen("/proc/uptime", "re");

			if (f) {
				if (fscanf(f, "%31s", up) != 1)
					snprintf(up, sizeof(up), "?");
				fclose(f);
			}
			gi_log("ready (%s s after boot)", up);
			gi_serve(fd, false);
			close(fd);
		}
		sleep(1);
	}
}
