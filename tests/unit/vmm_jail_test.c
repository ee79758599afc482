/* Unit tests of sbx-vmm's jail (src/vmm/jail.c): in a forked child per case, enter the jail and
 * check from inside: PID 1 of a new pid namespace (its own children see parent 1), no network
 * interface but "lo", and that one down, no capability at all, NoNewPrivs 1, the UTS name; as
 * root and as an unprivileged user (a user namespace first); in two phases with a unix socket
 * path outside still reachable (hybrid vsock needs that). Also that the supervisor passes the
 * VMM's exit status and death by signal on, turns SIGTERM into the VMM's end, and that a
 * multi-threaded caller is refused with one line. */
#include "vmm/jail.h"
#include "vmm/seccomp.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run @fn in a child; return its wait status. */
static int run(int (*fn)(void))
{
	int st = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(fn());
	waitpid(pid, &st, 0);
	return st;
}

static int jail(void)
{
	struct vmm_jail_cfg cfg = {.hostname = "sbx-vmm-test"};
	char err[256];

	if (vmm_jail_enter(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int probe_case(void)
{
	return unshare(geteuid() == 0 ? CLONE_NEWNET : CLONE_NEWUSER) == 0 ? 0 : 1;
}

static int probe_userns_case(void)
{
	return setresuid(65534, 65534, 65534) == 0 && unshare(CLONE_NEWUSER) == 0 ? 0 : 1;
}

/* Can this host make namespaces at all (a container or a userns-restricting sysctl may refuse)?
 * If not, say SKIP: vmm_jail_enter()'s refusal path is what sbx-vmm's users see there. */
static int jail_possible(const char *test, int (*probe)(void))
{
	int st = run(probe);

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 1;
	printf("SKIP %s: this host refuses new namespaces\n", test);
	return 0;
}

/* Value of "@key:" in /proc/self/status as a string (static), or NULL. */
static const char *status_field(const char *key)
{
	static char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	size_t kl = strlen(key);
	const char *v = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = line + kl + 1;
			v += strspn(v, " \t");
			line[strcspn(line, "\n")] = 0;
			break;
		}
	fclose(f);
	return v;
}

/* The checks from inside; returns a bit mask of the failed ones (0: all good). */
static int inside_checks(void)
{
	struct if_nameindex *ifs;
	struct ifreq ifr;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
	char host[64] = "";
	int bad = 0, fd, st = 0, nif = 0;
	pid_t kid;

	if (getpid() != 1)
		bad |= 1;
	kid = fork();
	if (kid == 0)
		_exit(getppid() == 1 ? 0 : 1);
	if (kid < 0 || waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		bad |= 2;
	ifs = if_nameindex();
	for (struct if_nameindex *i = ifs; i && i->if_name; i++, nif++)
		if (strcmp(i->if_name, "lo") != 0)
			bad |= 4;
	if (ifs)
		if_freenameindex(ifs);
	if (nif != 1)
		bad |= 4;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags & IFF_UP))
		bad |= 8;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 &&
	    (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno != ENETUNREACH))
		bad |= 8;
	if (fd >= 0)
		close(fd);
	for (const char *const *k =
		 (const char *const[]){"CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb", NULL};
	     *k; k++) {
		const char *v = status_field(*k);

		if (!v || strspn(v, "0") != strlen(v) || !*v) {
			fprintf(stderr, "%s: %s\n", *k, v ? v : "(none)");
			bad |= 16;
		}
	}
	if (!status_field("NoNewPrivs") || strcmp(status_field("NoNewPrivs"), "1") != 0)
		bad |= 32;
	if (gethostname(host, sizeof(host)) < 0 || strcmp(host, "sbx-vmm-test") != 0)
		bad |= 64;
	if (bad)
		fprintf(stderr, "jail checks failed: mask 0x%x\n", bad);
	return bad;
}

static int as_is_case(void)
{
	if (jail() < 0)
		return 100;
	return inside_checks();
}

