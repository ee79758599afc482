/* Unit tests of src/common/iobuf.c on unix socket pairs: put/consume/compact bookkeeping,
 * reads (append, compaction when the tail is full, full, EOF, nothing yet, errors) and writes
 * (drain and reset, partial when the peer's buffer fills, counting, a gone peer without
 * SIGPIPE, nothing to send). */
#include "common/iobuf.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

static int pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
}

TEST(put_consume_compact)
{
	struct iobuf b;

	CHECK_EQ(iobuf_init(&b, 8), 0);
	CHECK_EQ(b.cap, 8);
	CHECK_EQ(iobuf_data(&b), 0);
	CHECK_EQ(iobuf_put(&b, "abcdef", 6), 6);
	CHECK_EQ(iobuf_put(&b, "ghij", 4), 2); /* only what the tail holds */
	CHECK_EQ(iobuf_data(&b), 8);
	CHECK_EQ(iobuf_room(&b), 0);
	CHECK(memcmp(b.d, "abcdefgh", 8) == 0);
	iobuf_consume(&b, 3);
	CHECK_EQ(b.off, 3);
	CHECK_EQ(iobuf_data(&b), 5);
	CHECK_EQ(iobuf_room(&b), 3);
	CHECK_EQ(iobuf_put(&b, "x", 1), 0); /* put never compacts */
	iobuf_compact(&b);
	CHECK_EQ(b.off, 0);
	CHECK_EQ(b.len, 5);
	CHECK(memcmp(b.d, "defgh", 5) == 0);
	iobuf_consume(&b, 100); /* at most what it holds; emptied starts over */
	CHECK_EQ(b.off, 0);
	CHECK_EQ(b.len, 0);
	iobuf_free(&b);
	CHECK(b.d == NULL);
	CHECK_EQ(b.cap, 0);
	iobuf_free(&b); /* twice is fine */
}

TEST(read_append_full_eof)
{
	struct iobuf b;
	int sv[2];

	CHECK_EQ(pair(sv), 0);
	CHECK_EQ(iobuf_init(&b, 8), 0);
	errno = 0;
	CHECK_EQ(iobuf_read(sv[0], &b), -1); /* nothing yet */
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(write(sv[1], "12345", 5), 5);
	CHECK_EQ(iobuf_read(sv[0], &b), 5);
	CHECK_EQ(write(sv[1], "6789AB", 6), 6);
	CHECK_EQ(iobuf_read(sv[0], &b), 3); /* what fits */
	CHECK(memcmp(b.d, "12345678", 8) == 0);
	errno = 0;
	CHECK_EQ(iobuf_read(sv[0], &b), -1); /* full: EAGAIN, nothing consumed */
	CHECK_EQ(errno, EAGAIN);
	iobuf_consume(&b, 6);
	CHECK_EQ(iobuf_read(sv[0], &b), 3); /* tail full, head free: compacted first */
	CHECK_EQ(b.off, 0);
	CHECK_EQ(iobuf_data(&b), 5);
	CHECK(memcmp(b.d, "789AB", 5) == 0);
	close(sv[1]);
	CHECK_EQ(iobuf_read(sv[0], &b), 0); /* EOF */
	close(sv[0]);
	errno = 0;
	CHECK_EQ(iobuf_read(sv[0], &b), -1); /* a real error is not EAGAIN */
	CHECK_EQ(errno, EBADF);
	iobuf_free(&b);
}

TEST(write_drain_partial_count)
{
	struct iobuf b, r;
	uint64_t count = 5;
	int sv[2], sz = 4096, w;
	size_t total = 0;

	CHECK_EQ(pair(sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	CHECK_EQ(iobuf_init(&b, 1u << 20), 0);
	CHECK_EQ(iobuf_init(&r, 1u << 20), 0);
	CHECK_EQ(iobuf_write(sv[0], &b, &count), 0); /* nothing queued */
	CHECK_EQ(count, 5);
	memset(b.d, 'z', b.cap);
	b.len = b.cap;
	iobuf_consume(&b, 10);
	CHECK_EQ(iobuf_write(sv[0], &b, &count), 1); /* some went, then it would block */
	CHECK(iobuf_data(&b) > 0);
	CHECK_EQ(count, 5 + (b.off - 10));
	CHECK_EQ(iobuf_write(sv[0], &b, &count), 0); /* the peer reads nothing: none go */
	/* the peer reads; everything drains and @b starts over */
	for (int i = 0; i < 100000 && (iobuf_data(&b) || total < b.cap - 10); i++) {
		w = iobuf_write(sv[0], &b, NULL);
		CHECK(w >= 0);
		while (iobuf_read(sv[1], &r) > 0) {
			total += iobuf_data(&r);
			iobuf_consume(&r, iobuf_data(&r));
		}
	}
	CHECK_EQ(total, b.cap - 10);
	CHECK_EQ(b.off, 0);
	CHECK_EQ(b.len, 0);
	iobuf_put(&b, "late", 4);
	close(sv[1]);
	count = 0;
	errno = 0;
	CHECK_EQ(iobuf_write(sv[0], &b, &count), -1); /* peer gone, and no SIGPIPE */
	CHECK_EQ(errno, EPIPE);
	CHECK_EQ(count, 0);
	close(sv[0]);
	iobuf_free(&b);
	iobuf_free(&r);
}

int main(void)
{
	RUN(put_consume_compact);
	RUN(read_append_full_eof);
	RUN(write_drain_partial_count);
	T_EXIT();
}
