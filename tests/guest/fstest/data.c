/* fstest checks of file contents and sizes: create/O_EXCL/O_TRUNC, renames, unlink while open,
 * O_APPEND, truncate, shared mmap, sparse and >4 GiB files, large and O_DIRECT transfers.
 * Each check runs in its own fresh directory and touches nothing outside it. */
#include "fstest.h"

int t_create_excl(const char *d)
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

int t_otrunc(const char *d)
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

int t_rename_file(const char *d)
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

int t_rename_dir(const char *d)
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

int t_rename2(const char *d)
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

int t_unlink_open(const char *d)
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

int t_append(const char *d)
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

int t_truncate(const char *d)
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

int t_mmap_shared(const char *d)
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

int t_sparse(const char *d)
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

int t_seek_hole(const char *d)
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

int t_large(const char *d)
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

int t_bigio(const char *d)
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
int t_bigio_direct(const char *d)
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
