/* Exec semantics end to end on the host, without a VM: starts `sbx-init --serve-unix` (or uses
 * the one given with --socket PATH) and drives it through agent_connect() + agent_exec_run(),
 * each exec in a child process whose stdin/stdout/stderr the test controls.
 * Never leaves the server or a test process behind (killed on every exit path). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "proto/agent.h"
#include "proto/agent_client.h"
#include "t.h"

static char sock[PATH_MAX];
static char tmpdir[64];
static pid_t server = -1;

struct run {
	int status; /* agent_exec_run's return, or -2 if the client was killed/hung */
	int sig;    /* signal that ended the client process, if any */
	char out[1 << 16], err[4096];
	size_t outlen, errlen;
	long ms;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t slurp(int fd, char *b, size_t cap)
{
	ssize_t n = pread(fd, b, cap - 1, 0);

	b[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

/* Fork a client that runs @o; stdin comes from @in_fd (-1: /dev/null). Returns its pid. */
static pid_t start(const struct agent_exec_opts *o, int in_fd, int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd, st;

		if (in_fd < 0)
			in_fd = open("/dev/null", O_RDONLY);
		dup2(in_fd, 0);
		dup2(out_fd, 1);
		dup2(err_fd, 2);
		fd = agent_connect(sock, SBX_AGENT_PORT, 2000);
		if (fd < 0) {
			fprintf(stderr, "connect: %s\n", strerror(errno));
			_exit(254);
		}
		st = agent_exec_run(fd, o);
		_exit(st < 0 ? 255 : st);
	}
	return pid;
}

/* Wait for @pid at most @ms; kill it if it hangs. */
static void finish(pid_t pid, struct run *r, long t0, int ms)
{
	int st = 0;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (now_ms() - t0 > ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			r->status = -2;
			r->ms = now_ms() - t0;
			return;
		}
		usleep(2000);
	}
	r->ms = now_ms() - t0;
	if (WIFSIGNALED(st)) {
		r->sig = WTERMSIG(st);
		r->status = -2;
	} else {
		r->status = WEXITSTATUS(st) == 255 ? -1 : WEXITSTATUS(st);
	}
}

/* Run @o with @input on stdin (NULL: /dev/null) and capture everything. */
static void run(const struct agent_exec_opts *o, const char *input, size_t inlen, struct run *r)
{
	int out = memfd_create("out", 0), err = memfd_create("err", 0), in = -1;
	long t0 = now_ms();
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (input) {
		in = memfd_create("in", 0);
		if (write(in, input, inlen) != (ssize_t)inlen)
			r->status = -3;
		lseek(in, 0, SEEK_SET);
	}
	pid = start(o, in, out, err);
	finish(pid, r, t0, 15000);
	r->outlen = slurp(out, r->out, sizeof(r->out));
	r->errlen = slurp(err, r->err, sizeof(r->err));
	close(out);
	close(err);
	if (in >= 0)
		close(in);
	if (r->status == -2 || r->status == -1)
		fprintf(stderr, "  client ended: status %d sig %d err: %s\n", r->status, r->sig,
			r->err);
}

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

static struct run R;

TEST(exit_codes)
{
	struct agent_exec_opts o = {.argv = ARGV("true"), .user = "root"};

	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 0);
	o.argv = ARGV("sh", "-c", "exit 3");
	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 3);
	o.argv = ARGV("sh", "-c", "kill -9 $$");
	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 137);
}

TEST(stdout_stderr_apart)
{
	struct agent_exec_opts o = {.argv = ARGV("sh", "-c", "echo out; echo err >&2; echo out2"),
				    .user = "root"};

	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 0);
	CHECK_STR(R.out, "out\nout2\n");
	CHECK_STR(R.err, "err\n");
}

TEST(stdin_eof)
{
	struct agent_exec_opts o = {.argv = ARGV("cat"), .user = "root", .interactive = true};

	run(&o, "hello\nworld\n", 12, &R);
	CHECK_EQ(R.status, 0);
	CHECK_STR(R.out, "hello\nworld\n");
	o.interactive = false; /* without -i the process's stdin is empty */
	run(&o, "ignored\n", 8, &R);
	CHECK_EQ(R.status, 0);
	CHECK_EQ(R.outlen, 0);
}

