/* sbx-vmm's jail (see jail.h): namespaces, private mounts, capabilities, no_new_privs, and the
 * supervisor left outside the new pid namespace. Every refused step is one error line naming
 * the step, errno and what to do; nothing is skipped silently but the bounding set without
 * CAP_SETPCAP (documented in jail.h). */
#include "vmm/jail.h"
#include "vmm/seccomp.h"

#include "common/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define JAIL_NS_FLAGS (CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET)
#define USERNS_HINT                                                                                \
	"unprivileged user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=1 "    \
	"(or kernel.apparmor_restrict_unprivileged_userns=0), or run sbx-vmm with --no-jail"

static volatile pid_t vm_pid;

/* Number of threads of this process, or -1. Syscalls: openat, getdents64. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Write @s to @path (a /proc/self file). Return 0 or -1, errno set. Syscalls: openat, write. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* Not root: a user namespace in which the caller's ids map to themselves. */
static int enter_userns(char *err, size_t errlen)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (unshare(CLONE_NEWUSER) < 0) {
		int e = errno;

		if (e == EPERM || e == EACCES || e == ENOSPC)
			snprintf(err, errlen, "jail: unshare(CLONE_NEWUSER): %s (%s)", strerror(e),
				 USERNS_HINT);
		else
			snprintf(err, errlen,
				 "jail: unshare(CLONE_NEWUSER): %s (run sbx-vmm with --no-jail)",
				 strerror(e));
		return -1;
	}
	if (write_file("/proc/self/setgroups", "deny") < 0) {
		snprintf(err, errlen,
			 "jail: writing /proc/self/setgroups: %s (kernel too old for unprivileged "
			 "user namespaces; run sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0) {
		snprintf(err, errlen,
			 "jail: writing /proc/self/uid_map: %s (run sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) < 0) {
		snprintf(err, errlen,
			 "jail: writing /proc/self/gid_map: %s (run sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Phase 1: the user namespace (not root) and the pid namespace for the children to come. */
static int enter_pid_ns(char *err, size_t errlen)
{
	if (geteuid() != 0 && enter_userns(err, errlen) < 0)
		return -1;
	if (unshare(CLONE_NEWPID) < 0) {
		snprintf(err, errlen, "jail: unshare(CLONE_NEWPID): %s (%s)", strerror(errno),
			 errno == EPERM
			     ? "run sbx-vmm as root or with user namespaces allowed, or "
			       "with --no-jail"
			     : "a kernel without pid namespaces: run sbx-vmm with --no-jail");
		return -1;
	}
	return 0;
}

/* Phase 2: the other namespaces, private mounts and the host name. */
static int enter_namespaces(const struct vmm_jail_cfg *cfg, char *err, size_t errlen)
{
	const char *host = cfg && cfg->hostname ? cfg->hostname : "sbx-vmm";

	if (unshare(JAIL_NS_FLAGS) < 0) {
		snprintf(err, errlen, "jail: unshare(mount, ipc, uts, net namespaces): %s (%s)",
			 strerror(errno),
			 errno == EPERM
			     ? "run sbx-vmm as root or with user namespaces allowed, or "
			       "with --no-jail"
			     : "a kernel without these namespaces: run sbx-vmm with --no-jail");
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(err, errlen,
			 "jail: making mounts private: %s (run sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	if (sethostname(host, strlen(host)) < 0) {
		snprintf(err, errlen, "jail: sethostname %s: %s (pick a name of at most 64 bytes)",
			 host, strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * drop_caps() - every capability gone for good and no_new_privs set.
 * Syscalls: prctl, capset, capget.
 */
static int drop_caps(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		      SECBIT_NOROOT | SECBIT_NOROOT_LOCKED,
		  0, 0, 0) < 0) {
		snprintf(err, errlen, "jail: locking securebits: %s (run sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	for (unsigned long cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM) {
			snprintf(err, errlen,
				 "jail: dropping capability %lu from the bounding set: %s (run "
				 "sbx-vmm with --no-jail)",
				 cap, strerror(errno));
			return -1;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		snprintf(err, errlen,
			 "jail: clearing ambient capabilities: %s (run sbx-vmm with "
			 "--no-jail)",
			 strerror(errno));
		return -1;
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0) {
		snprintf(err, errlen, "jail: capset to none: %s (run sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	if (syscall(SYS_capget, &hdr, data) < 0 || data[0].effective || data[1].effective ||
	    data[0].permitted || data[1].permitted) {
		snprintf(err, errlen,
			 "jail: capabilities still held after capset (run sbx-vmm with "
			 "--no-jail)");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen,
			 "jail: PR_SET_NO_NEW_PRIVS: %s (a kernel older than 3.5: run "
			 "sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

/* Seconds the VMM gets to end by itself after a stop signal (sbx-vmm takes SIGTERM through
 * its signalfd and removes its sockets) before SIGKILL. */
#define STOP_GRACE_S 3

static void on_stop_signal(int sig)
{
	if (vm_pid <= 0)
		return;
	if (sig == SIGQUIT) {
		kill(vm_pid, SIGKILL);
		return;
	}
	kill(vm_pid, SIGTERM); /* delivered: the VMM blocks it, so PID 1 does not ignore it */
	alarm(STOP_GRACE_S);
}

static void on_grace_over(int sig)
{
	(void)sig;
	if (vm_pid > 0)
		kill(vm_pid, SIGKILL);
}

/* The parent outside the pid namespace: wait for the VMM and exit with its status. The stop
 * signals are blocked since before the fork (@old: the mask to go back to), so none is lost. */
static _Noreturn void supervise(const struct vmm_jail_cfg *cfg, pid_t pid, const sigset_t *old)
{
	struct sigaction sa;
	char err[256];
	int st;

	vm_pid = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaction(stop_signals[i], &sa, NULL);
	sa.sa_handler = on_grace_over;
	sigaction(SIGALRM, &sa, NULL);
	sigprocmask(SIG_SETMASK, old, NULL);
	/* copies of the VMM's sockets would hide a closed connection from its peer */
	if (close_range(3, ~0u, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	if (drop_caps(err, sizeof(err)) < 0 ||
	    (!(cfg && cfg->no_supervisor_seccomp) &&
	     vmm_seccomp_install(VMM_ROLE_CONTROL, pid, err, sizeof(err)) < 0)) {
		sbx_err("%s", err);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* Refuse a multi-threaded caller: unshare(CLONE_NEWUSER/CLONE_NEWNS) would, and fork keeps
 * only the calling thread. */
static int single_threaded(const char *step, char *err, size_t errlen)
{
	int n = thread_count();

	if (n == 1)
		return 0;
	snprintf(err, errlen,
		 "jail: %s with %d threads running (call it before starting any: a bug "
		 "in sbx-vmm)",
		 step, n);
	return -1;
}

int vmm_jail_fork(const struct vmm_jail_cfg *cfg, char *err, size_t errlen)
{
	sigset_t stops, old;
	pid_t pid;

	if (single_threaded("vmm_jail_fork", err, errlen) < 0 || enter_pid_ns(err, errlen) < 0)
		return -1;
	sigemptyset(&stops);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&stops, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &stops, &old);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		snprintf(err, errlen,
			 "jail: fork into the new pid namespace: %s (raise the process limit)",
			 strerror(errno));
		return -1;
	}
	if (pid > 0)
		supervise(cfg, pid, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* the supervisor dying before this line leaves a VMM that still ends on its own */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		snprintf(err, errlen, "jail: PR_SET_PDEATHSIG: %s (run sbx-vmm with --no-jail)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int vmm_jail_lock(const struct vmm_jail_cfg *cfg, char *err, size_t errlen)
{
	if (single_threaded("vmm_jail_lock", err, errlen) < 0 ||
	    enter_namespaces(cfg, err, errlen) < 0)
		return -1;
	return drop_caps(err, errlen);
}

int vmm_jail_enter(const struct vmm_jail_cfg *cfg, char *err, size_t errlen)
{
	if (vmm_jail_fork(cfg, err, errlen) < 0)
		return -1;
	return vmm_jail_lock(cfg, err, errlen);
}
