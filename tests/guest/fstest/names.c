/* fstest checks of the name space and metadata: directories (and a big one), long and unicode
 * names, symlinks, hard links, modes and times, fifos, fsync, statfs, xattrs, locks, fallocate,
 * readdir across renames, getcwd, permissions. Each check runs in its own fresh directory. */
#include "fstest.h"

int t_dirops(const char *d)
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
int t_bigdir(const char *d)
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
	snprintf(why, sizeof(why), "%ld entries: create %.1fs, readdir %.1fs, unlink %.1fs",
		 bigdir_entries, SECS(t0, t1), SECS(t1, t2), SECS(t2, t3));
	return R_PASS;
}

int t_longnames(const char *d)
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

int t_unicode(const char *d)
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

int t_symlink(const char *d)
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

int t_hardlink(const char *d)
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

int t_chmod_times(const char *d)
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

int t_fifo(const char *d)
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

int t_fsync(const char *d)
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

int t_statfs(const char *d)
{
	struct statfs sf;
	struct statvfs sv;

	CK(statfs(d, &sf) == 0);
	CK(sf.f_bsize > 0 && sf.f_blocks > 0 && sf.f_bfree <= sf.f_blocks);
	CK(sf.f_bavail <= sf.f_bfree && sf.f_namelen >= 255);
	CK(statvfs(d, &sv) == 0 && sv.f_frsize > 0 && sv.f_blocks > 0 && sv.f_namemax >= 255);
	return R_PASS;
}

int t_xattr(const char *d)
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

int t_locks(const char *d)
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

int t_fallocate(const char *d)
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

int t_readdir_rename(const char *d)
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

int t_getcwd(const char *d)
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

int t_perms(const char *d)
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