TEST(big_stdin_stdout)
{
	size_t n = 3 << 20;
	char *big = malloc(n);
	struct agent_exec_opts o = {
	    .argv = ARGV("sh", "-c", "cat | md5sum; head -c 5000000 /dev/zero | wc -c"),
	    .user = "root",
	    .interactive = true};

	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 23);
	run(&o, big, n, &R);
	CHECK_EQ(R.status, 0);
	{
		char cmd[PATH_MAX + 64], sum[128] = "";
		FILE *f;
		int fd;

		snprintf(cmd, sizeof(cmd), "%s/big", tmpdir);
		fd = open(cmd, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		CHECK(write(fd, big, n) == (ssize_t)n);
		close(fd);
		snprintf(cmd, sizeof(cmd), "md5sum < %s/big", tmpdir);
		f = popen(cmd, "r");
		CHECK(fgets(sum, sizeof(sum), f) != NULL);
		pclose(f);
		strcat(sum, "5000000\n");
		CHECK_STR(R.out, sum);
	}
	free(big);
}

TEST(env_and_cwd)
{
	struct agent_exec_opts o = {.argv =
					ARGV("sh", "-c", "echo $FOO; pwd; echo $LANG; echo $HOME"),
				    .env = ARGV("FOO=bar baz", "HOME=/nowhere"),
				    .cwd = "/tmp",
				    .user = "root"};

	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 0);
	CHECK_STR(R.out, "bar baz\n/tmp\nC.UTF-8\n/nowhere\n");
	o.argv = ARGV("printenv", "TERM");
	o.env = NULL;
	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 1); /* no TERM without a tty */
}

TEST(missing_command_and_cwd)
{
	char path[PATH_MAX];
	struct agent_exec_opts o = {.argv = ARGV("no-such-command-sbx"), .user = "root"};

	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 127);
	CHECK(strstr(R.err, "sbx: exec no-such-command-sbx: no such file or directory in the "
			    "sandbox (check PATH)") != NULL);
	snprintf(path, sizeof(path), "%s/noexec", tmpdir);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	o.argv = (char *const[]){path, NULL};
	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 126);
	CHECK(strstr(R.err, "permission denied") != NULL);
	o.argv = ARGV("true");
	o.cwd = "/no/such/dir";
	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 126);
	CHECK(strstr(R.err, "working directory /no/such/dir") != NULL);
}

