/* A bounded byte queue, data in d[off, len) of cap bytes, and the non-blocking socket reads
 * and writes that fill and drain it: one copy for every event-loop service of sbxd. Owns only
 * the memory iobuf_init() gives it; never blocks (MSG_DONTWAIT), never raises SIGPIPE
 * (MSG_NOSIGNAL), never reads past cap. What a caller does at EOF or on an error is its own. */
#ifndef SBX_COMMON_IOBUF_H
#define SBX_COMMON_IOBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A byte queue: data in d[off, len); d holds cap bytes. */
struct iobuf {
	uint8_t *d;
	size_t off, len, cap;
};

/**
 * iobuf_init() - give @b an empty buffer of @cap bytes.
 * Return: 0, or -1 (out of memory: @b->d is NULL, iobuf_free() is still safe).
 */
int iobuf_init(struct iobuf *b, size_t cap);

/**
 * iobuf_free() - release @b's memory (NULL d is fine) and leave it empty.
 */
void iobuf_free(struct iobuf *b);

/**
 * iobuf_data() - how many bytes @b holds.
 */
static inline size_t iobuf_data(const struct iobuf *b)
{
	return b->len - b->off;
}

/**
 * iobuf_room() - how many more bytes @b can take, counting the consumed ones before off.
 */
static inline size_t iobuf_room(const struct iobuf *b)
{
	return b->cap - iobuf_data(b);
}

/**
 * iobuf_compact() - move @b's data to the start of its buffer (off becomes 0).
 */
void iobuf_compact(struct iobuf *b);

/**
 * iobuf_put() - append what fits of @n bytes at @s after len (no compaction).
 * Return: bytes appended (fewer than @n when the tail is short).
 */
size_t iobuf_put(struct iobuf *b, const void *s, size_t n);

/**
 * iobuf_consume() - drop @n bytes from the front of @b's data (at most what it holds);
 * an emptied @b starts again at offset 0.
 */
void iobuf_consume(struct iobuf *b, size_t n);

/**
 * iobuf_read() - one recv() from @fd of what fits after len; when the tail is full but
 * bytes before off were consumed, the data is first moved to the front. EINTR is retried.
 * Return: bytes read, 0 at EOF, -1 with errno set (EAGAIN: nothing to read now, or @b is
 * full). Syscalls: recv.
 */
ssize_t iobuf_read(int fd, struct iobuf *b);

/**
 * iobuf_write() - send what @b holds to @fd until it is empty or the socket would block;
 * an emptied @b starts again at offset 0. EINTR is retried. When @count is not NULL, every
 * byte sent is added to *@count, also those sent before an error.
 * Return: 1 when some bytes went, 0 when none did (nothing queued, or would block), -1 with
 * errno set when the peer is gone (any error but EAGAIN). Syscalls: send.
 */
int iobuf_write(int fd, struct iobuf *b, uint64_t *count);

#endif
