/* escape SHARE SHARE2|- MARKER TOKEN [MARKER_INO]: run in the guest as root; tries to reach host
 * files from a virtio-fs share and prints "PASS name" / "FAIL name: why" per attempt (exit 1 on
 * any FAIL). MARKER is a host file outside every share holding TOKEN; reading TOKEN back, or a
 * refused operation succeeding, is a failure. The host script checks the host side afterwards.
 * Owns files under SHARE/escape.<pid>/ (left for the host to inspect); every loop is time-bound. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define RACE_SECONDS 3

static const char *share, *share2, *marker, *token;
static unsigned long long marker_ino;
static char work[PATH_MAX]; /* SHARE/escape.<pid> */
static char why[1024];
static int n_fail;

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

#define CK(cond)                                                                                   \
	do {                                                                                       \
		errno = 0;                                                                         \
		if (!(cond))                                                                       \
			return failf("line %d: %s (errno %d %s)", __LINE__, #cond, errno,          \
				     strerror(errno));                                             \
	} while (0)

/* REFUSED(call): the call must fail (any errno); a success is an escape. */
#define REFUSED(call)                                                                              \
	do {                                                                                       \
		errno = 0;                                                                         \
		if ((long)(call) != -1)                                                            \
			return failf("line %d: %s succeeded, must be refused", __LINE__, #call);   \
	} while (0)

static __attribute__((noinline)) char *pjoin(char *out, const char *d, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", d, name) >= PATH_MAX)
		out[0] = 0;
	return out;
}

/* leaks() - 1 if reading @path (following links) yields the host's token. */
static int leaks(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strstr(buf, token) != NULL;
}

/* updots() - "../" repeated enough to climb from any share to / (and then some). */
static const char *updots(void)
{
	static char s[3 * 40 + 1];

	if (!s[0])
		for (int i = 0; i < 40; i++)
			strcat(s, "../");
	return s;
}

static int t_dotdot(void)
{
	char p[PATH_MAX];
	struct stat a, b;
	int fd;

	/* SHARE/../../../<MARKER>: the walk leaves the mount in the guest, never on the host */
	snprintf(p, sizeof(p), "%s/%s%s", share, updots(), marker + 1);
	if (leaks(p))
		return failf("%s reads the host's marker", p);
	CK((fd = open(share, O_RDONLY | O_DIRECTORY)) >= 0);
	snprintf(p, sizeof(p), "%s%s", updots(), marker + 1);
	if (openat(fd, p, O_RDONLY) >= 0 && leaks(p))
		return failf("openat(share, %s) reads the host's marker", p);
	/* ".." of the share root is the guest's directory, on another device */
	CK(fstat(fd, &a) == 0 && fstatat(fd, "..", &b, 0) == 0);
	if (a.st_dev == b.st_dev)
		return failf("share/.. is on the share's own device: .. did not leave the mount");
	close(fd);
	snprintf(p, sizeof(p), "%s/../../../../../../../etc/shadow", share);
	if (leaks(p))
		return failf("share/../etc/shadow holds the token");
	return 0;
}

static int t_symlink_out(void)
{
	char l[PATH_MAX], t[PATH_MAX], dir[PATH_MAX], *slash;
	int fd;

	/* absolute: resolved by the guest kernel in the guest's namespace */
	CK(symlink(marker, pjoin(l, work, "abs")) == 0);
	if (leaks(l))
		return failf("absolute link to the marker reads the host file");
	snprintf(dir, sizeof(dir), "%s", marker);
	slash = strrchr(dir, '/');
	*slash = 0;
	CK(symlink(dir[0] ? dir : "/", pjoin(l, work, "absdir")) == 0);
	pjoin(t, pjoin(l, work, "absdir"), slash + 1);
	if (leaks(t))
		return failf("absolute link to the marker's directory reads the host file");
	/* relative, climbing out of the share */
	snprintf(t, sizeof(t), "%s%s", updots(), marker + 1);
	CK(symlink(t, pjoin(l, work, "rel")) == 0);
	if (leaks(l))
		return failf("relative link out of the share reads the host file");
	/* through /proc magic links */
	snprintf(t, sizeof(t), "/proc/self/root%s", marker);
	CK(symlink(t, pjoin(l, work, "magic")) == 0);
	if (leaks(l))
		return failf("/proc/self/root link reads the host file");
	/* modifying through the links must not touch the host marker (the host script checks) */
	pjoin(l, work, "abs");
	fd = open(l, O_WRONLY | O_TRUNC);
	if (fd >= 0) {
		(void)!write(fd, "PWNED", 5);
		close(fd);
	}
	(void)!truncate(l, 0);
	(void)chmod(l, 0777);
	(void)!truncate(pjoin(l, work, "rel"), 0);
	(void)chmod(pjoin(l, work, "absdir"), 0777);
	/* the links are stored as links: readlink gives back what we wrote */
	{
		char buf[PATH_MAX];
		ssize_t n = readlink(pjoin(l, work, "abs"), buf, sizeof(buf) - 1);

		CK(n == (ssize_t)strlen(marker) && memcmp(buf, marker, (size_t)n) == 0);
	}
	return 0;
}

struct race {
	char x[PATH_MAX], y[PATH_MAX], via[PATH_MAX];
	volatile int stop;
	long swaps, reads, decoys, leaks;
};

static void *race_swapper(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		if (syscall(SYS_renameat2, AT_FDCWD, r->x, AT_FDCWD, r->y, 2 /* EXCHANGE */) == 0)
			r->swaps++;
		else
			sched_yield();
	}
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	char buf[256];

	while (!r->stop) {
		int fd = open(r->via, O_RDONLY);
		ssize_t n;

		r->reads++;
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (strstr(buf, token))
			r->leaks++;
		else if (!strcmp(buf, "decoy"))
			r->decoys++;
	}
	return NULL;
}