TEST(pty_session)
{
	struct agent_exec_opts o = {.argv = ARGV("sh", "-c", "tty; stty size; echo $TERM"),
				    .user = "root",
				    .tty = true,
				    .interactive = true};
	struct winsize ws = {.ws_row = 33, .ws_col = 101};
	int m, s, out = memfd_create("out", 0), err = memfd_create("err", 0);
	struct termios before, after;
	long t0 = now_ms();
	pid_t pid;

	CHECK(openpty(&m, &s, NULL, NULL, &ws) == 0);
	tcgetattr(s, &before);
	pid = start(&o, s, out, err);
	finish(pid, &R, t0, 15000);
	R.outlen = slurp(out, R.out, sizeof(R.out));
	CHECK_EQ(R.status, 0);
	CHECK(strstr(R.out, "/dev/pts/") != NULL);
	CHECK(strstr(R.out, "33 101\r\n") != NULL);
	CHECK(strstr(R.out, "xterm-256color") != NULL);
	tcgetattr(s, &after); /* the local terminal is restored */
	CHECK(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag);
	/* Ctrl-C typed on the terminal reaches the foreground process group */
	o.argv = ARGV("sh", "-c",
		      "trap 'echo got-int; exit 9' INT; echo ready; "
		      "while :; do sleep 0.05; done");
	CHECK(ftruncate(out, 0) == 0 && lseek(out, 0, SEEK_SET) == 0);
	t0 = now_ms();
	pid = start(&o, s, out, err);
	while (now_ms() - t0 < 10000 &&
	       !(slurp(out, R.out, sizeof(R.out)) && strstr(R.out, "ready")))
		usleep(5000);
	CHECK(write(m, "\003", 1) == 1);
	finish(pid, &R, t0, 10000);
	R.outlen = slurp(out, R.out, sizeof(R.out));
	CHECK_EQ(R.status, 9);
	CHECK(strstr(R.out, "got-int") != NULL);
	if (!strstr(R.out, "got-int"))
		fprintf(stderr, "  output: %s\n", R.out);
	/* a local window size change reaches the guest's pty (SIGWINCH -> RESIZE) */
	o.argv = ARGV("sh", "-c",
		      "echo ready; while [ \"$(stty size)\" = '33 101' ]; do sleep 0.02; done; "
		      "stty size");
	CHECK(ftruncate(out, 0) == 0 && lseek(out, 0, SEEK_SET) == 0);
	t0 = now_ms();
	pid = start(&o, s, out, err);
	while (now_ms() - t0 < 10000 &&
	       !(slurp(out, R.out, sizeof(R.out)) && strstr(R.out, "ready")))
		usleep(5000);
	ws.ws_row = 40;
	ws.ws_col = 120;
	ioctl(m, TIOCSWINSZ, &ws);
	kill(pid, SIGWINCH);
	finish(pid, &R, t0, 10000);
	R.outlen = slurp(out, R.out, sizeof(R.out));
	CHECK_EQ(R.status, 0);
	CHECK(strstr(R.out, "40 120\r\n") != NULL);
	close(m);
	close(s);
	close(out);
	close(err);
}

TEST(sigint_forwarded)
{
	struct agent_exec_opts o = {.argv = ARGV("sh", "-c", "echo ready; exec sleep 30"),
				    .user = "root"};
	int out = memfd_create("out", 0), err = memfd_create("err", 0);
	long t0 = now_ms();
	pid_t pid = start(&o, -1, out, err);

	while (now_ms() - t0 < 10000 &&
	       !(slurp(out, R.out, sizeof(R.out)) && strstr(R.out, "ready")))
		usleep(5000);
	kill(pid, SIGINT);
	finish(pid, &R, t0, 10000);
	CHECK_EQ(R.status, 130);
	CHECK(R.ms < 5000);
	close(out);
	close(err);
}

TEST(concurrent_20)
{
	struct agent_exec_opts o[20];
	char arg[20][16];
	int out[20], err = memfd_create("err", 0);
	pid_t pid[20];
	long t0 = now_ms();
	int i, ok = 0;

	for (i = 0; i < 20; i++) {
		char *const *argv =
		    (char *const[]){"sh", "-c", "sleep 0.3; echo n$1", "sh", arg[i], NULL};

		snprintf(arg[i], sizeof(arg[i]), "%d", i);
		memset(&o[i], 0, sizeof(o[i]));
		o[i].argv = argv;
		o[i].user = "root";
		out[i] = memfd_create("out", 0);
		pid[i] = start(&o[i], -1, out[i], err);
	}
	for (i = 0; i < 20; i++) {
		char want[16];
		struct run r;

		finish(pid[i], &r, t0, 20000);
		r.outlen = slurp(out[i], r.out, sizeof(r.out));
		snprintf(want, sizeof(want), "n%d\n", i);
		ok += r.status == 0 && strcmp(r.out, want) == 0;
		close(out[i]);
	}
	close(err);
	CHECK_EQ(ok, 20);
	CHECK(now_ms() - t0 < 10000); /* they ran side by side, not one after another */
}

