/* Unit tests of sbx-vmm's per-thread seccomp filters (src/vmm/seccomp.c, src/vmm/syscalls.c):
 * in a forked child per case, a thread loads a role's filter, makes a listed call (it works),
 * then an unlisted one — the parent must see the whole child killed by SIGSYS. Also the argument
 * filters (socket only AF_UNIX, ioctl only KVM requests, clone only threads, kill only self) and
 * that filters are per thread (no TSYNC). */
#include "vmm/seccomp.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* What a case reports before its last call: 'A' = the listed calls behaved. */
static int report_fd = -1;

static void ok(void)
{
	char c = 'A';

	if (write(report_fd, &c, 1) != 1)
		_exit(3);
}

static void install(enum vmm_role role)
{
	char err[256];

	if (vmm_seccomp_install(role, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		_exit(2);
	}
}

/* Run @fn in a child; return its wait status and set *@reported to whether it called ok(). */
static int run(void (*fn)(void), int *reported)
{
	int p[2], st = 0;
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		fn();
		_exit(0);
	}
	close(p[1]);
	*reported = read(p[0], &c, 1) == 1 && c == 'A';
	close(p[0]);
	waitpid(pid, &st, 0);
	return st;
}

#define KILLED_BY_SIGSYS(st) (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)

static void do_execve(void)
{
	char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};

	syscall(SYS_execve, "/bin/true", argv, envp);
}

/* Listed for every role: getpid, clock_gettime, write, mmap/munmap, futex (a mutex). */
static void common_calls(void)
{
	struct timespec ts;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, 65536) < 0 || syscall(SYS_getpid) != getpid() ||
	    clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		_exit(4);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	free(malloc(1 << 20)); /* a big allocation: mmap, then munmap */
	ok();
}

static enum vmm_role cur_role;

static void exec_case(void)
{
	install(cur_role);
	common_calls();
	do_execve();
}

static void ptrace_case(void)
{
	install(cur_role);
	common_calls();
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
}

TEST(every_role_kills_execve_and_ptrace)
{
	for (int r = 0; r < VMM_ROLE_COUNT; r++) {
		int rep, st;

		cur_role = (enum vmm_role)r;
		st = run(exec_case, &rep);
		CHECK(rep);
		CHECK(KILLED_BY_SIGSYS(st));
		st = run(ptrace_case, &rep);
		CHECK(rep);
		CHECK(KILLED_BY_SIGSYS(st));
		if (!rep || !KILLED_BY_SIGSYS(st))
			fprintf(stderr, "role %s: status 0x%x\n", vmm_role_name(cur_role), st);
	}
}

