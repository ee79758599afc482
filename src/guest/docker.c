/* The sandbox's private Docker engine, started by PID 1 without delaying "ready": a background
 * supervisor loads Docker's kernel modules (kept open from the initramfs), bind-mounts
 * /var/lib/docker and /var/lib/containerd from the state disk, starts containerd then dockerd
 * (with the egress proxy variables) and restarts either when it dies, a few times at most.
 * Never blocks PID 1 or exec, never exits PID 1; does nothing when the root has no dockerd. */
#include "guest/gi.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LATE_LIST     "/etc/sbx/modules-late"
#define LATE_MAX      64
#define STATE_DIR     "/run/sbx/state"
#define CONTAINERD    "/usr/bin/containerd"
#define CONTAINERD_S  "/run/containerd/containerd.sock"
#define DOCKERD	      "/usr/sbin/dockerd"
#define DOCKER_S      "/run/docker.sock"
#define RESTARTS_MAX  5	    /* per daemon; then it stays down (one console line) */
#define CTRD_WAIT_MS  10000 /* dockerd starts anyway after this */
#define READY_WAIT_MS 120000

/* The late modules, opened in the initramfs (which is freed at the switch root). */
static int late_fd[LATE_MAX];
static int late_n;

void gi_docker_prepare(void)
{
	FILE *f = fopen(LATE_LIST, "re");
	char line[512], path[600];

	if (!f)
		return; /* an initramfs without Docker's modules */
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (late_n == LATE_MAX) {
			gi_log("docker: more than %d late modules; the rest are not loaded",
			       LATE_MAX);
			break;
		}
		snprintf(path, sizeof(path), "%s%s", line[0] == '/' ? "" : "/lib/modules/", line);
		late_fd[late_n] = open(path, O_RDONLY | O_CLOEXEC);
		if (late_fd[late_n] < 0)
			gi_log("docker: module %s: %s", path, strerror(errno));
		else
			late_n++;
	}
	fclose(f);
}

static void late_close(void)
{
	for (int i = 0; i < late_n; i++)
		close(late_fd[i]);
	late_n = 0;
}

/* finit_module(2) each, in order (dependencies first). */
static void late_load(void)
{
	for (int i = 0; i < late_n; i++)
		if (syscall(SYS_finit_module, late_fd[i], "", 0) < 0 && errno != EEXIST)
			gi_log("docker: loading a late module (#%d): %s", i + 1, strerror(errno));
	late_close();
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* /var/lib/NAME is a bind mount of STATE_DIR/NAME: overlay2 cannot stack on the overlay root,
 * and the state disk keeps images and containers across stop/start (and drops them with rm). */
static int bind_state(const char *name)
{
	char src[128], dst[128];

	snprintf(src, sizeof(src), STATE_DIR "/%s", name);
	snprintf(dst, sizeof(dst), "/var/lib/%s", name);
	if ((mkdir(src, 0711) < 0 && errno != EEXIST) ||
	    (mkdir(dst, 0711) < 0 && errno != EEXIST) || mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		gi_log("docker: mounting %s on %s: %s", src, dst, strerror(errno));
		return -1;
	}
	return 0;
}

/* One daemon: its argv, its log, its process and how often it was restarted. */
struct daemon {
	const char *name;
	char *const *argv;
	const char *log;
	pid_t pid;
	int restarts;
};

/* Fork and exec @d as root in its own session, stdio to its log, the egress environment.
 * Return: 0, or -1 (one console line). */
static int daemon_spawn(struct daemon *d)
{
	/* the runc wrapper (runc.c) first: containerd-shim and BuildKit look runc up in PATH */
	static const char *const path[] = {
	    "PATH=/run/sbx/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	struct gi_user u;
	static struct gi_env env;
	char err[128] = "too many variables";
	pid_t pid;

	if (gi_user_resolve("root", &u, err, sizeof(err)) < 0 ||
	    gi_env_build(&env, &u, false, path) < 0) {
		gi_log("docker: environment for %s: %s", d->name, err);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		gi_log("docker: starting %s: %s", d->name, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < 32; s++)
			signal(s, SIG_DFL);
		setsid();
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		if (chdir("/") < 0)
			_exit(126);
		execve(d->argv[0], d->argv, env.v);
		_exit(127);
	}
	d->pid = pid;
	return 0;
}

static double uptime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The supervisor's process. No return. */
static void docker_run(void)
{
	static char *const ctrd_argv[] = {CONTAINERD, NULL};
	static char *const dockerd_argv[] = {DOCKERD, "--containerd=" CONTAINERD_S, NULL};
	struct daemon dm[2] = {
	    {"containerd", ctrd_argv, "/var/log/containerd.log", -1, 0},
	    {"dockerd", dockerd_argv, "/var/log/dockerd.log", -1, 0},
	};
	long t0;
	bool ready = false;

	prctl(PR_SET_NAME, "sbx-docker");
	late_load();
	if (access(DOCKERD, X_OK) < 0 || access(CONTAINERD, X_OK) < 0)
		_exit(0); /* a root without Docker */
	if (bind_state("docker") < 0 || bind_state("containerd") < 0)
		_exit(1);
	if (daemon_spawn(&dm[0]) < 0)
		_exit(1);
	for (t0 = mono_ms(); !is_socket(CONTAINERD_S) && mono_ms() - t0 < CTRD_WAIT_MS;)
		usleep(20000);
	if (daemon_spawn(&dm[1]) < 0)
		_exit(1);
	t0 = mono_ms();
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, ready ? 0 : WNOHANG);

		if (pid < 0 && errno == ECHILD)
			_exit(0); /* both gave up */
		if (!ready && is_socket(DOCKER_S)) {
			ready = true;
			gi_log("docker: dockerd is up (%.2f s after boot)", uptime_s());
		} else if (!ready && mono_ms() - t0 > READY_WAIT_MS) {
			ready = true; /* stop polling; keep supervising */
			gi_log("docker: dockerd did not open " DOCKER_S " within %d s (see "
			       "/var/log/dockerd.log)",
			       READY_WAIT_MS / 1000);
		}
		if (pid <= 0) {
			usleep(50000);
			continue;
		}
		for (int i = 0; i < 2; i++) {
			struct daemon *d = &dm[i];

			if (pid != d->pid)
				continue;
			d->pid = -1;
			if (d->restarts == RESTARTS_MAX) {
				gi_log(
				    "docker: %s exited (%s %d) %d times; not restarting (see %s)",
				    d->name, WIFSIGNALED(st) ? "signal" : "status",
				    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
				    d->restarts + 1, d->log);
				continue;
			}
			d->restarts++;
			gi_log("docker: %s exited (%s %d); restarting", d->name,
			       WIFSIGNALED(st) ? "signal" : "status",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			sleep(1);
			daemon_spawn(d);
		}
	}
}

void gi_docker_start(void)
{
	pid_t pid = fork();

	if (pid < 0)
		gi_log("docker: starting the supervisor: %s", strerror(errno));
	if (pid == 0)
		docker_run();
	late_close(); /* PID 1's copies: the modules' memory goes once the supervisor loaded them */
}
