/* FUSE request parsing (see fuse_req.h): one table of body sizes and argument kinds per opcode,
 * every length checked against the header and the chain. Never trusts in_header.len beyond the
 * bytes really present; never returns a pointer into guest memory except the WRITE payload offset.
 */
#include "virtio/fs/fuse_req.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

enum arg_kind {
	ARG_NONE,   /* fixed body only (trailing bytes ignored) */
	ARG_NAME,   /* body + entry name */
	ARG_NAME2,  /* body + old name + new name */
	ARG_SYMLNK, /* entry name + link target */
	ARG_XNAME,  /* body + xattr name */
	ARG_SETX,   /* body + xattr name + value */
	ARG_BATCH,  /* batch forget list */
	ARG_DATA,   /* write payload stays in the chain */
	ARG_INIT,   /* variable-size init body */
};

struct op_shape {
	uint16_t body;
	uint8_t kind;
	uint8_t known;
};

static const struct op_shape shapes[] = {
    [FUSE_LOOKUP] = {0, ARG_NAME, 1},
    [FUSE_FORGET] = {sizeof(struct fuse_forget_in), ARG_NONE, 1},
    [FUSE_GETATTR] = {sizeof(struct fuse_getattr_in), ARG_NONE, 1},
    [FUSE_SETATTR] = {sizeof(struct fuse_setattr_in), ARG_NONE, 1},
    [FUSE_READLINK] = {0, ARG_NONE, 1},
    [FUSE_SYMLINK] = {0, ARG_SYMLNK, 1},
    [FUSE_MKNOD] = {sizeof(struct fuse_mknod_in), ARG_NAME, 1},
    [FUSE_MKDIR] = {sizeof(struct fuse_mkdir_in), ARG_NAME, 1},
    [FUSE_UNLINK] = {0, ARG_NAME, 1},
    [FUSE_RMDIR] = {0, ARG_NAME, 1},
    [FUSE_RENAME] = {sizeof(struct fuse_rename_in), ARG_NAME2, 1},
    [FUSE_LINK] = {sizeof(struct fuse_link_in), ARG_NAME, 1},
    [FUSE_OPEN] = {sizeof(struct fuse_open_in), ARG_NONE, 1},
    [FUSE_READ] = {sizeof(struct fuse_read_in), ARG_NONE, 1},
    [FUSE_WRITE] = {sizeof(struct fuse_write_in), ARG_DATA, 1},
    [FUSE_STATFS] = {0, ARG_NONE, 1},
    [FUSE_RELEASE] = {sizeof(struct fuse_release_in), ARG_NONE, 1},
    [FUSE_FSYNC] = {sizeof(struct fuse_fsync_in), ARG_NONE, 1},
    [FUSE_SETXATTR] = {FUSE_COMPAT_SETXATTR_IN_SIZE, ARG_SETX, 1},
    [FUSE_GETXATTR] = {sizeof(struct fuse_getxattr_in), ARG_XNAME, 1},
    [FUSE_LISTXATTR] = {sizeof(struct fuse_getxattr_in), ARG_NONE, 1},
    [FUSE_REMOVEXATTR] = {0, ARG_XNAME, 1},
    [FUSE_FLUSH] = {sizeof(struct fuse_flush_in), ARG_NONE, 1},
    [FUSE_INIT] = {0, ARG_INIT, 1},
    [FUSE_OPENDIR] = {sizeof(struct fuse_open_in), ARG_NONE, 1},
    [FUSE_READDIR] = {sizeof(struct fuse_read_in), ARG_NONE, 1},
    [FUSE_RELEASEDIR] = {sizeof(struct fuse_release_in), ARG_NONE, 1},
    [FUSE_FSYNCDIR] = {sizeof(struct fuse_fsync_in), ARG_NONE, 1},
    [FUSE_GETLK] = {sizeof(struct fuse_lk_in), ARG_NONE, 1},
    [FUSE_SETLK] = {sizeof(struct fuse_lk_in), ARG_NONE, 1},
    [FUSE_SETLKW] = {sizeof(struct fuse_lk_in), ARG_NONE, 1},
    [FUSE_ACCESS] = {sizeof(struct fuse_access_in), ARG_NONE, 1},
    [FUSE_CREATE] = {sizeof(struct fuse_create_in), ARG_NAME, 1},
    [FUSE_INTERRUPT] = {sizeof(struct fuse_interrupt_in), ARG_NONE, 1},
    [FUSE_DESTROY] = {0, ARG_NONE, 1},
    [FUSE_BATCH_FORGET] = {sizeof(struct fuse_batch_forget_in), ARG_BATCH, 1},
    [FUSE_FALLOCATE] = {sizeof(struct fuse_fallocate_in), ARG_NONE, 1},
    [FUSE_READDIRPLUS] = {sizeof(struct fuse_read_in), ARG_NONE, 1},
    [FUSE_RENAME2] = {sizeof(struct fuse_rename2_in), ARG_NAME2, 1},
    [FUSE_LSEEK] = {sizeof(struct fuse_lseek_in), ARG_NONE, 1},
};

