/* Extended attributes: only the "user." namespace reaches the host; "security." and "trusted."
 * are refused and hidden, "system." (ACLs included) is unsupported. Never reads or writes an
 * xattr of a symlink (the path call would follow it) and never passes a refused name on. */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "virtio/fs/fs_int.h"

enum xclass { X_USER, X_REFUSED, X_UNSUPPORTED };

static enum xclass classify(const char *name)
{
	if (!strncmp(name, "user.", 5))
		return X_USER;
	if (!strncmp(name, "security.", 9) || !strncmp(name, "trusted.", 8))
		return X_REFUSED;
	return X_UNSUPPORTED;
}

/* Keep only user.* names of the NUL-separated @list (@len bytes), in place. Return new length. */
static size_t filter_list(char *list, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t l = strnlen(list + in, len - in);

		if (in + l >= len)
			break; /* unterminated tail */
		if (classify(list + in) == X_USER) {
			memmove(list + out, list + in, l + 1);
			out += l + 1;
		}
		in += l + 1;
	}
	return out;
}

static void do_get(struct fs_srv *s, const struct fuse_req *q, const char *path, struct fs_reply *r,
		   struct fs_scratch *sc)
{
	bool list = q->h.opcode == FUSE_LISTXATTR;
	struct fuse_getxattr_out o = {0};
	ssize_t n;

	if (!list && classify(q->name) != X_USER) {
		fs_reply_err(r, classify(q->name) == X_REFUSED ? ENODATA : EOPNOTSUPP);
		return;
	}
	if (!path) { /* a symlink: no user xattrs possible */
		if (list)
			goto reply;
		fs_reply_err(r, ENODATA);
		return;
	}
	n = list ? listxattr(path, (char *)sc->dir, FUSE_XATTR_VALUE_MAX)
		 : getxattr(path, q->name, sc->dir, FUSE_XATTR_VALUE_MAX);
	if (n < 0) {
		fs_reply_err(r, errno == ERANGE ? E2BIG : errno);
		return;
	}
	if (list)
		n = (ssize_t)filter_list((char *)sc->dir, (size_t)n);
	o.size = (uint32_t)n;
reply:
	if (q->in.getxattr.size == 0)
		fs_reply_ok(r, &o, sizeof(o));
	else if (o.size > q->in.getxattr.size)
		fs_reply_err(r, ERANGE);
	else
		fs_reply_ok(r, sc->dir, o.size);
}

/**
 * fs_op_xattr() - GETXATTR/SETXATTR/LISTXATTR/REMOVEXATTR: user.* only.
 */
void fs_op_xattr(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r,
		 struct fs_scratch *sc)
{
	struct fs_node *n = fs_node_get(s, q->h.nodeid);
	char buf[40];
	const char *path = NULL;
	int rc;

	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (fs_proc_path(s, n, buf, sizeof(buf)) == 0)
		path = buf;
	switch (q->h.opcode) {
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
		do_get(s, q, path, r, sc);
		break;
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
		if (classify(q->name) != X_USER) {
			rc = classify(q->name) == X_REFUSED ? EPERM : EOPNOTSUPP;
		} else if (!path) {
			rc = EPERM;
		} else if (q->h.opcode == FUSE_SETXATTR) {
			int flags = (int)(q->in.setxattr.flags & (XATTR_CREATE | XATTR_REPLACE));
			rc = setxattr(path, q->name, q->value, q->value_len, flags) < 0 ? errno : 0;
		} else {
			rc = removexattr(path, q->name) < 0 ? errno : 0;
		}
		fs_reply_err(r, rc);
		break;
	}
	fs_node_put(s, n);
}
