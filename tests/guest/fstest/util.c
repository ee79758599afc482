/* fstest helpers: the failure text, small whole-file reads and writes, path joining and tree
 * removal. Never follows a symlink out of the test directory (nftw with FTW_PHYS). */
#include "fstest.h"

char base[PATH_MAX]; /* DIR/fstest.<pid>, absolute and canonical */
char why[1024];
long bigdir_entries = 50000;

int failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return R_FAIL;
}

int put(const char *path, const void *data, size_t len)
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
ssize_t get(const char *path, void *buf, size_t cap)
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

int content_is(const char *path, const char *want)
{
	char buf[4096];
	ssize_t n = get(path, buf, sizeof(buf));

	return n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0;
}

/* pjoin() - @out (PATH_MAX bytes) = "@d/@name"; an over-long path is cut (and then fails). */
__attribute__((noinline)) char *pjoin(char *out, const char *d, const char *name)
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

void rm_tree(const char *p)
{
	nftw(p, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}