int fuse_name_check(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '\0', len) || memchr(name, '/', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EPERM;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Take one NUL-terminated string starting at *p (before @end); advance past its NUL. */
static int take_str(const uint8_t **p, const uint8_t *end, const char **s, size_t *len)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));

	if (!nul)
		return -EINVAL;
	*s = (const char *)*p;
	*len = (size_t)(nul - *p);
	*p = nul + 1;
	return 0;
}

static int parse_args(struct fuse_req *q, uint8_t kind, const uint8_t *p, const uint8_t *end)
{
	int rc;

	switch (kind) {
	case ARG_NAME:
		if ((rc = take_str(&p, end, &q->name, &q->name_len)) < 0)
			return rc;
		if (p != end) /* a NUL inside the name's length */
			return -EINVAL;
		return fuse_name_check(q->name, q->name_len);
	case ARG_NAME2:
	case ARG_SYMLNK:
		if ((rc = take_str(&p, end, &q->name, &q->name_len)) < 0 ||
		    (rc = take_str(&p, end, &q->name2, &q->name2_len)) < 0)
			return rc;
		if (p != end)
			return -EINVAL;
		if ((rc = fuse_name_check(q->name, q->name_len)) < 0)
			return rc;
		if (kind == ARG_NAME2)
			return fuse_name_check(q->name2, q->name2_len);
		if (q->name2_len == 0)
			return -EINVAL;
		return q->name2_len >= PATH_MAX ? -ENAMETOOLONG : 0;
	case ARG_XNAME:
	case ARG_SETX:
		if ((rc = take_str(&p, end, &q->name, &q->name_len)) < 0)
			return rc;
		if (q->name_len == 0)
			return -EINVAL;
		if (q->name_len > 255)
			return -ERANGE;
		if (kind == ARG_XNAME)
			return p == end ? 0 : -EINVAL;
		if (q->in.setxattr.size > FUSE_XATTR_VALUE_MAX)
			return -E2BIG;
		if ((size_t)(end - p) != q->in.setxattr.size)
			return -EINVAL;
		q->value = p;
		q->value_len = q->in.setxattr.size;
		return 0;
	case ARG_BATCH: {
		size_t room = (size_t)(end - p) / sizeof(struct fuse_forget_one);

		q->forgets = (const struct fuse_forget_one *)p;
		q->nforgets = q->in.batch.count < room ? q->in.batch.count : (uint32_t)room;
		return 0;
	}
	default:
		return 0;
	}
}

int fuse_req_parse(const struct vq_chain *c, uint8_t *buf, size_t bufsz, struct fuse_req *q)
{
	const size_t hl = sizeof(struct fuse_in_header);
	const struct op_shape *sh = NULL;
	size_t len, body, want;

	memset(q, 0, sizeof(*q));
	q->c = c;
	if (bufsz < hl || vq_chain_read(c, 0, &q->h, hl) != hl)
		return -EPROTO;
	if (q->h.len < hl || q->h.len > c->rd_len)
		return -EINVAL;
	len = q->h.len - hl;
	if (q->h.opcode < sizeof(shapes) / sizeof(shapes[0]) && shapes[q->h.opcode].known)
		sh = &shapes[q->h.opcode];
	if (!sh)
		return 0; /* unknown: ENOSYS from the dispatcher */
	body = sh->body;
	if (sh->kind == ARG_INIT) {
		if (len < 16) /* major, minor, max_readahead, flags */
			return -EINVAL;
		body = len < sizeof(q->in.init) ? len : sizeof(q->in.init);
	}
	if (len < body)
		return -EINVAL;
	want = sh->kind == ARG_NONE || sh->kind == ARG_DATA || sh->kind == ARG_INIT ? body : len;
	if (want > bufsz - hl) {
		if (sh->kind != ARG_BATCH)
			return -E2BIG;
		want = bufsz - hl; /* the rest of the list is clipped */
	}
	if (vq_chain_read(c, hl, buf, want) != want)
		return -EINVAL;
	memcpy(&q->in, buf, body);
	if (sh->kind == ARG_DATA) {
		if (q->in.write.size > len - body)
			return -EINVAL;
		q->data_off = hl + body;
		q->data_len = q->in.write.size;
		return 0;
	}
	return parse_args(q, sh->kind, buf + body, buf + want);
}
