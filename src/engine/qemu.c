/* The qemu engine: builds the QEMU microvm command line, starts sbx-vhost and QEMU as
 * detached daemons (they must outlive sbxd), stops them, and the process helpers engines
 * share (pid + start time identity, log tails). Never talks to the guest or the store. */
#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VHOST_READY_MS 5000

const struct engine_ops *engine_find(const char *name)
{
	if (name && strcmp(name, "qemu") == 0)
		return &engine_qemu;
	return NULL;
}

/* Append one formatted argument to @out. Return 0 or -1 if full. */
static int arg_add(struct engine_argv *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int arg_add(struct engine_argv *out, const char *fmt, ...)
{
	if (out->argc >= ENGINE_ARGV_MAX - 1)
		return -1;
	size_t room = sizeof(out->buf) - out->used;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out->buf + out->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -1;
	out->argv[out->argc++] = out->buf + out->used;
	out->argv[out->argc] = NULL;
	out->used += (size_t)n + 1;
	return 0;
}

/* QEMU option values escape ',' as ",,". Return 0 or -1 if @out is too small. */
static int qemu_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	for (; *in; in++) {
		size_t need = (*in == ',') ? 2 : 1;
		if (o + need >= outlen)
			return -1;
		out[o++] = *in;
		if (*in == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
	return 0;
}

#define A(...)                                                                                     \
	do {                                                                                       \
		if (arg_add(out, __VA_ARGS__) < 0)                                                 \
			return -1;                                                                 \
	} while (0)

int engine_shares_cmdline(const struct engine_share *shares, unsigned n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	int w;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (!n)
		return 0;
	w = snprintf(out, outlen, "sbx.shares=");
	if (w < 0 || (size_t)w >= outlen)
		return -1;
	o = (size_t)w;
	for (unsigned i = 0; i < n; i++) {
		w = snprintf(out + o, outlen - o, "%s" ENGINE_SHARE_TAG "%u:", i ? ";" : "", i);
		if (w < 0 || (size_t)w >= outlen - o)
			return -1;
		o += (size_t)w;
		for (const unsigned char *c = (const unsigned char *)shares[i].path; *c; c++) {
			bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				     (*c >= '0' && *c <= '9') || *c == '/' || *c == '.' ||
				     *c == '_' || *c == '-';
			if (o + (plain ? 1 : 3) >= outlen)
				return -1;
			if (plain) {
				out[o++] = (char)*c;
			} else {
				out[o++] = '%';
				out[o++] = hex[*c >> 4];
				out[o++] = hex[*c & 15];
			}
		}
		w = snprintf(out + o, outlen - o, ":%s",
			     shares[i].file	  ? "rofile"
			     : shares[i].readonly ? "ro"
						  : "rw");
		if (w < 0 || (size_t)w >= outlen - o)
			return -1;
		o += (size_t)w;
	}
	return (int)o;
}

/* The fixed part of the kernel command line. Return its length or -1 if too long. */
static int base_cmdline(const struct engine_vm_spec *s, char *out, size_t outlen)
{
	int n = snprintf(out, outlen,
			 "console=ttyS0 reboot=t panic=-1 pci=off quiet sbx.name=%s sbx.time=%lld",
			 s->name, (long long)s->now);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	if (s->accel != ENGINE_ACCEL_KVM && s->tsc_khz > 0) {
		int m =
		    snprintf(out + n, outlen - (size_t)n, " tsc_early_khz=%ld lpj=%ld tsc=reliable",
			     s->tsc_khz, s->tsc_khz * 4);
		if (m < 0 || (size_t)m >= outlen - (size_t)n)
			return -1;
		n += m;
	}
	return n;
}

size_t engine_cmdline_room(const struct engine_vm_spec *spec)
{
	char buf[ENGINE_CMDLINE_MAX];
	struct engine_vm_spec s = *spec;
	int n;

	if (s.now < 10000000000LL)
		s.now = 9999999999LL; /* room for any clock value of the next centuries */
	n = base_cmdline(&s, buf, sizeof(buf));
	if (n < 0 || (size_t)n + 2 >= sizeof(buf))
		return 0;
	return sizeof(buf) - (size_t)n - 2; /* the separating space and the NUL */
}

int qemu_build_argv(const struct engine_vm_spec *s, struct engine_argv *out)
{
	char e1[PATH_MAX * 2], e2[PATH_MAX * 2], cmdline[ENGINE_CMDLINE_MAX];
	bool kvm = s->accel == ENGINE_ACCEL_KVM;
	int n;

	memset(out, 0, sizeof(*out));
	if (s->n_shares > ENGINE_SHARES_MAX || (s->n_shares && (!s->shares || !s->run_dir)))
		return -1;
	n = base_cmdline(s, cmdline, sizeof(cmdline));
	if (n < 0)
		return -1;
	if (s->n_shares) {
		cmdline[n++] = ' ';
		if (engine_shares_cmdline(s->shares, s->n_shares, cmdline + n,
					  sizeof(cmdline) - (size_t)n) < 0)
			return -1;
	}
	A("%s", s->qemu_bin ? s->qemu_bin : "qemu-system-x86_64");
	A("-M");
	A("microvm,acpi=on");
	A("-accel");
	A("%s", kvm ? "kvm" : "tcg");
	/* TCG: every feature QEMU can emulate (AVX2 among them): agent CLIs built with Bun
	 * (claude, opencode) die with SIGILL on the default qemu64 model */
	A("-cpu");
	A("%s", kvm ? "host" : "max");
	A("-m");
	A("%u", s->memory_mib);
	A("-smp");
	A("%u", s->cpus);
	A("-nodefaults");
	A("-no-user-config");
	A("-nographic");
	A("-no-reboot");
	A("-serial");
	A("file:%s", s->console_log);
	A("-kernel");
	A("%s", s->kernel);
	A("-initrd");
	A("%s", s->initramfs);
	A("-append");
	A("%s", cmdline);
	A("-global");
	A("virtio-mmio.force-legacy=false");
	A("-object");
	A("memory-backend-memfd,id=mem,size=%uM,share=on", s->memory_mib);
	A("-machine");
	A("memory-backend=mem");
	if (qemu_escape(s->rootfs, e1, sizeof(e1)) < 0 ||
	    qemu_escape(s->state_img, e2, sizeof(e2)) < 0)
		return -1;
	A("-drive");
	A("file=%s,if=none,id=base,format=raw,readonly=on", e1);
	A("-device");
	A("virtio-blk-device,drive=base,serial=sbx-base");
	A("-drive");
	A("file=%s,if=none,id=state,format=raw,discard=unmap", e2);
	A("-device");
	A("virtio-blk-device,drive=state,serial=sbx-state");
	if (qemu_escape(s->vhost_socket, e1, sizeof(e1)) < 0)
		return -1;
	A("-chardev");
	A("socket,id=vsock0,path=%s", e1);
	A("-device");
	A("vhost-user-vsock-device,chardev=vsock0");
	for (unsigned i = 0; i < s->n_shares; i++) {
		char sock[PATH_MAX];
		n = snprintf(sock, sizeof(sock), "%s/fs%u.sock", s->run_dir, i);
		if (n < 0 || (size_t)n >= sizeof(sock) || qemu_escape(sock, e1, sizeof(e1)) < 0)
			return -1;
		A("-chardev");
		A("socket,id=fs%u,path=%s", i, e1);
		A("-device");
		A("vhost-user-fs-device,chardev=fs%u,tag=" ENGINE_SHARE_TAG "%u,queue-size=1024", i,
		  i);
	}

	return 0;
}
#undef A

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

/* Wait up to VHOST_READY_MS for "READY\n" on @fd. Return 0, or -1 (EOF/timeout). */
static int wait_ready(int fd, bool *timed_out)
{
	char buf[64];
	size_t len = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*timed_out = false;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= VHOST_READY_MS) {
			*timed_out = true;
			return -1;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)(VHOST_READY_MS - el));
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

static void qemu_stop(struct engine_run *run, int grace_ms)
{
	if (!engine_proc_wait_exit(&run->vmm, grace_ms)) {
		engine_proc_kill(&run->vmm, SIGTERM);
		if (!engine_proc_wait_exit(&run->vmm, 3000)) {
			engine_proc_kill(&run->vmm, SIGKILL);
			engine_proc_wait_exit(&run->vmm, 2000);
		}
	}
	/* sbx-vhost exits by itself once QEMU closes the vhost-user socket. */
	if (!engine_proc_wait_exit(&run->vhost, 2000)) {
		engine_proc_kill(&run->vhost, SIGTERM);
		if (!engine_proc_wait_exit(&run->vhost, 2000)) {
			engine_proc_kill(&run->vhost, SIGKILL);
			engine_proc_wait_exit(&run->vhost, 2000);
		}
	}
}

#define A(...)                                                                                     \
	do {                                                                                       \
		if (arg_add(out, __VA_ARGS__) < 0)                                                 \
			return -1;                                                                 \
	} while (0)

int vhost_build_argv(const struct engine_vm_spec *s, struct engine_argv *out)
{
	memset(out, 0, sizeof(*out));
	if (s->n_shares > ENGINE_SHARES_MAX || (s->n_shares && (!s->shares || !s->run_dir)))
		return -1;
	A("%s", s->vhost_bin);
	A("--vsock-socket");
	A("%s", s->vhost_socket);
	A("--uds");
	A("%s", s->vsock_uds);
	A("--cid");
	A("3");
	A("--ready-fd");
	A("3");
	A("--log");
	A("%s", s->vhost_log);
	if (s->n_shares) {
		A("--owner");
		A("%u:%u", (unsigned)s->owner_uid, (unsigned)s->owner_gid);
	}
	for (unsigned i = 0; i < s->n_shares; i++) {
		const char *p = s->shares[i].host_path ? s->shares[i].host_path : s->shares[i].path;
		const char *slash = strrchr(p, '/');

		A("--fs-socket");
		A("%s/fs%u.sock", s->run_dir, i);
		A("--fs-tag");
		A(ENGINE_SHARE_TAG "%u", i);
		A("--fs-path");
		if (s->shares[i].file) {
			/* the file's directory, showing only the file */
			if (!s->shares[i].readonly || !slash || !slash[1])
				return -1;
			A("%.*s", slash == p ? 1 : (int)(slash - p), p);
			A("--fs-ro");
			A("--fs-file");
			A("%s", slash + 1);
			continue;
		}
		A("%s", p);
		if (s->shares[i].readonly)
			A("--fs-ro");
	}
	return 0;
}
#undef A

static int qemu_start(const struct engine_vm_spec *s, struct engine_run *run, char *err,
		      size_t errlen)
{
	struct engine_argv *qa = malloc(sizeof(*qa));
	char tail[1024];
	int ready[2];
	bool timed_out;

	memset(run, 0, sizeof(*run));
	if (!qa || qemu_build_argv(s, qa) < 0) {
		free(qa);
		snprintf(err, errlen, "QEMU command line too long (use shorter paths)");
		return -1;
	}
	struct engine_argv *va = malloc(sizeof(*va));
	if (!va || vhost_build_argv(s, va) < 0) {
		free(qa);
		free(va);
		snprintf(err, errlen, "sbx-vhost command line too long (use shorter paths)");
		return -1;
	}
	if (pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		free(qa);
		free(va);
		return -1;
	}
	int rc = engine_spawn_detached(va->argv, s->vhost_log, ready[1], &run->vhost, err, errlen);
	free(va);
	close(ready[1]);
	if (rc == 0 && wait_ready(ready[0], &timed_out) < 0) {
		engine_log_tail(s->vhost_log, 3, tail, sizeof(tail));
		snprintf(err, errlen, "sbx-vhost %s: %s", timed_out ? "not ready in 5 s" : "failed",
			 tail[0] ? tail : "no output");
		engine_proc_kill(&run->vhost, SIGKILL);
		engine_proc_wait_exit(&run->vhost, 2000);
		rc = -1;
	}
	close(ready[0]);
	if (rc < 0) {
		free(qa);
		return -1;
	}
	rc = engine_spawn_detached(qa->argv, s->engine_log, -1, &run->vmm, err, errlen);
	free(qa);
	if (rc < 0) {
		engine_log_tail(s->engine_log, 3, tail, sizeof(tail));
		if (tail[0]) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, ": %s", tail);
		}
		engine_proc_kill(&run->vhost, SIGTERM);
		engine_proc_wait_exit(&run->vhost, 2000);
		engine_proc_kill(&run->vhost, SIGKILL);
		return -1;
	}
	return 0;
}

const struct engine_ops engine_qemu = {
    .name = "qemu",
    .start = qemu_start,
    .stop = qemu_stop,
};