TEST(detach_and_hangup)
{
	char file[128], cmd[512], pidfile[128];
	struct agent_exec_opts o = {.argv = ARGV("sh", "-c", cmd), .user = "root", .detach = true};
	long t0;
	int i, gone = 0;

	snprintf(file, sizeof(file), "%s/detached", tmpdir);
	snprintf(cmd, sizeof(cmd), "sleep 0.3; echo done > %s", file);
	run(&o, NULL, 0, &R);
	CHECK_EQ(R.status, 0);
	CHECK(R.ms < 250); /* returned before the command finished */
	for (i = 0; i < 300 && access(file, F_OK) < 0; i++)
		usleep(10000);
	CHECK(access(file, F_OK) == 0);

	/* a client that vanishes takes its process with it */
	snprintf(pidfile, sizeof(pidfile), "%s/pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 30", pidfile,
		 pidfile, pidfile);
	o.detach = false;
	{
		int out = memfd_create("out", 0);
		pid_t pid = start(&o, -1, out, out), victim = 0;
		FILE *f;

		t0 = now_ms();
		while (now_ms() - t0 < 5000 && access(pidfile, F_OK) < 0)
			usleep(5000);
		f = fopen(pidfile, "r");
		CHECK(f && fscanf(f, "%d", &victim) == 1);
		if (f)
			fclose(f);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		for (i = 0; i < 400 && victim > 0; i++) {
			char p[64];

			snprintf(p, sizeof(p), "/proc/%d/stat", victim);
			if (access(p, F_OK) < 0) {
				gone = 1;
				break;
			}
			usleep(10000);
		}
		CHECK(gone);
		close(out);
	}
}

static int cmp_long(const void *a, const void *b)
{
	return *(const long *)a < *(const long *)b ? -1 : *(const long *)a > *(const long *)b;
}

TEST(true_round_trip)
{
	struct agent_exec_opts o = {.argv = ARGV("true"), .user = "root"};
	long us[51];
	int i;

	for (i = 0; i < 51; i++) {
		struct timespec a, b;
		int fd, st;

		clock_gettime(CLOCK_MONOTONIC, &a);
		fd = agent_connect(sock, SBX_AGENT_PORT, 2000);
		st = fd >= 0 ? agent_exec_run(fd, &o) : -1;
		if (fd >= 0)
			close(fd);
		clock_gettime(CLOCK_MONOTONIC, &b);
		CHECK_EQ(st, 0);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	qsort(us, 51, sizeof(us[0]), cmp_long);
	fprintf(stderr, "  exec true round trip (connect + EXEC + EXIT): median %ld us\n", us[25]);
	CHECK(us[25] < 20000); /* generous: a shared, loaded CI machine */
}

TEST(control_and_malformed)
{
	int fd = agent_connect(sock, SBX_AGENT_PORT, 2000);
	uint8_t junk[16] = {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0}, b[64];
	ssize_t n;

	CHECK(fd >= 0);
	CHECK_EQ(agent_ping(fd, 2000), 0);
	CHECK_EQ(agent_settime(fd, 2000), 0); /* acknowledged, not applied outside a VM */
	CHECK_EQ(agent_ping(fd, 2000), 0);
	close(fd);
	fd = agent_connect(sock, SBX_AGENT_PORT, 2000);
	CHECK(fd >= 0);
	CHECK(agent_write_full(fd, junk, sizeof(junk)) == 0);
	{
		struct pollfd p = {.fd = fd, .events = POLLIN};

		CHECK(poll(&p, 1, 3000) == 1);
	}
	n = recv(fd, b, sizeof(b), 0);
	CHECK(n > SBX_FRAME_HDR && b[4] == AGENT_ERROR); /* refused, then closed */
	close(fd);
	CHECK(agent_connect(sock, 9999, 2000) < 0); /* only port 1024 is served */
}

TEST(shutdown_stops_server)
{
	int fd = agent_connect(sock, SBX_AGENT_PORT, 2000), st = 0, i;

	CHECK(fd >= 0);
	CHECK_EQ(agent_shutdown(fd, 2000), 0);
	close(fd);
	if (server > 0) {
		for (i = 0; i < 300 && waitpid(server, &st, WNOHANG) == 0; i++)
			usleep(10000);
		CHECK(i < 300 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		if (i == 300)
			kill(server, SIGKILL);
		server = -1;
	}
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 16];

	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	}
}

