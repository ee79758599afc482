/* The FUSE-server test harness shared by fs_test.c and fs_evict_test.c: a share in a temp
 * directory, requests built as byte buffers and handed to the dispatcher as one chain, and
 * helpers for the common requests. Test-only; include once per test binary. */
#ifndef SBX_TESTS_FS_HARNESS_H
#define SBX_TESTS_FS_HARNESS_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "virtio/fs/fs_int.h"

static char root[64];
static struct fs_srv *S;
static struct fs_scratch *SC;
static uint8_t reqbuf[1 << 21], outbuf[1 << 21];
static uint64_t uniq;

static inline char *hp(const char *rel) /* host path inside the share */
{
	static char b[4][PATH_MAX];
	static int i;
	char *p = b[i++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", root, rel);
	return p;
}

/* Send raw request bytes (after the header). Return -error, or 0 with the reply body copied. */
static inline int raw(struct fs_srv *s, uint32_t op, uint64_t node, const void *body, size_t blen,
		      void *rep, size_t *rlen)
{
	struct fuse_in_header h = {
	    .len = (uint32_t)(sizeof(h) + blen), .opcode = op, .unique = ++uniq, .nodeid = node};
	struct vq_chain c = {0};
	struct fuse_out_header oh;
	uint32_t n;

	memcpy(reqbuf, &h, sizeof(h));
	if (blen)
		memcpy(reqbuf + sizeof(h), body, blen);
	c.nr_rd = 1;
	c.rd[0] = (struct vq_seg){reqbuf, (uint32_t)(sizeof(h) + blen)};
	c.rd_len = c.rd[0].len;
	c.nr_wr = 1;
	c.wr[0] = (struct vq_seg){outbuf, sizeof(outbuf)};
	c.wr_len = sizeof(outbuf);
	memset(outbuf, 0xAA, 64);
	n = fs_srv_handle(s, &c, SC);
	if (n == 0)
		return 1; /* no reply */
	memcpy(&oh, outbuf, sizeof(oh));
	CHECK_EQ(oh.unique, uniq);
	CHECK_EQ(oh.len, n);
	if (rlen)
		*rlen = n - sizeof(oh);
	if (rep && n > sizeof(oh))
		memcpy(rep, outbuf + sizeof(oh), n - sizeof(oh));
	return oh.error;
}

/* A request: fixed body, then up to two NUL-terminated names. */
static inline int req(struct fs_srv *s, uint32_t op, uint64_t node, const void *body, size_t blen,
		      const char *n1, const char *n2, void *rep, size_t *rlen)
{
	static uint8_t b[1 << 17];
	size_t l = blen;

	if (blen)
		memcpy(b, body, blen);
	if (n1) {
		memcpy(b + l, n1, strlen(n1) + 1);
		l += strlen(n1) + 1;
	}
	if (n2) {
		memcpy(b + l, n2, strlen(n2) + 1);
		l += strlen(n2) + 1;
	}
	return raw(s, op, node, b, l, rep, rlen);
}

static inline int do_init(struct fs_srv *s, struct fuse_init_out *o)
{
	struct fuse_init_in in = {.major = 7,
				  .minor = 38,
				  .max_readahead = 131072,
				  .flags = 0xffffffffu & ~FUSE_WRITEBACK_CACHE};
	return req(s, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL, o, NULL);
}

static inline struct fs_srv *srv_new(bool ro)
{
	struct fs_share_config cfg = {
	    .root = root, .tag = "t", .readonly = ro, .owner_uid = getuid(), .owner_gid = getgid()};
	struct fs_srv *s = fs_srv_new(&cfg);

	if (!s || do_init(s, &(struct fuse_init_out){0}) != 0)
		abort();
	return s;
}

static inline int lookup(struct fs_srv *s, uint64_t dir, const char *name, struct fuse_entry_out *e)
{
	return req(s, FUSE_LOOKUP, dir, NULL, 0, name, NULL, e, NULL);
}

static inline uint64_t nid(const char *name)
{
	struct fuse_entry_out e = {0};

	CHECK_EQ(lookup(S, FUSE_ROOT_ID, name, &e), 0);
	return e.nodeid;
}

static inline int create(struct fs_srv *s, uint64_t dir, const char *name, uint32_t mode,
			 uint32_t flags, struct fuse_entry_out *e, uint64_t *fh)
{
	struct fuse_create_in in = {.flags = flags, .mode = S_IFREG | mode};
	uint8_t rep[sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)];
	struct fuse_open_out o;
	int rc = req(s, FUSE_CREATE, dir, &in, sizeof(in), name, NULL, rep, NULL);

	if (rc == 0) {
		if (e)
			memcpy(e, rep, sizeof(*e));
		memcpy(&o, rep + sizeof(*e), sizeof(o));
		*fh = o.fh;
	}
	return rc;
}

static inline int write_data(struct fs_srv *s, uint64_t node, uint64_t fh, uint64_t off,
			     const void *d, size_t len, uint32_t *written)
{
	static uint8_t b[1 << 17];
	struct fuse_write_in in = {.fh = fh, .offset = off, .size = (uint32_t)len};
	struct fuse_write_out o = {0};
	int rc;

	memcpy(b, &in, sizeof(in));
	memcpy(b + sizeof(in), d, len);
	rc = raw(s, FUSE_WRITE, node, b, sizeof(in) + len, &o, NULL);
	if (written)
		*written = o.size;
	return rc;
}

static inline int read_data(struct fs_srv *s, uint64_t node, uint64_t fh, uint64_t off,
			    uint32_t size, void *d, size_t *len)
{
	struct fuse_read_in in = {.fh = fh, .offset = off, .size = size};
	return req(s, FUSE_READ, node, &in, sizeof(in), NULL, NULL, d, len);
}

static inline int host_read(const char *rel, char *buf, size_t n)
{
	int fd = open(hp(rel), O_RDONLY);
	ssize_t l;

	if (fd < 0)
		return -1;
	l = read(fd, buf, n - 1);
	close(fd);
	buf[l < 0 ? 0 : l] = 0;
	return (int)l;
}

#endif
