/* Shared by the fuzz targets of stream parsers (guest_dns_stream.c, ports_stream.c): the
 * input handed over as a reader gets it from a socket — cut into reads of one size into a
 * fixed buffer the size of the reader's, the parsed bytes dropped from its front after each
 * read. Test-only; include once per fuzz target. */
#ifndef SBX_FUZZ_STREAM_FEED_H
#define SBX_FUZZ_STREAM_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A stream being fed: @in[@off..@size) still to come, @chunk bytes a read at the most, into
 * @buf (@cap bytes) that holds @len unparsed bytes. */
struct feed {
	const uint8_t *in;
	size_t size, off, chunk;
	uint8_t *buf;
	size_t cap, len;
};

/**
 * feed_read() - one read: the next (up to) @f->chunk input bytes appended to @f->buf, as many
 * as fit. Return: the bytes appended; 0 when the input is done or the buffer is full.
 */
static inline size_t feed_read(struct feed *f)
{
	size_t take = f->size - f->off < f->chunk ? f->size - f->off : f->chunk;

	if (take > f->cap - f->len)
		take = f->cap - f->len;
	memcpy(f->buf + f->len, f->in + f->off, take);
	f->len += take;
	f->off += take;
	return take;
}

/* feed_consume() - drop the @used bytes the parser took from the front of @f->buf. */
static inline void feed_consume(struct feed *f, size_t used)
{
	memmove(f->buf, f->buf + used, f->len - used);
	f->len -= used;
}

#endif
