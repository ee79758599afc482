/* Process helpers every engine shares: start a program detached (it outlives sbxd), know it
 * again by pid + start time so a recycled pid is never ours, wait for its "READY" line, stop
 * it, read the tail of its log. Knows no engine's command line. */
#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

unsigned long long engine_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may contain spaces and ')': fields resume after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (*p == 'Z' || *p == 'X') /* zombie or dead: gone for our purposes */
		return 0;
	/* field 3 is state; start time is field 22, i.e. 19 more fields on. */
	for (int f = 3; f < 22; f++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	return strtoull(p, NULL, 10);
}

bool engine_proc_alive(const struct engine_proc *p)
{
	if (!p || p->pid <= 0)
		return false;
	unsigned long long st = engine_proc_start_time(p->pid);
	return st != 0 && st == p->start_time;
}

void engine_proc_kill(const struct engine_proc *p, int sig)
{
	if (engine_proc_alive(p))
		kill(p->pid, sig);
}

bool engine_proc_wait_exit(const struct engine_proc *p, int timeout_ms)
{
	for (int waited = 0;; waited += 50) {
		if (!engine_proc_alive(p))
			return true;
		if (waited >= timeout_ms)
			return false;
		/* A child of ours (tests) would stay a zombie: reap it if so. */
		waitpid(p->pid, NULL, WNOHANG);
		usleep(50 * 1000);
	}
}

void engine_log_tail(const char *path, int lines, char *out, size_t outlen)
{
	char buf[4096];
	if (!outlen)
		return;
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* Trim trailing newlines, then walk back @lines non-empty lines. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	char *start = buf + n;
	int seen = 0;
	while (start > buf) {
		if (start[-1] == '\n' && ++seen == lines)
			break;
		start--;
	}
	size_t o = 0;
	for (char *c = start; *c && o + 4 < outlen; c++) {
		if (*c == '\n') {
			if (o && out[o - 1] != ' ') {
				memcpy(out + o, " | ", 3);
				o += 3;
			}
		} else if ((unsigned char)*c >= 0x20 && *c != 0x7f) {
			out[o++] = *c;
		}
	}
	out[o] = '\0';
}

/* Look @prog up in PATH (execv needs a path; execvp is not safe after fork in a threaded
 * process). Return 0 with @out filled, or -1. */
static int find_exe(const char *prog, char *out, size_t outlen)
{
	if (strchr(prog, '/')) {
		snprintf(out, outlen, "%s", prog);
		return access(out, X_OK);
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		int n = snprintf(out, outlen, "%.*s/%s", (int)len, path, prog);
		if (n > 0 && (size_t)n < outlen && access(out, X_OK) == 0)
			return 0;
		if (!colon)
			break;
		path = colon + 1;
	}
	return -1;
}

/* After fork in the grandchild: only async-signal-safe calls until exec. */
static void __attribute__((noreturn))
child_exec(const char *exe, char *const argv[], const char *log, int keep_fd, int err_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int ew = fcntl(err_fd, F_DUPFD_CLOEXEC, 100);
	int kf = keep_fd >= 0 ? fcntl(keep_fd, F_DUPFD, 100) : -1;
	int nul = open("/dev/null", O_RDONLY);
	int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	int e = 0;
	if (ew < 0 || nul < 0 || lf < 0 || (keep_fd >= 0 && kf < 0))
		e = errno ? errno : EIO;
	if (!e && (dup2(nul, 0) < 0 || dup2(lf, 1) < 0 || dup2(lf, 2) < 0))
		e = errno;
	if (!e && kf >= 0 && dup2(kf, 3) < 0)
		e = errno;
	if (!e && (dup2(ew, 4) < 0 || fcntl(4, F_SETFD, FD_CLOEXEC) < 0))
		e = errno;
	if (e) {
		if (ew >= 0 && write(ew, &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	if (kf < 0)
		close(3);
	close_range(5, ~0U, 0);
	execv(exe, argv);
	e = errno;
	if (write(4, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int engine_spawn_detached(char *const argv[], const char *log, int keep_fd, struct engine_proc *out,
			  char *err, size_t errlen)
{
	char exe[PATH_MAX];
	int info[2], ep[2];
	pid_t grand = -1;

	memset(out, 0, sizeof(*out));
	if (find_exe(argv[0], exe, sizeof(exe)) < 0) {
		snprintf(err, errlen, "%s not found (install it, or check PATH)", argv[0]);
		return -1;
	}
	if (pipe2(info, O_CLOEXEC) < 0)
		goto syserr;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(info[0]);
		close(info[1]);
		goto syserr;
	}
	pid_t c = fork();
	if (c < 0) {
		close(info[0]);
		close(info[1]);
		close(ep[0]);
		close(ep[1]);
		goto syserr;
	}
	if (c == 0) {
		setsid();
		pid_t g = fork();
		if (g == 0)
			child_exec(exe, argv, log, keep_fd, ep[1]);
		if (g < 0 || write(info[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	close(info[1]);
	close(ep[1]);
	int st;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	ssize_t n = read(info[0], &grand, sizeof(grand));
	close(info[0]);
	if (n != sizeof(grand) || grand <= 0) {
		close(ep[0]);
		snprintf(err, errlen, "cannot start %s: fork failed", argv[0]);
		return -1;
	}
	/* Blocks only until exec (the CLOEXEC pipe closes) or an exec error arrives. */
	int e = 0;
	struct pollfd pfd = {.fd = ep[0], .events = POLLIN};
	if (poll(&pfd, 1, 10000) == 1)
		n = read(ep[0], &e, sizeof(e));
	else
		n = 0;
	close(ep[0]);
	if (n == sizeof(e) && e) {
		snprintf(err, errlen, "cannot start %s: %s", exe, strerror(e));
		return -1;
	}
	out->pid = grand;
	out->start_time = engine_proc_start_time(grand);
	if (!out->start_time) {
		snprintf(err, errlen, "%s exited at once (see %s)", argv[0], log);
		return -1;
	}
	return 0;
syserr:
	snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(errno));
	return -1;
}

int engine_wait_ready(int fd, int timeout_ms, bool *timed_out)
{
	char buf[64];
	size_t len = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*timed_out = false;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= timeout_ms) {
			*timed_out = true;
			return -1;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)(timeout_ms - el));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "READY\n"))
			return 0;
		if (len >= sizeof(buf) - 1)
			return -1;
	}
}

void engine_proc_stop(const struct engine_proc *p, int grace_ms)
{
	if (engine_proc_wait_exit(p, grace_ms))
		return;
	engine_proc_kill(p, SIGTERM);
	if (engine_proc_wait_exit(p, 3000))
		return;
	engine_proc_kill(p, SIGKILL);
	engine_proc_wait_exit(p, 2000);
}