static int t_symlink_race(void)
{
	static struct race r;
	char d[PATH_MAX], f[PATH_MAX], dir[PATH_MAX];
	const char *base = strrchr(marker, '/') + 1;
	pthread_t sw, rd[2];
	struct timespec t0, t1;
	int fd;

	/* x: a real directory holding a decoy named like the marker; y: a link to the marker's
	 * directory. A swapper exchanges them while readers open x/<marker name>. */
	CK(mkdir(pjoin(d, work, "race"), 0755) == 0);
	pjoin(r.x, d, "x");
	pjoin(r.y, d, "y");
	CK(mkdir(r.x, 0755) == 0);
	CK((fd = open(pjoin(f, r.x, base), O_WRONLY | O_CREAT, 0644)) >= 0);
	CK(write(fd, "decoy", 5) == 5 && close(fd) == 0);
	snprintf(dir, sizeof(dir), "%s", marker);
	*strrchr(dir, '/') = 0;
	CK(symlink(dir, r.y) == 0);
	pjoin(r.via, r.x, base);
	CK(pthread_create(&sw, NULL, race_swapper, &r) == 0);
	CK(pthread_create(&rd[0], NULL, race_reader, &r) == 0);
	CK(pthread_create(&rd[1], NULL, race_reader, &r) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (t1.tv_sec - t0.tv_sec < RACE_SECONDS && !r.leaks);
	r.stop = 1;
	pthread_join(sw, NULL);
	pthread_join(rd[0], NULL);
	pthread_join(rd[1], NULL);
	if (r.leaks)
		return failf("%ld of %ld reads through the swapped name got the host's marker",
			     r.leaks, r.reads);
	if (r.swaps < 10 || r.decoys == 0)
		return failf("race not exercised: %ld swaps, %ld reads, %ld decoys", r.swaps,
			     r.reads, r.decoys);
	snprintf(why, sizeof(why), "%ld swaps, %ld reads, %ld saw the decoy, 0 leaks", r.swaps,
		 r.reads, r.decoys);
	return 0;
}

static int t_hardlink_out(void)
{
	char l[PATH_MAX], h[PATH_MAX];
	struct stat st;

	pjoin(l, work, "abs"); /* made by the symlink check */
	REFUSED(linkat(AT_FDCWD, l, AT_FDCWD, pjoin(h, work, "hl-follow"), AT_SYMLINK_FOLLOW));
	REFUSED(link("/etc/passwd", pjoin(h, work, "hl-passwd")));
	REFUSED(link("/etc/shadow", pjoin(h, work, "hl-shadow")));
	/* a hard link to the symlink itself is a second link, not the marker */
	if (link(l, pjoin(h, work, "hl-nofollow")) == 0) {
		CK(lstat(h, &st) == 0 && S_ISLNK(st.st_mode));
		if (leaks(h))
			return failf("hard link of the symlink reads the host file");
	}
	return 0;
}

static int t_mknod(void)
{
	char p[PATH_MAX];
	struct stat st;

	REFUSED(mknod(pjoin(p, work, "blk"), S_IFBLK | 0600, makedev(8, 0)));
	if (lstat(p, &st) == 0)
		return failf("a block device node exists after the refused mknod");
	REFUSED(mknod(pjoin(p, work, "chr"), S_IFCHR | 0666, makedev(1, 3)));
	if (lstat(p, &st) == 0)
		return failf("a char device node exists after the refused mknod");
	return 0;
}

static int copy_self(const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open("/proc/self/exe", O_RDONLY), out;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 04755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(in);
	return close(out);
}

static int t_setuid(void)
{
	char p[PATH_MAX], d[PATH_MAX];
	struct stat st;
	int fd;

	CK(copy_self(pjoin(p, work, "suid-bin")) == 0);
	if (chmod(p, 04755) == 0) {
		CK(stat(p, &st) == 0);
		if (st.st_mode & (S_ISUID | S_ISGID))
			return failf("chmod 4755 kept the setuid bit (mode %o)",
				     st.st_mode & 07777);
	}
	CK((fd = open(pjoin(p, work, "suid-create"), O_WRONLY | O_CREAT, 06755)) >= 0);
	CK(fstat(fd, &st) == 0);
	close(fd);
	if (st.st_mode & (S_ISUID | S_ISGID))
		return failf("create with mode 6755 kept setuid/setgid (mode %o)",
			     st.st_mode & 07777);
	if (chmod(p, 02755) == 0 && stat(p, &st) == 0 && (st.st_mode & S_ISGID))
		return failf("chmod g+s kept the setgid bit");
	CK(mkdir(pjoin(d, work, "sgid-dir"), 0755) == 0);
	if (chmod(d, 02775) == 0 && stat(d, &st) == 0 && (st.st_mode & S_ISGID))
		return failf("chmod g+s on a directory kept the setgid bit");
	return 0;
}

static int t_chown(void)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	CK((fd = open(pjoin(p, work, "owned"), O_WRONLY | O_CREAT, 0644)) >= 0);
	close(fd);
	REFUSED(chown(p, 4242, 4242));
	REFUSED(chown(p, 4242, (gid_t)-1));
	REFUSED(chown(p, (uid_t)-1, 4242));
	REFUSED(lchown(p, 31337, 31337));
	CK(stat(p, &st) == 0);
	if (st.st_uid == 4242 || st.st_gid == 4242 || st.st_uid == 31337)
		return failf("owner changed to %u:%u", st.st_uid, st.st_gid);
	return 0;
}