TEST(jail_as_current_user)
{
	int st;

	if (!jail_possible("jail_as_current_user", probe_case))
		return;
	st = run(as_is_case);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

static int unprivileged_case(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return 101;
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); /* /proc/self/uid_map is ours again */
	if (jail() < 0)
		return 100;
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
		return 102;
	return inside_checks();
}

TEST(jail_unprivileged_user_namespace)
{
	int st;

	if (geteuid() != 0) {
		printf("SKIP jail_unprivileged_user_namespace: needs root to become nobody "
		       "(jail_as_current_user covered the user namespace)\n");
		return;
	}
	if (!jail_possible("jail_unprivileged_user_namespace", probe_userns_case))
		return;
	st = run(unprivileged_case);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

static char sock_path[108];

/* Phase 1, something opened in between (as sbx-vmm creates its VM), phase 2; then a unix
 * socket path outside the jail (a hybrid vsock "<uds>_<port>") is still reachable. */
static int two_phase_case(void)
{
	struct vmm_jail_cfg cfg = {.hostname = "sbx-vmm-test"};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char err[256];
	int fd, nul;

	if (vmm_jail_fork(&cfg, err, sizeof(err)) < 0)
		return 100;
	if (getpid() != 1 || (nul = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		return 101;
	if (vmm_jail_lock(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 102;
	}
	if (write(nul, "x", 1) != 1)
		return 103;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 104;
	close(fd);
	return inside_checks();
}

TEST(two_phases_keep_unix_paths)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd, st;

	if (!jail_possible("two_phases_keep_unix_paths", probe_case))
		return;
	snprintf(sock_path, sizeof(sock_path), "/tmp/sbx-vmm-jail-test-%d.sock", (int)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	unlink(sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(lfd, 4), 0);
	st = run(two_phase_case);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	close(lfd);
	unlink(sock_path);
}

static int exit7_case(void)
{
	return jail() < 0 ? 100 : 7;
}

static int sigsys_case(void)
{
	char err[256];

	if (jail() < 0 || vmm_seccomp_install(VMM_ROLE_VCPU, 0, err, sizeof(err)) < 0)
		return 100;
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int ready_fd = -1;

static int sleeper_case(void)
{
	if (jail() < 0)
		return 100;
	if (write(ready_fd, "r", 1) != 1)
		return 101;
	for (;;)
		pause();
}

TEST(supervisor_status)
{
	int st, p[2];
	pid_t pid;
	char c;

	if (!jail_possible("supervisor_status", probe_case))
		return;
	st = run(exit7_case);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 7);
	st = run(sigsys_case);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 128 + SIGSYS);

	CHECK_EQ(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		ready_fd = p[1];
		_exit(sleeper_case());
	}
	close(p[1]);
	CHECK_EQ(read(p[0], &c, 1), 1);
	close(p[0]);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 128 + SIGKILL);
}

static void *blocker(void *arg)
{
	int *fd = arg;
	char c;

	return read(*fd, &c, 1) < 0 ? NULL : arg;
}

static int threaded_case(void)
{
	struct vmm_jail_cfg cfg = {0};
	char err[256] = "";
	pthread_t t;
	int p[2], rc;

	if (pipe(p) < 0 || pthread_create(&t, NULL, blocker, &p[0]) != 0)
		return 101;
	rc = vmm_jail_enter(&cfg, err, sizeof(err));
	close(p[1]);
	pthread_join(t, NULL);
	if (rc != -1 || !strstr(err, "2 threads") || strchr(err, '\n'))
		return 102;
	return 0;
}

TEST(threaded_caller_refused)
{
	int st = run(threaded_case);

	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

int main(void)
{
	RUN(jail_as_current_user);
	RUN(jail_unprivileged_user_namespace);
	RUN(two_phases_keep_unix_paths);
	RUN(supervisor_status);
	RUN(threaded_caller_refused);
	T_EXIT();
}
