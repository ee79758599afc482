/* Small whole-file helpers for sbx-init and its runc wrapper: read a regular file (size
 * capped) into memory, write one atomically (a temp file beside it, then rename). */
#include "guest/gi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

char *gi_file_read_fd(int fd, size_t max, size_t *len)
{
	struct stat st;
	char *b;
	size_t off = 0;
	int e = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else if ((size_t)st.st_size > max)
		e = EFBIG;
	if (e) {
		close(fd);
		errno = e;
		return NULL;
	}
	b = malloc((size_t)st.st_size + 1);
	while (b && off < (size_t)st.st_size) {
		ssize_t n = read(fd, b + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	b[off] = 0;
	*len = off;
	return b;
}

char *gi_file_read(const char *path, size_t max, size_t *len)
{
	return gi_file_read_fd(open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), max, len);
}

int gi_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode, bool sync)
{
	char tmp[PATH_MAX];
	int fd;
	size_t off = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.sbx-tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0) || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) == 0)
		return 0;
	fd = -1;
fail : {
	int e = errno;

	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
}
	return -1;
}
