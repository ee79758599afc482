/* fstest DIR: a POSIX file-system semantics check, run inside the guest on a virtio-fs share and
 * on the host against a plain directory. Prints one "PASS name" / "FAIL name: why" (or "SKIP name:
 * why" for a feature the file system does not offer) per check; exits 1 if any check failed.
 * Owns files under DIR/fstest.<pid>/ only and removes them; never waits without a deadline. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define CHECK_SECONDS 300 /* per check (the big-directory one is the slowest: see -n) */
#define GIB	      (1024LL * 1024 * 1024)

static char base[PATH_MAX]; /* DIR/fstest.<pid>, absolute and canonical */
static char why[1024];
static int n_fail, n_pass, n_skip;
static long bigdir_entries = 50000;

enum { R_PASS = 0, R_FAIL = -1, R_SKIP = 1 };

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return R_FAIL;
}

/* CK(cond): fail the check with the condition's text, its line and errno. */
#define CK(cond)                                                                                   \
	do {                                                                                       \
		errno = 0;                                                                         \
		if (!(cond))                                                                       \
			return failf("line %d: %s (errno %d %s)", __LINE__, #cond, errno,          \
				     strerror(errno));                                             \
	} while (0)

/* CK_ERR(call, err): the call must return -1 with errno == err. */
#define CK_ERR(call, err)                                                                          \
	do {                                                                                       \
		errno = 0;                                                                         \
		long ck_r = (long)(call);                                                          \
		if (ck_r != -1 || errno != (err))                                                  \
			return failf("line %d: %s returned %ld errno %d (%s), want %s", __LINE__,  \
				     #call, ck_r, errno, strerror(errno), #err);                   \
	} while (0)

static int put(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* get() - read up to @cap bytes of @path; returns the length or -1. */
static ssize_t get(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < cap && (n = read(fd, (char *)buf + total, cap - total)) > 0)
		total += n;
	close(fd);
	return total;
}

static int content_is(const char *path, const char *want)
{
	char buf[4096];
	ssize_t n = get(path, buf, sizeof(buf));

	return n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0;
}

/* pjoin() - @out (PATH_MAX bytes) = "@d/@name"; an over-long path is cut (and then fails). */
static __attribute__((noinline)) char *pjoin(char *out, const char *d, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", d, name) >= PATH_MAX)
		out[0] = 0;
	return out;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(p);
	if (flag == FTW_D) /* unreadable directory: make it readable, nftw already skipped it */
		chmod(p, 0700);
	return unlink(p);
}

static void rm_tree(const char *p)
{
	nftw(p, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/* ---- the checks: each runs in its own fresh directory @d ---- */

static int t_create_excl(const char *d)
{
	char f[PATH_MAX], l[PATH_MAX], g[PATH_MAX];
	struct stat st;
	int fd;

	pjoin(f, d, "f");
	pjoin(l, d, "dangling");
	pjoin(g, d, "target");
	CK((fd = creat(f, 0644)) >= 0);
	CK(write(fd, "abc", 3) == 3);
	CK(close(fd) == 0);
	CK_ERR(open(f, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	CK(content_is(f, "abc"));
	CK_ERR(open(g, O_RDONLY), ENOENT);
	CK((fd = open(g, O_CREAT | O_EXCL | O_RDWR, 0600)) >= 0);
	CK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600 && S_ISREG(st.st_mode));
	CK(st.st_size == 0 && st.st_uid == geteuid());
	CK(close(fd) == 0);
	CK(unlink(g) == 0);
	/* O_EXCL must not follow a dangling symlink and create its target */
	CK(symlink("target", l) == 0);
	CK_ERR(open(l, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	CK_ERR(lstat(g, &st), ENOENT);
	CK_ERR(open(f, O_RDONLY | O_DIRECTORY), ENOTDIR);
	CK_ERR(open(d, O_WRONLY), EISDIR);
	return R_PASS;
}

static int t_otrunc(const char *d)
{
	char f[PATH_MAX], buf[1000];
	struct stat st;
	int fd;

	pjoin(f, d, "f");
	memset(buf, 'x', sizeof(buf));
	CK(put(f, buf, sizeof(buf)) == 0);
	CK((fd = open(f, O_WRONLY | O_TRUNC)) >= 0);
	CK(fstat(fd, &st) == 0 && st.st_size == 0);
	CK(stat(f, &st) == 0 && st.st_size == 0);
	CK(write(fd, "new", 3) == 3);
	CK(close(fd) == 0);
	CK(content_is(f, "new"));
	return R_PASS;
}

static int t_rename_file(const char *d)
{
	char a[PATH_MAX], b[PATH_MAX], buf[16];
	struct stat st;
	int fd;

	pjoin(a, d, "a");
	pjoin(b, d, "b");
	CK(put(a, "AAAA", 4) == 0);
	CK(put(b, "BB", 2) == 0);
	CK((fd = open(b, O_RDONLY)) >= 0);
	CK(rename(a, b) == 0);
	CK_ERR(stat(a, &st), ENOENT);
	CK(content_is(b, "AAAA"));
	/* the replaced file lives on through its open fd */
	CK(pread(fd, buf, sizeof(buf), 0) == 2 && memcmp(buf, "BB", 2) == 0);
	CK(close(fd) == 0);
	CK(rename(b, b) == 0 && content_is(b, "AAAA"));
	CK_ERR(rename(a, b), ENOENT);
	return R_PASS;
}

static int t_rename_dir(const char *d)
{
	char d1[PATH_MAX], d2[PATH_MAX], e[PATH_MAX], n[PATH_MAX], p[PATH_MAX], f[PATH_MAX];
	struct stat st;

	pjoin(d1, d, "d1");
	pjoin(d2, d, "d2");
	pjoin(e, d, "empty");
	pjoin(n, d, "nonempty");
	pjoin(f, d, "file");
	CK(mkdir(d1, 0755) == 0);
	pjoin(p, d1, "sub");
	CK(mkdir(p, 0755) == 0);
	pjoin(p, d1, "sub/x");
	CK(put(p, "deep", 4) == 0);
	CK(rename(d1, d2) == 0);
	CK_ERR(stat(d1, &st), ENOENT);
	pjoin(p, d2, "sub/x");
	CK(content_is(p, "deep"));
	/* over an empty directory: allowed, replaces it */
	CK(mkdir(e, 0755) == 0);
	CK(rename(d2, e) == 0);
	pjoin(p, e, "sub/x");
	CK(content_is(p, "deep"));
	/* over a non-empty directory: refused */
	CK(mkdir(n, 0755) == 0);
	pjoin(p, n, "keep");
	CK(put(p, "k", 1) == 0);
	errno = 0;
	CK(rename(e, n) == -1 && (errno == ENOTEMPTY || errno == EEXIST));
	CK(content_is(p, "k"));
	/* into its own subtree: EINVAL; file over dir: EISDIR; dir over file: ENOTDIR */
	pjoin(p, e, "sub/inside");
	CK_ERR(rename(e, p), EINVAL);
	CK(put(f, "f", 1) == 0);
	CK_ERR(rename(f, n), EISDIR);
	CK_ERR(rename(n, f), ENOTDIR);
	/* a directory moved under another keeps its contents */
	pjoin(p, n, "moved");
	CK(rename(e, p) == 0);
	pjoin(p, n, "moved/sub/x");
	CK(content_is(p, "deep"));
	return R_PASS;
}

static int t_rename2(const char *d)
{
	char a[PATH_MAX], b[PATH_MAX], x[PATH_MAX];
	struct stat st;

	pjoin(a, d, "a");
	pjoin(b, d, "b");
	pjoin(x, d, "x");
	CK(put(a, "A", 1) == 0);
	CK(put(b, "B", 1) == 0);
	CK_ERR(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 1 /* RENAME_NOREPLACE */), EEXIST);
	CK(content_is(a, "A") && content_is(b, "B"));
	CK(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, x, 1) == 0);
	CK_ERR(stat(a, &st), ENOENT);
	CK(syscall(SYS_renameat2, AT_FDCWD, x, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0);
	CK(content_is(x, "B") && content_is(b, "A"));
	CK_ERR(syscall(SYS_renameat2, AT_FDCWD, x, AT_FDCWD, a, 2), ENOENT);
	return R_PASS;
}

static int t_unlink_open(const char *d)
{
	char f[PATH_MAX], buf[64];
	struct stat st;
	DIR *dir;
	struct dirent *de;
	int fd;

	pjoin(f, d, "f");
	CK(put(f, "still here", 10) == 0);
	CK((fd = open(f, O_RDWR)) >= 0);
	CK(unlink(f) == 0);
	CK_ERR(stat(f, &st), ENOENT);
	CK(pread(fd, buf, sizeof(buf), 0) == 10 && memcmp(buf, "still here", 10) == 0);
	CK(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 10);
	CK(pwrite(fd, "+more", 5, 10) == 5);
	CK(pread(fd, buf, sizeof(buf), 0) == 15 && memcmp(buf, "still here+more", 15) == 0);
	CK((dir = opendir(d)) != NULL);
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, "f") == 0) {
			closedir(dir);
			close(fd);
			return failf("unlinked name still listed by readdir");
		}
	closedir(dir);
	CK(close(fd) == 0);
	return R_PASS;
}

static int t_append(const char *d)
{
	char f[PATH_MAX], buf[4096];
	struct stat st;
	int a, b, i;

	pjoin(f, d, "log");
	CK(put(f, "head\n", 5) == 0);
	CK((a = open(f, O_WRONLY | O_APPEND)) >= 0);
	CK((b = open(f, O_WRONLY | O_APPEND)) >= 0);
	for (i = 0; i < 100; i++) {
		CK(write(a, "AAAAAAAAA\n", 10) == 10);
		CK(write(b, "BBBBBBBBB\n", 10) == 10);
	}
	/* an explicit seek does not defeat O_APPEND */
	CK(lseek(a, 0, SEEK_SET) == 0);
	CK(write(a, "tail\n", 5) == 5);
	CK(close(a) == 0 && close(b) == 0);
	CK(stat(f, &st) == 0 && st.st_size == 5 + 2000 + 5);
	CK(get(f, buf, sizeof(buf)) == 2010);
	CK(memcmp(buf, "head\n", 5) == 0 && memcmp(buf + 2005, "tail\n", 5) == 0);
	for (i = 0; i < 200; i++)
		if (buf[5 + i * 10] != (i % 2 ? 'B' : 'A'))
			return failf("record %d is '%c': appends interleaved wrongly", i,
				     buf[5 + i * 10]);
	return R_PASS;
}

static int t_truncate(const char *d)
{
	char f[PATH_MAX], buf[200000];
	struct stat st;
	int fd, i;

	pjoin(f, d, "f");
	CK(put(f, "0123456789", 10) == 0);
	CK(truncate(f, 100000) == 0);
	CK(stat(f, &st) == 0 && st.st_size == 100000);
	CK(get(f, buf, sizeof(buf)) == 100000 && memcmp(buf, "0123456789", 10) == 0);
	for (i = 10; i < 100000; i++)
		if (buf[i])
			return failf("byte %d after truncate up is %d, want 0", i, buf[i]);
	CK(truncate(f, 4) == 0);
	CK(stat(f, &st) == 0 && st.st_size == 4);
	CK(content_is(f, "0123"));
	/* ftruncate through an open fd, and the file position stays where it was */
	CK((fd = open(f, O_RDWR)) >= 0);
	CK(lseek(fd, 2, SEEK_SET) == 2);
	CK(ftruncate(fd, 1) == 0);
	CK(fstat(fd, &st) == 0 && st.st_size == 1);
	CK(read(fd, buf, 10) == 0);
	CK(ftruncate(fd, 8192) == 0);
	CK(pread(fd, buf, sizeof(buf), 0) == 8192 && buf[0] == '0' && buf[1] == 0 &&
	   buf[8191] == 0);
	CK(ftruncate(fd, 0) == 0);
	CK(fstat(fd, &st) == 0 && st.st_size == 0);
	CK_ERR(ftruncate(fd, -1), EINVAL);
	CK(close(fd) == 0);
	CK((fd = open(f, O_RDONLY)) >= 0);
	CK_ERR(ftruncate(fd, 10), EINVAL);
	CK(close(fd) == 0);
	return R_PASS;
}

static int t_mmap_shared(const char *d)
{
	char f[PATH_MAX], buf[8192];
	char *m;
	int fd, fd2, i;

	pjoin(f, d, "m");
	CK((fd = open(f, O_RDWR | O_CREAT, 0644)) >= 0);
	CK(ftruncate(fd, 8192) == 0);
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return failf("mmap MAP_SHARED: %s", strerror(errno));
	}
	for (i = 0; i < 8192; i++)
		m[i] = (char)('a' + i % 26);
	if (msync(m, 8192, MS_SYNC) != 0)
		return failf("msync: %s", strerror(errno));
	CK(pread(fd, buf, sizeof(buf), 0) == 8192 && memcmp(buf, m, 8192) == 0);
	/* a second, independent open sees it too */
	CK((fd2 = open(f, O_RDONLY)) >= 0);
	CK(read(fd2, buf, sizeof(buf)) == 8192 && memcmp(buf, m, 8192) == 0);
	/* and a write() shows through the mapping */
	CK(pwrite(fd, "WRITE", 5, 4096) == 5);
	CK(memcmp(m + 4096, "WRITE", 5) == 0);
	CK(munmap(m, 8192) == 0);
	CK(close(fd) == 0);
	/* stores made without msync reach the file once the mapping is gone */
	CK((fd = open(f, O_RDWR)) >= 0);
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CK(m != MAP_FAILED);
	CK(close(fd) == 0);
	memcpy(m + 100, "late", 4);
	CK(munmap(m, 8192) == 0);
	CK(pread(fd2, buf, 4, 100) == 4 && memcmp(buf, "late", 4) == 0);
	CK(close(fd2) == 0);
	return R_PASS;
}

static int t_sparse(const char *d)
{
	char f[PATH_MAX], buf[4096];
	struct stat st;
	const off_t far = 16 << 20;
	int fd, i;

	pjoin(f, d, "sparse");
	memset(buf, 'D', sizeof(buf));
	CK((fd = open(f, O_RDWR | O_CREAT, 0644)) >= 0);
	CK(pwrite(fd, buf, 4096, 0) == 4096);
	CK(pwrite(fd, buf, 4096, far) == 4096);
	CK(fsync(fd) == 0);
	CK(fstat(fd, &st) == 0 && st.st_size == far + 4096);
	if ((long long)st.st_blocks * 512 > (1 << 20)) {
		close(fd);
		return failf("st_blocks %lld for 8 KiB of data in a 16 MiB file: not sparse",
			     (long long)st.st_blocks);
	}
	CK(pread(fd, buf, 4096, far / 2) == 4096);
	for (i = 0; i < 4096; i++)
		if (buf[i])
			return failf("hole reads byte %d as %d", i, buf[i]);
	CK(close(fd) == 0);
	return R_PASS;
}

static int t_seek_hole(const char *d)
{
	char f[PATH_MAX], buf[4096];
	const off_t far = 16 << 20;
	off_t h, dt;
	int fd;

	pjoin(f, d, "sparse");
	memset(buf, 'D', sizeof(buf));
	CK((fd = open(f, O_RDWR | O_CREAT, 0644)) >= 0);
	CK(pwrite(fd, buf, 4096, 0) == 4096);
	CK(pwrite(fd, buf, 4096, far) == 4096);
	CK(fsync(fd) == 0);
	h = lseek(fd, 0, SEEK_HOLE);
	if (h < 0 && (errno == EINVAL || errno == EOPNOTSUPP)) {
		snprintf(why, sizeof(why), "SEEK_HOLE: %s", strerror(errno));
		close(fd);
		return R_SKIP;
	}
	CK(h >= 0);
	if (h == far + 4096) { /* the generic fallback: the whole file is data */
		snprintf(why, sizeof(why), "SEEK_HOLE reports no hole (generic fallback)");
		close(fd);
		return R_SKIP;
	}
	CK(h >= 4096 && h < far);
	CK((dt = lseek(fd, h, SEEK_DATA)) > h && dt <= far);
	CK(lseek(fd, far + 4096, SEEK_DATA) == -1 && errno == ENXIO);
	CK(lseek(fd, far, SEEK_HOLE) == far + 4096);
	CK(close(fd) == 0);
	return R_PASS;
}

static int t_large(const char *d)
{
	char f[PATH_MAX], buf[64];
	struct stat st;
	const off_t at = 5 * GIB;
	int fd;

	pjoin(f, d, "big");
	CK((fd = open(f, O_RDWR | O_CREAT, 0644)) >= 0);
	CK(pwrite(fd, "beyond-4g", 9, at) == 9);
	CK(pwrite(fd, "at-4g-edge", 10, 4 * GIB - 5) == 10);
	CK(close(fd) == 0);
	CK(stat(f, &st) == 0 && st.st_size == at + 9);
	if ((long long)st.st_blocks * 512 > (8 << 20))
		return failf("st_blocks %lld: the 5 GiB file is not sparse",
			     (long long)st.st_blocks);
	CK((fd = open(f, O_RDONLY)) >= 0);
	CK(pread(fd, buf, sizeof(buf), at) == 9 && memcmp(buf, "beyond-4g", 9) == 0);
	CK(pread(fd, buf, 10, 4 * GIB - 5) == 10 && memcmp(buf, "at-4g-edge", 10) == 0);
	CK(pread(fd, buf, 4, 3 * GIB) == 4 && memcmp(buf, "\0\0\0\0", 4) == 0);
	CK(lseek(fd, 0, SEEK_END) == at + 9);
	CK(lseek(fd, at, SEEK_SET) == at && read(fd, buf, 3) == 3 && memcmp(buf, "bey", 3) == 0);
	CK(close(fd) == 0);
	CK(truncate(f, 6 * GIB) == 0 && stat(f, &st) == 0 && st.st_size == 6 * GIB);
	return R_PASS;
}

static int t_bigio(const char *d)
{
	char f[PATH_MAX];
	const size_t len = 8 << 20;
	unsigned char *w = malloc(len), *r = malloc(len);
	uint32_t x = 12345;
	size_t off, chunk;
	ssize_t n;
	int fd, ret = R_PASS;

	pjoin(f, d, "io");
	if (!w || !r)
		return failf("out of memory");
	for (off = 0; off < len; off++) {
		x = x * 1103515245 + 12345;
		w[off] = (unsigned char)(x >> 16);
	}
	fd = open(f, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		ret = failf("open: %s", strerror(errno));
	/* odd chunk sizes cross every page and request boundary */
	for (off = 0; ret == R_PASS && off < len; off += chunk) {
		chunk = len - off < 131071 ? len - off : 131071;
		if (write(fd, w + off, chunk) != (ssize_t)chunk)
			ret = failf("write at %zu: %s", off, strerror(errno));
	}
	if (ret == R_PASS && fsync(fd) != 0)
		ret = failf("fsync: %s", strerror(errno));
	for (off = 0; ret == R_PASS && off < len; off += (size_t)n) {
		n = pread(fd, r + off, len - off < 1000003 ? len - off : 1000003, (off_t)off);
		if (n <= 0)
			ret = failf("pread at %zu: %zd %s", off, n, strerror(errno));
	}
	if (ret == R_PASS && memcmp(w, r, len) != 0)
		ret = failf("8 MiB read back differs from what was written");
	if (ret == R_PASS && (pwrite(fd, "xyz", 3, 4095) != 3 || pread(fd, r, 5, 4094) != 5 ||
			      r[0] != w[4094] || memcmp(r + 1, "xyz", 3) || r[4] != w[4098]))
		ret = failf("unaligned pwrite across a page edge misplaced");
	if (fd >= 0)
		close(fd);
	free(w);
	free(r);
	return ret;
}

/* big requests: O_DIRECT 1-2 MiB transfers (one descriptor per page in a FUSE request),
 * sequential-advice reads and copy_file_range, as cp, git and linkers do */
static int t_bigio_direct(const char *d)
{
	char f[PATH_MAX], g[PATH_MAX];
	const size_t len = 2 << 20;
	unsigned char *w = NULL, *r = NULL;
	size_t i;
	ssize_t n;
	int fd, fd2;

	pjoin(f, d, "direct");
	pjoin(g, d, "copy");
	if (posix_memalign((void **)&w, 4096, len) || posix_memalign((void **)&r, 4096, len))
		return failf("out of memory");
	for (i = 0; i < len; i++)
		w[i] = (unsigned char)(i * 7 + i / 4096);
	fd = open(f, O_RDWR | O_CREAT | O_DIRECT, 0644);
	if (fd < 0 && errno == EINVAL) {
		snprintf(why, sizeof(why), "O_DIRECT not supported here");
		free(w);
		free(r);
		return R_SKIP;
	}
	CK(fd >= 0);
	CK(pwrite(fd, w, len / 2, 0) == (ssize_t)(len / 2));
	CK(pwrite(fd, w + len / 2, len / 2, (off_t)(len / 2)) == (ssize_t)(len / 2));
	CK(pread(fd, r, len, 0) == (ssize_t)len);
	CK(memcmp(w, r, len) == 0);
	CK(close(fd) == 0);
	/* buffered, with sequential read-ahead advice, in 1 MiB reads */
	CK((fd = open(f, O_RDONLY)) >= 0);
	CK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
	memset(r, 0, len);
	for (i = 0; i < len; i += (size_t)n)
		CK((n = read(fd, r + i, 1 << 20)) > 0);
	CK(memcmp(w, r, len) == 0);
	/* in-kernel copy to a second file */
	CK((fd2 = open(g, O_RDWR | O_CREAT, 0644)) >= 0);
	CK(lseek(fd, 0, SEEK_SET) == 0);
	for (i = 0; i < len; i += (size_t)n)
		CK((n = copy_file_range(fd, NULL, fd2, NULL, len - i, 0)) > 0);
	CK(pread(fd2, r, len, 0) == (ssize_t)len && memcmp(w, r, len) == 0);
	CK(close(fd) == 0 && close(fd2) == 0);
	free(w);
	free(r);
	return R_PASS;
}

static int t_dirops(const char *d)
{
	char s[PATH_MAX], f[PATH_MAX], p[PATH_MAX];
	struct stat st;

	pjoin(s, d, "sub");
	pjoin(f, d, "sub/f");
	CK(mkdir(s, 0750) == 0);
	CK(stat(s, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0750);
	CK(st.st_nlink == 2);
	CK_ERR(mkdir(s, 0755), EEXIST);
	CK(put(f, "x", 1) == 0);
	CK_ERR(rmdir(s), ENOTEMPTY);
	CK_ERR(rmdir(f), ENOTDIR);
	CK_ERR(unlink(s), EISDIR);
	pjoin(p, d, "sub/f/x");
	CK_ERR(mkdir(p, 0755), ENOTDIR);
	pjoin(p, d, "sub/inner");
	CK(mkdir(p, 0755) == 0);
	CK(stat(s, &st) == 0 && st.st_nlink == 3);
	CK(rmdir(p) == 0 && unlink(f) == 0 && rmdir(s) == 0);
	CK_ERR(stat(s, &st), ENOENT);
	return R_PASS;
}

/* bigdir: N entries created, listed (each seen exactly once), removed; timed. */
static int t_bigdir(const char *d)
{
	char s[PATH_MAX], name[32];
	struct timespec t0, t1, t2, t3;
	unsigned char *seen = calloc((size_t)bigdir_entries, 1);
	long i, count = 0;
	struct dirent *de;
	DIR *dir;
	int dfd, fd;

	if (!seen)
		return failf("out of memory");
	pjoin(s, d, "many");
	CK(mkdir(s, 0755) == 0);
	CK((dfd = open(s, O_RDONLY | O_DIRECTORY)) >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < bigdir_entries; i++) {
		snprintf(name, sizeof(name), "entry-%07ld", i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return failf("create %s: %s", name, strerror(errno));
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CK((dir = opendir(s)) != NULL);
	while ((de = readdir(dir))) {
		char *end;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strncmp(de->d_name, "entry-", 6) != 0)
			return failf("unexpected entry %s", de->d_name);
		i = strtol(de->d_name + 6, &end, 10);
		if (*end || i < 0 || i >= bigdir_entries || seen[i])
			return failf("entry %s out of range or listed twice", de->d_name);
		seen[i] = 1;
		count++;
	}
	closedir(dir);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (count != bigdir_entries)
		return failf("readdir listed %ld of %ld entries", count, bigdir_entries);
	for (i = 0; i < bigdir_entries; i++) {
		snprintf(name, sizeof(name), "entry-%07ld", i);
		if (unlinkat(dfd, name, 0) != 0)
			return failf("unlink %s: %s", name, strerror(errno));
	}
	clock_gettime(CLOCK_MONOTONIC, &t3);
	close(dfd);
	free(seen);
	CK(rmdir(s) == 0);
#define SECS(a, b) ((double)((b).tv_sec - (a).tv_sec) + ((b).tv_nsec - (a).tv_nsec) / 1e9)
	snprintf(why, sizeof(why), "%ld entries: create %.1fs, readdir %.1fs, unlink %.1fs",
		 bigdir_entries, SECS(t0, t1), SECS(t1, t2), SECS(t2, t3));
	return R_PASS;
}

static int t_longnames(const char *d)
{
	char n255[256], n256[257], p[PATH_MAX], q[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int found = 0;
	DIR *dir;

	memset(n255, 'a', 255);
	n255[255] = 0;
	memset(n256, 'b', 256);
	n256[256] = 0;
	pjoin(p, d, n255);
	CK(put(p, "long", 4) == 0);
	CK(stat(p, &st) == 0 && st.st_size == 4);
	CK((dir = opendir(d)) != NULL);
	while ((de = readdir(dir)))
		found += strcmp(de->d_name, n255) == 0;
	closedir(dir);
	CK(found == 1);
	n255[0] = 'c';
	pjoin(q, d, n255);
	CK(rename(p, q) == 0 && content_is(q, "long"));
	pjoin(p, d, n256);
	CK_ERR(open(p, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	CK_ERR(mkdir(p, 0755), ENAMETOOLONG);
	CK_ERR(symlink("x", p), ENAMETOOLONG);
	CK_ERR(rename(q, p), ENAMETOOLONG);
	CK_ERR(stat(p, &st), ENAMETOOLONG);
	CK(content_is(q, "long"));
	return R_PASS;
}

static int t_unicode(const char *d)
{
	static const char *const names[] = {
	    "h\xc3\xa9llo",				/* héllo, é precomposed (NFC) */
	    "he\xcc\x81llo",				/* héllo, e + combining acute (NFD) */
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt", /* 日本語.txt */
	    "emoji-\xf0\x9f\x98\x80",			/* emoji-😀 */
	    "\xce\xa9\xe2\x89\x88\xc3\xa7\xe2\x88\x9a", /* Ω≈ç√ */
	    "spaces and\ttab\nnewline",
	    "latin1-\xe9-not-utf8",
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	char p[PATH_MAX];
	int seen[8] = {0};
	struct dirent *de;
	size_t i, count = 0;
	DIR *dir;

	for (i = 0; i < n; i++) {
		pjoin(p, d, names[i]);
		CK(put(p, names[i], strlen(names[i])) == 0);
	}
	for (i = 0; i < n; i++) {
		pjoin(p, d, names[i]);
		if (!content_is(p, names[i]))
			return failf("name %zu does not read back its own content", i);
	}
	CK((dir = opendir(d)) != NULL);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		count++;
		for (i = 0; i < n; i++)
			seen[i] += strcmp(de->d_name, names[i]) == 0;
	}
	closedir(dir);
	for (i = 0; i < n; i++)
		if (seen[i] != 1)
			return failf("name %zu listed %d times (bytes changed?)", i, seen[i]);
	CK(count == n);
	return R_PASS;
}

static int t_symlink(const char *d)
{
	char l[PATH_MAX], t[PATH_MAX], buf[PATH_MAX], big[2000], dl[PATH_MAX], p[PATH_MAX];
	struct stat st;
	ssize_t n;

	pjoin(t, d, "target");
	pjoin(l, d, "link");
	CK(put(t, "via link", 8) == 0);
	CK(symlink("target", l) == 0);
	CK(lstat(l, &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 6);
	CK((n = readlink(l, buf, sizeof(buf))) == 6 && memcmp(buf, "target", 6) == 0);
	CK(content_is(l, "via link"));
	CK(stat(l, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 8);
	CK_ERR(open(l, O_RDONLY | O_NOFOLLOW), ELOOP);
	CK_ERR(symlink("other", l), EEXIST);
	/* dangling, and a long target read back byte for byte */
	pjoin(dl, d, "dangling");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "../nowhere/", 11);
	CK(symlink(big, dl) == 0);
	CK_ERR(stat(dl, &st), ENOENT);
	CK((n = readlink(dl, buf, sizeof(buf))) == (ssize_t)strlen(big) && !memcmp(buf, big, n));
	/* a link to a directory is walked by the guest */
	pjoin(p, d, "sub");
	CK(mkdir(p, 0755) == 0);
	pjoin(p, d, "sub/in");
	CK(put(p, "in sub", 6) == 0);
	pjoin(p, d, "dirlink");
	CK(symlink("./sub", p) == 0);
	pjoin(p, d, "dirlink/in");
	CK(content_is(p, "in sub"));
	CK(unlink(l) == 0 && content_is(t, "via link"));
	return R_PASS;
}

static int t_hardlink(const char *d)
{
	char a[PATH_MAX], b[PATH_MAX], s[PATH_MAX], p[PATH_MAX];
	struct stat sa, sb;

	pjoin(a, d, "a");
	pjoin(b, d, "b");
	pjoin(s, d, "sub");
	CK(put(a, "one", 3) == 0);
	CK(link(a, b) == 0);
	CK(stat(a, &sa) == 0 && stat(b, &sb) == 0);
	CK(sa.st_ino == sb.st_ino && sa.st_nlink == 2 && sb.st_nlink == 2);
	CK(put(b, "two", 3) == 0 && content_is(a, "two"));
	CK(mkdir(s, 0755) == 0);
	pjoin(p, d, "sub/c");
	CK(link(a, p) == 0 && stat(a, &sa) == 0 && sa.st_nlink == 3);
	CK_ERR(link(a, b), EEXIST);
	CK_ERR(link(s, p), EEXIST);
	pjoin(p, d, "dirlink");
	CK_ERR(link(s, p), EPERM);
	CK(unlink(a) == 0);
	CK(stat(b, &sb) == 0 && sb.st_nlink == 2 && content_is(b, "two"));
	return R_PASS;
}

static int t_chmod_times(const char *d)
{
	char f[PATH_MAX];
	struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
	struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	struct stat st, st2;
	int fd;

	pjoin(f, d, "f");
	CK(put(f, "x", 1) == 0);
	CK(chmod(f, 0600) == 0 && stat(f, &st) == 0 && (st.st_mode & 07777) == 0600);
	CK((fd = open(f, O_RDONLY)) >= 0);
	CK(fchmod(fd, 0751) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0751);
	CK(close(fd) == 0);
	CK(utimensat(AT_FDCWD, f, ts, 0) == 0 && stat(f, &st) == 0);
	if (st.st_atim.tv_sec != ts[0].tv_sec || st.st_atim.tv_nsec != ts[0].tv_nsec ||
	    st.st_mtim.tv_sec != ts[1].tv_sec || st.st_mtim.tv_nsec != ts[1].tv_nsec)
		return failf("times read back %lld.%09ld / %lld.%09ld",
			     (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
			     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	CK(utimensat(AT_FDCWD, f, omit, 0) == 0 && stat(f, &st2) == 0);
	CK(st2.st_atim.tv_sec == ts[0].tv_sec && st2.st_atim.tv_nsec == ts[0].tv_nsec);
	if (llabs((long long)st2.st_mtim.tv_sec - (long long)time(NULL)) > 120)
		return failf("UTIME_NOW set mtime %lld, clock says %lld",
			     (long long)st2.st_mtim.tv_sec, (long long)time(NULL));
	/* a write moves mtime forward again */
	CK(utimensat(AT_FDCWD, f, ts, 0) == 0);
	CK(put(f, "y", 1) == 0 && stat(f, &st) == 0 && st.st_mtim.tv_sec > ts[1].tv_sec);
	/* on a directory too */
	CK(utimensat(AT_FDCWD, d, ts, 0) == 0 && stat(d, &st) == 0);
	CK(st.st_mtim.tv_sec == ts[1].tv_sec);
	return R_PASS;
}

static int t_fifo(const char *d)
{
	char p[PATH_MAX], buf[8];
	struct stat st;
	int fd;

	pjoin(p, d, "fifo");
	CK(mkfifo(p, 0644) == 0);
	CK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
	CK((fd = open(p, O_RDWR | O_NONBLOCK)) >= 0);
	CK(write(fd, "ping", 4) == 4 && read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4));
	CK(close(fd) == 0);
	pjoin(p, d, "reg");
	CK(mknod(p, S_IFREG | 0600, 0) == 0 && lstat(p, &st) == 0 && S_ISREG(st.st_mode));
	return R_PASS;
}

static int t_fsync(const char *d)
{
	char f[PATH_MAX];
	int fd;

	pjoin(f, d, "f");
	CK((fd = open(f, O_RDWR | O_CREAT, 0644)) >= 0);
	CK(write(fd, "durable", 7) == 7);
	CK(fsync(fd) == 0);
	CK(pwrite(fd, "D", 1, 0) == 1);
	CK(fdatasync(fd) == 0);
	CK(close(fd) == 0);
	CK(content_is(f, "Durable"));
	CK((fd = open(f, O_RDONLY)) >= 0);
	CK(fsync(fd) == 0);
	CK(close(fd) == 0);
	CK((fd = open(d, O_RDONLY | O_DIRECTORY)) >= 0);
	CK(fsync(fd) == 0);
	CK(close(fd) == 0);
	sync();
	return R_PASS;
}

static int t_statfs(const char *d)
{
	struct statfs sf;
	struct statvfs sv;

	CK(statfs(d, &sf) == 0);
	CK(sf.f_bsize > 0 && sf.f_blocks > 0 && sf.f_bfree <= sf.f_blocks);
	CK(sf.f_bavail <= sf.f_bfree && sf.f_namelen >= 255);
	CK(statvfs(d, &sv) == 0 && sv.f_frsize > 0 && sv.f_blocks > 0 && sv.f_namemax >= 255);
	return R_PASS;
}

static int t_xattr(const char *d)
{
	char f[PATH_MAX], buf[8192], big[4000];
	ssize_t n;
	int fd;

	pjoin(f, d, "f");
	CK(put(f, "x", 1) == 0);
	if (setxattr(f, "user.sbx", "value1", 6, 0) != 0) {
		if (errno == EOPNOTSUPP || errno == ENOTSUP)
			return failf("user.* xattrs not supported: %s", strerror(errno));
		return failf("setxattr: %s", strerror(errno));
	}
	CK(getxattr(f, "user.sbx", NULL, 0) == 6);
	CK(getxattr(f, "user.sbx", buf, sizeof(buf)) == 6 && !memcmp(buf, "value1", 6));
	CK_ERR(getxattr(f, "user.sbx", buf, 2), ERANGE);
	CK_ERR(setxattr(f, "user.sbx", "v", 1, XATTR_CREATE), EEXIST);
	CK_ERR(setxattr(f, "user.none", "v", 1, XATTR_REPLACE), ENODATA);
	CK(setxattr(f, "user.sbx", "value2", 6, XATTR_REPLACE) == 0);
	memset(big, 'q', sizeof(big));
	CK(setxattr(f, "user.big", big, sizeof(big), XATTR_CREATE) == 0);
	CK(getxattr(f, "user.big", buf, sizeof(buf)) == (ssize_t)sizeof(big));
	CK(memcmp(buf, big, sizeof(big)) == 0);
	CK((n = listxattr(f, buf, sizeof(buf))) > 0);
	{
		int has_sbx = 0, has_big = 0;
		ssize_t i;

		for (i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
			has_sbx += !strcmp(buf + i, "user.sbx");
			has_big += !strcmp(buf + i, "user.big");
		}
		CK(has_sbx == 1 && has_big == 1);
	}
	CK(removexattr(f, "user.sbx") == 0);
	CK_ERR(getxattr(f, "user.sbx", buf, sizeof(buf)), ENODATA);
	CK_ERR(removexattr(f, "user.sbx"), ENODATA);
	/* through an fd, and on a directory */
	CK((fd = open(f, O_RDONLY)) >= 0);
	CK(fsetxattr(fd, "user.fd", "1", 1, 0) == 0 && fgetxattr(fd, "user.fd", buf, 8) == 1);
	CK(close(fd) == 0);
	CK(setxattr(d, "user.dir", "dv", 2, 0) == 0 && getxattr(d, "user.dir", buf, 8) == 2);
	return R_PASS;
}

static int t_locks(const char *d)
{
	char f[PATH_MAX];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
	int a, b, st;
	pid_t pid;

	pjoin(f, d, "lock");
	CK(put(f, "locked", 6) == 0);
	CK((a = open(f, O_RDWR)) >= 0);
	CK((b = open(f, O_RDWR)) >= 0);
	CK(flock(a, LOCK_EX) == 0);
	CK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	CK(flock(a, LOCK_UN) == 0);
	CK(flock(b, LOCK_SH | LOCK_NB) == 0 && flock(a, LOCK_SH | LOCK_NB) == 0);
	CK(flock(a, LOCK_UN) == 0 && flock(b, LOCK_UN) == 0);
	/* POSIX record locks are per process: a child must see ours */
	CK(fcntl(a, F_SETLK, &fl) == 0);
	pid = fork();
	CK(pid >= 0);
	if (pid == 0) {
		struct flock c = {
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
		int fd = open(f, O_RDWR), code = 0;

		alarm(30);
		if (fd < 0)
			_exit(10);
		if (fcntl(fd, F_SETLK, &c) != -1 || (errno != EAGAIN && errno != EACCES))
			code |= 1;
		c = (struct flock){
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
		if (fcntl(fd, F_GETLK, &c) != 0 || c.l_type != F_WRLCK)
			code |= 2;
		else if (c.l_pid != getppid()) {
			printf("# F_GETLK names pid %d as the holder, want %d\n", (int)c.l_pid,
			       (int)getppid());
			code |= 8;
		}
		c = (struct flock){
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 10};
		if (fcntl(fd, F_SETLK, &c) != 0)
			code |= 4;
		_exit(code);
	}
	CK(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return failf("child lock checks failed (status 0x%x: 1=conflict not refused, "
			     "2=F_GETLK type wrong, 4=free range refused, 8=F_GETLK l_pid wrong, "
			     "10=open)",
			     st);
	/* the lock goes when any fd of ours on the file closes (POSIX), then a child gets it */
	CK(close(b) == 0);
	pid = fork();
	CK(pid >= 0);
	if (pid == 0) {
		struct flock c = {
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
		int fd = open(f, O_RDWR);

		alarm(30);
		_exit(fd >= 0 && fcntl(fd, F_SETLK, &c) == 0 ? 0 : 1);
	}
	CK(waitpid(pid, &st, 0) == pid);
	CK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CK(close(a) == 0);
	return R_PASS;
}

static int t_fallocate(const char *d)
{
	char f[PATH_MAX], buf[8192];
	struct stat st;
	int fd, i;

	pjoin(f, d, "f");
	CK((fd = open(f, O_RDWR | O_CREAT, 0644)) >= 0);
	CK(fallocate(fd, 0, 0, 1 << 20) == 0);
	CK(fstat(fd, &st) == 0 && st.st_size == 1 << 20 && st.st_blocks >= (1 << 20) / 512);
	CK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) == 0);
	CK(fstat(fd, &st) == 0 && st.st_size == 1 << 20 && st.st_blocks >= (2 << 20) / 512);
	memset(buf, 'F', sizeof(buf));
	CK(pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	CK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096) == 0);
	CK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	for (i = 0; i < 8192; i++)
		if (buf[i] != (i >= 4096 ? 0 : 'F'))
			return failf("after punching [4096,8192) byte %d is %d", i, buf[i]);
	CK(fstat(fd, &st) == 0 && st.st_size == 1 << 20);
	CK(posix_fallocate(fd, 0, 3 << 20) == 0);
	CK(fstat(fd, &st) == 0 && st.st_size == 3 << 20);
	CK(close(fd) == 0);
	return R_PASS;
}

static int has_name(const char *d, const char *name)
{
	struct dirent *de;
	int n = 0;
	DIR *dir = opendir(d);

	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		n += strcmp(de->d_name, name) == 0;
	closedir(dir);
	return n;
}

static int t_readdir_rename(const char *d)
{
	char p[PATH_MAX], q[PATH_MAX], s[PATH_MAX];
	struct dirent *de;
	int i, count = 0, old = 0, new = 0;
	DIR *dir;

	for (i = 0; i < 100; i++) {
		char nm[16];

		snprintf(nm, sizeof(nm), "f%03d", i);
		pjoin(p, d, nm);
		CK(put(p, "", 0) == 0);
	}
	CK((dir = opendir(d)) != NULL);
	while ((de = readdir(dir)))
		count += de->d_name[0] == 'f';
	CK(count == 100);
	pjoin(p, d, "f050");
	pjoin(q, d, "g050");
	CK(rename(p, q) == 0);
	rewinddir(dir);
	count = 0;
	while ((de = readdir(dir))) {
		count += de->d_name[0] == 'f' || de->d_name[0] == 'g';
		old += strcmp(de->d_name, "f050") == 0;
		new += strcmp(de->d_name, "g050") == 0;
	}
	closedir(dir);
	if (count != 100 || old != 0 || new != 1)
		return failf("after rename readdir saw %d entries, old name %d times, new %d times",
			     count, old, new);
	/* moved into a subdirectory: gone here, listed there */
	pjoin(s, d, "sub");
	CK(mkdir(s, 0755) == 0);
	pjoin(p, d, "sub/g050");
	CK(rename(q, p) == 0);
	CK(has_name(d, "g050") == 0 && has_name(s, "g050") == 1);
	return R_PASS;
}

static int t_getcwd(const char *d)
{
	char s[PATH_MAX], want[PATH_MAX], buf[PATH_MAX], back[PATH_MAX];
	int ret = R_PASS;

	CK(getcwd(back, sizeof(back)) != NULL);
	pjoin(s, d, "sub");
	CK(mkdir(s, 0755) == 0);
	CK(chdir(s) == 0);
	if (!getcwd(buf, sizeof(buf)) || strcmp(buf, s) != 0)
		ret = failf("getcwd says '%s', want '%s'", buf, s);
	/* the directory renamed under us: getcwd follows */
	pjoin(want, d, "moved");
	if (ret == R_PASS && rename(s, want) != 0)
		ret = failf("rename cwd: %s", strerror(errno));
	if (ret == R_PASS && (!getcwd(buf, sizeof(buf)) || strcmp(buf, want) != 0))
		ret = failf("getcwd after rename says '%s', want '%s'", buf, want);
	if (ret == R_PASS && (put("rel", "r", 1) != 0 || access("../moved/rel", F_OK) != 0))
		ret = failf("relative paths from the cwd: %s", strerror(errno));
	CK(chdir(back) == 0);
	return ret;
}

static int t_perms(const char *d)
{
	char f[PATH_MAX], s[PATH_MAX], p[PATH_MAX];
	struct stat st;

	if (geteuid() == 0) {
		snprintf(why, sizeof(why), "running as root, permission checks do not apply");
		return R_SKIP;
	}
	pjoin(f, d, "f");
	pjoin(s, d, "sub");
	CK(put(f, "secret", 6) == 0);
	CK(chmod(f, 0) == 0);
	CK_ERR(open(f, O_RDONLY), EACCES);
	CK_ERR(open(f, O_WRONLY), EACCES);
	CK(chmod(f, 0400) == 0 && content_is(f, "secret"));
	CK_ERR(open(f, O_WRONLY), EACCES);
	CK(mkdir(s, 0755) == 0);
	pjoin(p, d, "sub/x");
	CK(put(p, "x", 1) == 0);
	CK(chmod(s, 0600) == 0);
	CK_ERR(stat(p, &st), EACCES);
	CK(chmod(s, 0500) == 0);
	CK(stat(p, &st) == 0);
	CK_ERR(unlink(p), EACCES);
	CK(chmod(s, 0755) == 0);
	CK_ERR(chown(f, 0, 0), EPERM);
	return R_PASS;
}

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
	while (pid > 0 && got < sizeof(msg) - 1) {
		if (poll(&pfd, 1, CHECK_SECONDS * 1000) <= 0) {
			kill(pid, SIGKILL);
			printf("FAIL %s: no answer within %d s (the file system may be stuck; "
			       "stopping)\n",
			       c->name, CHECK_SECONDS);
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