/* Find sbx-init: $SBX_INIT, <dir of this binary>/../lib/sbx/sbx-init, build/lib/sbx/sbx-init. */
static int find_init(char *out)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *env = getenv("SBX_INIT");

	if (env) {
		snprintf(out, PATH_MAX, "%s", env);
		return access(out, X_OK);
	}
	if (n > 0) {
		self[n] = 0;
		*strrchr(self, '/') = 0;
		snprintf(out, PATH_MAX, "%.3900s/../lib/sbx/sbx-init", self);
		if (access(out, X_OK) == 0)
			return 0;
	}
	snprintf(out, PATH_MAX, "build/lib/sbx/sbx-init");
	return access(out, X_OK);
}

/* Tiny client for shell tests (tests/e2e/agent_vm.sh) until the real CLI exists:
 *   --wait SOCK MS | --shutdown SOCK | --exec SOCK [-t] [-i] [-u USER] [-w DIR] [-e K=V] CMD...
 * Exit status: the command's, or 0/1 for --wait and --shutdown. */
static int client(int argc, char **argv)
{
	static char *env[64];
	struct agent_exec_opts o = {.user = "root"};
	int i = 3, ne = 0, fd;

	if (strcmp(argv[1], "--wait") == 0)
		return agent_wait_ready(argv[2], argc > 3 ? atoi(argv[3]) : 5000) < 0;
	fd = agent_connect(argv[2], SBX_AGENT_PORT, 5000);
	if (fd < 0) {
		sbx_err("connect %s: %s", argv[2], strerror(errno));
		return 255;
	}
	if (strcmp(argv[1], "--shutdown") == 0)
		return agent_shutdown(fd, 5000) < 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-t"))
			o.tty = true;
		else if (!strcmp(argv[i], "-i"))
			o.interactive = true;
		else if (!strcmp(argv[i], "-u") && i + 1 < argc)
			o.user = argv[++i];
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			o.cwd = argv[++i];
		else if (!strcmp(argv[i], "-e") && i + 1 < argc && ne < 63)
			env[ne++] = argv[++i];
		else
			return 254;
	}
	if (i >= argc)
		return 254;
	o.argv = argv + i;
	o.env = env;
	i = agent_exec_run(fd, &o);
	return i < 0 ? 255 : i;
}

int main(int argc, char **argv)
{
	char init[PATH_MAX];
	bool own = !(argc == 3 && strcmp(argv[1], "--socket") == 0);

	sbx_prog = "sbx";
	if (argc >= 3 && (!strcmp(argv[1], "--wait") || !strcmp(argv[1], "--shutdown") ||
			  !strcmp(argv[1], "--exec")))
		return client(argc, argv);

	sbx_prog = "sbx";
	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sbx-agent-test.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("FAIL setup\n");
		return 1;
	}
	atexit(cleanup);
	if (own) {
		if (find_init(init) < 0) {
			printf("FAIL setup\n");
			fprintf(stderr,
				"sbx-init not found (build it: make guest, or set SBX_INIT)\n");
			return 1;
		}
		snprintf(sock, sizeof(sock), "%s/agent.sock", tmpdir);
		server = fork();
		if (server == 0) {
			execl(init, init, "--serve-unix", sock, (char *)NULL);
			_exit(127);
		}
	} else {
		snprintf(sock, sizeof(sock), "%s", argv[2]);
	}
	if (agent_wait_ready(sock, 5000) < 0) {
		printf("FAIL setup\n");
		fprintf(stderr, "agent at %s not ready: %s\n", sock, strerror(errno));
		return 1;
	}
	RUN(exit_codes);
	RUN(stdout_stderr_apart);
	RUN(stdin_eof);
	RUN(big_stdin_stdout);
	RUN(env_and_cwd);
	RUN(missing_command_and_cwd);
	RUN(pty_session);
	RUN(sigint_forwarded);
	RUN(concurrent_20);
	RUN(detach_and_hangup);
	RUN(true_round_trip);
	RUN(control_and_malformed);
	if (own)
		RUN(shutdown_stops_server);
	T_EXIT();
}