static int t_xattr(void)
{
	char p[PATH_MAX], buf[64];
	static const char *const names[] = {"security.evil", "security.capability", "trusted.evil",
					    "trusted.overlay.opaque"};
	/* a file capability granting everything: VFS_CAP_REVISION_2, permitted = all */
	static const unsigned char cap[20] = {0x00, 0x00, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff,
					      0,    0,	  0,	0,    0xff, 0xff, 0xff, 0xff};
	int fd;
	size_t i;

	CK((fd = open(pjoin(p, work, "xattr"), O_WRONLY | O_CREAT, 0755)) >= 0);
	close(fd);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const void *v = i == 1 ? (const void *)cap : "y";
		size_t len = i == 1 ? sizeof(cap) : 1;

		if (setxattr(p, names[i], v, len, 0) == 0)
			return failf("setxattr %s succeeded", names[i]);
		if (getxattr(p, names[i], buf, sizeof(buf)) >= 0)
			return failf("getxattr %s finds a value after the refused set", names[i]);
	}
	return 0;
}

static int t_rename_out(void)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat st;
	int fd;

	CK((fd = open(pjoin(a, work, "stay"), O_WRONLY | O_CREAT, 0644)) >= 0);
	CK(write(fd, "stay", 4) == 4 && close(fd) == 0);
	if (strcmp(share2, "-") != 0) {
		pjoin(b, share2, "moved-in");
		REFUSED(rename(a, b));
		REFUSED(link(a, b));
		if (lstat(b, &st) == 0)
			return failf("%s exists after the refused rename", b);
	}
	REFUSED(rename(a, "/root/moved-out"));
	REFUSED(rename(a, "/tmp/moved-out"));
	CK(stat(a, &st) == 0 && st.st_size == 4);
	return 0;
}

