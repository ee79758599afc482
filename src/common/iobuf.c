/* The bounded byte queue and its socket reads and writes (see iobuf.h). Owns only the
 * buffer memory; never closes, shuts down or polls the caller's fds. */
#include "common/iobuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int iobuf_init(struct iobuf *b, size_t cap)
{
	b->off = b->len = 0;
	b->d = malloc(cap);
	b->cap = b->d ? cap : 0;
	return b->d ? 0 : -1;
}

void iobuf_free(struct iobuf *b)
{
	free(b->d);
	b->d = NULL;
	b->off = b->len = b->cap = 0;
}

void iobuf_compact(struct iobuf *b)
{
	if (!b->off)
		return;
	memmove(b->d, b->d + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

size_t iobuf_put(struct iobuf *b, const void *s, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	if (n)
		memcpy(b->d + b->len, s, n);
	b->len += n;
	return n;
}

void iobuf_consume(struct iobuf *b, size_t n)
{
	if (n > iobuf_data(b))
		n = iobuf_data(b);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

ssize_t iobuf_read(int fd, struct iobuf *b)
{
	ssize_t n;

	if (b->off && b->len == b->cap)
		iobuf_compact(b);
	if (b->len == b->cap) {
		errno = EAGAIN;
		return -1;
	}
	do
		n = recv(fd, b->d + b->len, b->cap - b->len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		b->len += (size_t)n;
	return n;
}

int iobuf_write(int fd, struct iobuf *b, uint64_t *count)
{
	size_t sent = 0;

	while (b->off < b->len) {
		ssize_t n = send(fd, b->d + b->off, b->len - b->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		b->off += (size_t)n;
		sent += (size_t)n;
		if (count)
			*count += (uint64_t)n;
	}
	if (b->off == b->len)
		b->off = b->len = 0;
	return sent > 0;
}
