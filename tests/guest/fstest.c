/* fstest DIR: a POSIX file-system semantics check, run inside the guest on a virtio-fs share and
 * on the host against a plain directory. Prints one "PASS name" / "FAIL name: why" (or "SKIP name:
 * why" for a feature the file system does not offer) per check; exits 1 if any check failed.
 * Owns files under DIR/fstest.<pid>/ only and removes them; never waits without a deadline. */
#include "fstest/fstest.h"

static int n_fail, n_pass, n_skip;

struct check {
	const char *name;
	int (*fn)(const char *d);
};

static const struct check checks[] = {
    {"create-excl", t_create_excl},
    {"o-trunc", t_otrunc},
    {"rename-file", t_rename_file},
    {"rename-dir", t_rename_dir},
    {"rename2-flags", t_rename2},
    {"unlink-while-open", t_unlink_open},
    {"o-append-two-fds", t_append},
    {"truncate-ftruncate", t_truncate},
    {"mmap-shared", t_mmap_shared},
    {"sparse-file", t_sparse},
    {"seek-hole-data", t_seek_hole},
    {"large-file-5g", t_large},
    {"big-io-8m", t_bigio},
    {"big-io-direct-copy", t_bigio_direct},
    {"dir-ops", t_dirops},
    {"big-directory", t_bigdir},
    {"long-names", t_longnames},
    {"unicode-names", t_unicode},
    {"symlink-readlink", t_symlink},
    {"hard-links", t_hardlink},
    {"chmod-utimensat", t_chmod_times},
    {"mkfifo-mknod", t_fifo},
    {"fsync-fdatasync", t_fsync},
    {"statfs", t_statfs},
    {"xattr-user", t_xattr},
    {"locks-flock-fcntl", t_locks},
    {"fallocate", t_fallocate},
    {"readdir-after-rename", t_readdir_rename},
    {"getcwd", t_getcwd},
    {"permissions", t_perms},
};

/* run() - one check in a child process, so a crash is a FAIL line and a check stuck in the file
 * system (a wedged share) is reported after CHECK_SECONDS instead of hanging the run: then the
 * whole run stops, since every later check would hang the same way. */
static void run(const struct check *c)
{
	char d[PATH_MAX], msg[sizeof(why) + 1];
	struct pollfd pfd;
	size_t got = 0;
	int p[2], st = 0;
	pid_t pid;
	ssize_t n;

	pjoin(d, base, c->name);
	if (mkdir(d, 0755) != 0 || pipe(p) != 0) {
		printf("FAIL %s: mkdir %s / pipe: %s\n", c->name, d, strerror(errno));
		n_fail++;
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int r;

		close(p[0]);
		why[0] = 0;
		r = c->fn(d);
		msg[0] = r == R_PASS ? 'P' : r == R_SKIP ? 'S' : 'F';
		memcpy(msg + 1, why, strlen(why));
		(void)!write(p[1], msg, 1 + strlen(why));
		_exit(0);
	}
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	/* the big directory gets 20 ms per entry on top (create+unlink on a share under TCG: ~6) */
	int secs = CHECK_SECONDS + (c->fn == t_bigdir ? (int)(bigdir_entries / 50) : 0);
	while (pid > 0 && got < sizeof(msg) - 1) {
		if (poll(&pfd, 1, secs * 1000) <= 0) {
			kill(pid, SIGKILL);
			printf("FAIL %s: no answer within %d s (the file system may be stuck; "
			       "stopping)\n",
			       c->name, secs);
			printf("fstest: %d passed, %d failed, %d skipped, stopped at %s\n", n_pass,
			       n_fail + 1, n_skip, c->name);
			fflush(stdout);
			_exit(1);
		}
		n = read(p[0], msg + got, sizeof(msg) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	msg[got] = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	rm_tree(d);
	if (pid < 0 || got == 0) {
		n_fail++;
		if (pid < 0)
			printf("FAIL %s: fork: %s\n", c->name, strerror(errno));
		else
			printf("FAIL %s: the check died (status 0x%x)\n", c->name, st);
	} else if (msg[0] == 'P') {
		n_pass++;
		printf(msg[1] ? "PASS %s (%s)\n" : "PASS %s\n", c->name, msg + 1);
	} else if (msg[0] == 'S') {
		n_skip++;
		printf("SKIP %s: %s\n", c->name, msg + 1);
	} else {
		n_fail++;
		printf("FAIL %s: %s\n", c->name, msg + 1);
	}
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: fstest [-n ENTRIES] [-o CHECK] DIR\n"
			"  -n ENTRIES  entries for the big-directory check (default 50000)\n"
			"  -o CHECK    run only the named check (repeatable: -o a -o b)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *only[64];
	size_t n_only = 0, i, j;
	char real[PATH_MAX], name[32];
	int opt;

	while ((opt = getopt(argc, argv, "n:o:")) != -1) {
		if (opt == 'n')
			bigdir_entries = strtol(optarg, NULL, 10);
		else if (opt == 'o' && n_only < 64)
			only[n_only++] = optarg;
		else
			usage();
	}
	if (optind != argc - 1 || bigdir_entries <= 0)
		usage();
	if (!realpath(argv[optind], real)) {
		printf("FAIL fstest-setup: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	snprintf(name, sizeof(name), "fstest.%d", (int)getpid());
	pjoin(base, real, name);
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	if (mkdir(base, 0755) != 0) {
		printf("FAIL fstest-setup: mkdir %s: %s\n", base, strerror(errno));
		return 1;
	}
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int want = n_only == 0;

		for (j = 0; j < n_only; j++)
			want |= strcmp(only[j], checks[i].name) == 0;
		if (want)
			run(&checks[i]);
	}
	rm_tree(base);
	printf("fstest: %d passed, %d failed, %d skipped on %s\n", n_pass, n_fail, n_skip, real);
	return n_fail ? 1 : 0;
}