static void vcpu_inet_case(void)
{
	install(VMM_ROLE_VCPU);
	/* a KVM request is let through to the kernel: EBADF on a closed fd */
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		_exit(4);
	ok();
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

static void vcpu_tty_ioctl_case(void)
{
	struct termios t;

	install(VMM_ROLE_VCPU);
	if (ioctl(-1, KVM_GET_REGS, 0) != -1 || errno != EBADF)
		_exit(4);
	ok();
	syscall(SYS_ioctl, 0, TCGETS, &t); /* not a KVM request */
}

static void vcpu_create_vm_case(void)
{
	install(VMM_ROLE_VCPU);
	ok();
	syscall(SYS_ioctl, -1, KVM_CREATE_VM, 0); /* a KVM request, but not a vCPU one */
}

TEST(vcpu_role_ioctl_and_socket)
{
	int rep, st;

	st = run(vcpu_inet_case, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
	st = run(vcpu_tty_ioctl_case, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
	st = run(vcpu_create_vm_case, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
}

static void device_unix_ok_inet_killed(void)
{
	int fd;

	install(VMM_ROLE_DEVICE);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		_exit(4);
	close(fd);
	ok();
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

static void device_inet6_killed(void)
{
	install(VMM_ROLE_DEVICE);
	ok();
	syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
}

static void device_bind_killed(void)
{
	int fd;

	install(VMM_ROLE_DEVICE);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(4);
	ok();
	syscall(SYS_bind, fd, NULL, 0); /* listening sockets are made before the jail */
}

TEST(device_role_socket_only_unix)
{
	int rep, st;

	st = run(device_unix_ok_inet_killed, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
	st = run(device_inet6_killed, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
	st = run(device_bind_killed, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
}

static void fs_open_ok_socket_killed(void)
{
	char buf[16];
	int fd;

	install(VMM_ROLE_FS);
	fd = openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (syscall(SYS_getdents64, fd, buf, sizeof(buf)) < 0 && errno != EINVAL))
		_exit(4);
	close(fd);
	ok();
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); /* fs workers talk to no socket */
}

static void fs_ioctl_killed(void)
{
	install(VMM_ROLE_FS);
	ok();
	syscall(SYS_ioctl, -1, KVM_RUN, 0);
}

TEST(fs_role)
{
	int rep, st;

	st = run(fs_open_ok_socket_killed, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
	st = run(fs_ioctl_killed, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
}

static void *idle_thread(void *arg)
{
	return arg;
}

static void control_thread_ok_fork_killed(void)
{
	pthread_t t;

	install(VMM_ROLE_CONTROL);
	if (pthread_create(&t, NULL, idle_thread, NULL) != 0 || pthread_join(t, NULL) != 0)
		_exit(4);
	/* clone3 is refused softly so that glibc falls back to the filtered clone */
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		_exit(5);
	ok();
	syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); /* fork: a process, not a thread */
}

static void control_kill_other_killed(void)
{
	pid_t parent = getppid();

	install(VMM_ROLE_CONTROL);
	if (kill(getpid(), 0) < 0)
		_exit(4);
	ok();
	kill(parent, 0);
}

static void control_kill_peer_ok(void)
{
	char err[256];
	pid_t parent = getppid(); /* getppid itself is not listed */

	if (vmm_seccomp_install(VMM_ROLE_CONTROL, parent, err, sizeof(err)) < 0)
		_exit(2);
	if (kill(parent, 0) < 0)
		_exit(4);
	ok();
	kill(1, 0);
}

TEST(control_role_threads_and_signals)
{
	int rep, st;

	st = run(control_thread_ok_fork_killed, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
	st = run(control_kill_other_killed, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
	st = run(control_kill_peer_ok, &rep);
	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
}

/* A vCPU thread's filter binds that thread only; its bad call still kills the whole process. */
static void *vcpu_thread(void *arg)
{
	install(VMM_ROLE_VCPU);
	if (*(int *)arg)
		do_execve();
	return NULL;
}

static void per_thread_case(void)
{
	pthread_t t;
	int die = 0, fd;

	if (pthread_create(&t, NULL, vcpu_thread, &die) != 0 || pthread_join(t, NULL) != 0)
		_exit(4);
	fd = socket(AF_INET, SOCK_DGRAM, 0); /* the main thread is still unfiltered */
	if (fd < 0)
		_exit(5);
	close(fd);
	ok();
	die = 1;
	if (pthread_create(&t, NULL, vcpu_thread, &die) != 0)
		_exit(6);
	pthread_join(t, NULL);
	_exit(0);
}

TEST(filters_are_per_thread_kill_is_per_process)
{
	int rep, st = run(per_thread_case, &rep);

	CHECK(rep);
	CHECK(KILLED_BY_SIGSYS(st));
}

TEST(tables_resolve)
{
	const struct vmm_syscall_list *c = vmm_syscalls_common();
	size_t n;

	CHECK(c->n > 0);
	for (size_t i = 0; i < c->n; i++)
		CHECK(seccomp_syscall_resolve_name(c->names[i]) != __NR_SCMP_ERROR);
	for (int r = 0; r < VMM_ROLE_COUNT; r++) {
		const struct vmm_syscall_list *l = vmm_syscalls_role((enum vmm_role)r);

		CHECK(l && l->n > 0);
		for (size_t i = 0; l && i < l->n; i++)
			CHECK(seccomp_syscall_resolve_name(l->names[i]) != __NR_SCMP_ERROR);
	}
	CHECK(vmm_syscalls_role(VMM_ROLE_COUNT) == NULL);
	CHECK(vmm_kvm_vcpu_ioctls(&n)[0] == KVM_RUN && n > 1);
	CHECK_STR(vmm_role_name(VMM_ROLE_FS), "fs");
}

int main(void)
{
	RUN(tables_resolve);
	RUN(every_role_kills_execve_and_ptrace);
	RUN(vcpu_role_ioctl_and_socket);
	RUN(device_role_socket_only_unix);
	RUN(fs_role);
	RUN(control_role_threads_and_signals);
	RUN(filters_are_per_thread_kill_is_per_process);
	T_EXIT();
}