/* file handles: if the share is exportable, forged handles must not open host files */
static int t_handles(void)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[128];
	} h;
	char p[PATH_MAX], buf[4096];
	int mnt, fd, tries = 0, opened = 0, genuine, i, k, w;
	ssize_t n;

	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = 128;
	CK((fd = open(pjoin(p, work, "handle"), O_WRONLY | O_CREAT, 0644)) >= 0);
	close(fd);
	if (name_to_handle_at(AT_FDCWD, p, &h.fh, &mnt, 0) != 0) {
		if (errno == EOPNOTSUPP) {
			snprintf(why, sizeof(why), "share not exportable: %s", strerror(errno));
			return 0;
		}
		return failf("name_to_handle_at: %s", strerror(errno));
	}
	CK((mnt = open(share, O_RDONLY | O_DIRECTORY)) >= 0);
	/* the genuine handle first (does the share export handles at all?) */
	fd = open_by_handle_at(mnt, &h.fh, O_RDONLY);
	genuine = fd >= 0;
	if (fd >= 0)
		close(fd);
	/* forge: each 4- and 8-byte word set to small numbers and to the marker's host inode */
	for (w = 4; w <= 8; w += 4) {
		for (i = 0; i + w <= (int)h.fh.handle_bytes; i += 4) {
			for (k = 0; k < 66; k++) {
				unsigned long long v =
				    k < 64 ? (unsigned long long)k + 1 : marker_ino + k - 64;
				unsigned char save[8];

				if (k >= 64 && !marker_ino)
					break;
				memcpy(save, h.fh.f_handle + i, (size_t)w);
				memcpy(h.fh.f_handle + i, &v, (size_t)w); /* little endian */
				fd = open_by_handle_at(mnt, &h.fh, O_RDONLY);
				memcpy(h.fh.f_handle + i, save, (size_t)w);
				tries++;
				if (fd < 0)
					continue;
				opened++;
				n = read(fd, buf, sizeof(buf) - 1);
				close(fd);
				if (n > 0) {
					buf[n] = 0;
					if (strstr(buf, token)) {
						close(mnt);
						return failf(
						    "a forged file handle opened the marker");
					}
				}
			}
		}
	}
	close(mnt);
	snprintf(why, sizeof(why),
		 "genuine handle %s; %d forged handles, %d opened something in the share, 0 leaks",
		 genuine ? "opens" : "refused", tries, opened);
	return 0;
}

static void run(const char *name, int (*fn)(void))
{
	int r;

	why[0] = 0;
	alarm(60);
	r = fn();
	alarm(0);
	if (r == 0)
		printf(why[0] ? "PASS %s (%s)\n" : "PASS %s\n", name, why);
	else {
		n_fail++;
		printf("FAIL %s: %s\n", name, why);
	}
	fflush(stdout);
}

static void on_alarm(int sig)
{
	(void)sig;
	dprintf(1, "FAIL escape: a check did not finish within 60 s\n");
	_exit(2);
}

int main(int argc, char **argv)
{
	char name[32];

	if (argc < 5 || argc > 6 || argv[3][0] != '/' || !strrchr(argv[3], '/')) {
		fprintf(stderr, "usage: escape SHARE SHARE2|- /HOST/MARKER TOKEN [MARKER_INO]\n");
		return 2;
	}
	share = argv[1];
	share2 = argv[2];
	marker = argv[3];
	token = argv[4];
	marker_ino = argc == 6 ? strtoull(argv[5], NULL, 10) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	snprintf(name, sizeof(name), "escape.%d", (int)getpid());
	if (mkdir(pjoin(work, share, name), 0755) != 0) {
		printf("FAIL escape-setup: mkdir %s: %s\n", work, strerror(errno));
		return 1;
	}
	/* the guest must not have the marker at all; ESCAPE_SELFTEST=1 lets the host run this on a
	 * plain directory to show that the checks do fail when nothing confines them */
	if (leaks(marker) && !getenv("ESCAPE_SELFTEST")) {
		printf("FAIL escape-setup: %s readable in the guest: the test cannot tell\n",
		       marker);
		return 1;
	}
	run("escape-dotdot", t_dotdot);
	run("escape-symlink-out", t_symlink_out);
	run("escape-symlink-race", t_symlink_race);
	run("escape-hardlink-out", t_hardlink_out);
	run("escape-mknod-device", t_mknod);
	run("escape-setuid", t_setuid);
	run("escape-chown", t_chown);
	run("escape-xattr-security-trusted", t_xattr);
	run("escape-rename-out", t_rename_out);
	run("escape-file-handle", t_handles);
	printf("SKIP escape-name-slash-nul: the guest kernel never sends a name with '/' or NUL; "
	       "the device's unit tests cover such requests\n");
	printf("escape: work directory %s\n", work);
	return n_fail ? 1 : 0;
}
