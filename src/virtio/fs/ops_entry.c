/* Name and attribute operations: lookup, getattr, setattr, readlink, mknod/mkdir, symlink,
 * link, unlink/rmdir, rename(2), statfs, access. Every name is a parsed single component used
 * with an *at() call on the parent's O_PATH fd; never follows a symlink, never creates devices,
 * never leaves setuid/setgid bits, never changes ownership on the host for a guest chown. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

#define FS_MODE_MASK 01777 /* permission bits the guest may set: never setuid/setgid */

/* The node @id as a directory, with a reference; replies and returns NULL if it is not one. */
static struct fs_node *dir_get(struct fs_srv *s, uint64_t id, struct fs_reply *r)
{
	struct fs_node *n = fs_node_get(s, id);

	if (!n) {
		fs_reply_err(r, ESTALE);
		return NULL;
	}
	if (n->type != S_IFDIR) {
		fs_node_put(s, n);
		fs_reply_err(r, ENOTDIR);
		return NULL;
	}
	return n;
}

static void reply_entry(struct fs_srv *s, struct fs_node *dir, const char *name, struct fs_reply *r)
{
	struct fuse_entry_out e;
	int rc = fs_entry(s, dir->fd, name, &e);

	if (rc < 0)
		fs_reply_err(r, -rc);
	else
		fs_reply_ok(r, &e, sizeof(e));
}

/**
 * fs_op_lookup() - LOOKUP: find a name in a directory node, counting one guest lookup.
 */
void fs_op_lookup(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *d = dir_get(s, q->h.nodeid, r);

	if (!d)
		return;
	if (fs_name_hidden(s, d->slot == FUSE_ROOT_ID, q->name))
		fs_reply_err(r, ENOENT);
	else
		reply_entry(s, d, q->name, r);
	fs_node_put(s, d);
}

static void reply_attr(struct fs_srv *s, const struct stat *st, struct fs_reply *r)
{
	struct fuse_attr_out o = {.attr_valid = FS_TIMEOUT_S};

	fs_fill_attr(s, st, &o.attr);
	fs_reply_ok(r, &o, sizeof(o));
}

static int node_stat(const struct fs_node *n, struct stat *st)
{
	return fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/**
 * fs_op_getattr() - GETATTR: attributes of a node (guest uid/gid view).
 */
void fs_op_getattr(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *n;
	struct fs_handle *h = NULL;
	struct stat st;
	int rc;

	if (q->in.getattr.getattr_flags &
	    FUSE_GETATTR_FH) { /* fstat of an open (maybe unlinked) file */
		h = fs_handle_get(s, q->in.getattr.fh, false);
		if (!h)
			h = fs_handle_get(s, q->in.getattr.fh, true);
		if (h) {
			rc = fstat(h->fd, &st) < 0 ? -errno : 0;
			fs_handle_put(s, h);
			if (rc < 0)
				fs_reply_err(r, -rc);
			else
				reply_attr(s, &st, r);
			return;
		}
	}
	n = fs_node_get(s, q->h.nodeid);
	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	rc = node_stat(n, &st);
	if (rc < 0)
		fs_reply_err(r, -rc);
	else
		reply_attr(s, &st, r);
	fs_node_put(s, n);
}

static int set_mode(struct fs_srv *s, struct fs_node *n, struct fs_handle *h, mode_t mode)
{
	char path[40];
	int rc;

	mode &= FS_MODE_MASK;
	if (h)
		return fchmod(h->fd, mode) < 0 ? -errno : 0;
	if (n->type == S_IFLNK)
		return -EOPNOTSUPP;
	if ((rc = fs_proc_path(s, n, path, sizeof(path))) < 0)
		return rc;
	return chmod(path, mode) < 0 ? -errno : 0;
}

static int set_size(struct fs_srv *s, struct fs_node *n, struct fs_handle *h, uint64_t size)
{
	int fd, rc = 0;

	if (size > (uint64_t)LLONG_MAX)
		return -EFBIG;
	if (h)
		return ftruncate(h->fd, (off_t)size) < 0 ? -errno : 0;
	if (n->type == S_IFDIR)
		return -EISDIR;
	if (n->type != S_IFREG)
		return -EINVAL;
	fd = fs_reopen(s, n, O_WRONLY);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int set_times(struct fs_node *n, const struct fuse_setattr_in *in)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};

	if (in->valid & FATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_ATIME)
		ts[0] = (struct timespec){(time_t)in->atime, in->atimensec % 1000000000};
	if (in->valid & FATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_MTIME)
		ts[1] = (struct timespec){(time_t)in->mtime, in->mtimensec % 1000000000};
	return utimensat(n->fd, "", ts, AT_EMPTY_PATH) < 0 ? -errno : 0;
}

/**
 * fs_op_setattr() - SETATTR: mode (setuid/setgid stripped), size, times; chown only as a no-op.
 */
void fs_op_setattr(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	const struct fuse_setattr_in *in = &q->in.setattr;
	struct fs_node *n = fs_node_get(s, q->h.nodeid);
	struct fs_handle *h = NULL;
	struct stat st;
	int rc;

	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if ((in->valid & FATTR_FH) && !(h = fs_handle_get(s, in->fh, false))) {
		rc = -EBADF;
		goto out;
	}
	if ((rc = fs_map_chown(s, in->valid, in->uid, in->gid)) < 0 || (rc = node_stat(n, &st)) < 0)
		goto out;
	if ((in->valid & FATTR_MODE) && (rc = set_mode(s, n, h, in->mode)) < 0)
		goto out;
	if ((in->valid & FATTR_SIZE) && (rc = set_size(s, n, h, in->size)) < 0)
		goto out;
	if (!(in->valid & FATTR_MODE) && (in->valid & (FATTR_SIZE | FATTR_KILL_SUIDGID)) &&
	    (st.st_mode & (S_ISUID | S_ISGID)) && (rc = set_mode(s, n, h, st.st_mode)) < 0)
		goto out;
	if ((in->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) &&
	    (rc = set_times(n, in)) < 0)
		goto out;
	rc = node_stat(n, &st);
out:
	if (rc < 0)
		fs_reply_err(r, -rc);
	else
		reply_attr(s, &st, r);
	fs_handle_put(s, h);
	fs_node_put(s, n);
}

/**
 * fs_op_readlink() - READLINK: the target of a symlink node, read as a link.
 */
void fs_op_readlink(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *n = fs_node_get(s, q->h.nodeid);
	char buf[PATH_MAX];
	ssize_t len;

	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (n->type != S_IFLNK) {
		fs_reply_err(r, EINVAL);
	} else if ((len = readlinkat(n->fd, "", buf, sizeof(buf))) < 0) {
		fs_reply_err(r, errno);
	} else {
		fs_reply_ok(r, buf, (size_t)len);
	}
	fs_node_put(s, n);
}

/**
 * fs_op_mknod() - MKNOD/MKDIR: regular files, fifos and directories only (else EPERM).
 */
void fs_op_mknod(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *d = dir_get(s, q->h.nodeid, r);
	int rc;

	if (!d)
		return;
	if (q->h.opcode == FUSE_MKDIR) {
		rc = mkdirat(d->fd, q->name, q->in.mkdir.mode & FS_MODE_MASK);
	} else {
		mode_t m = q->in.mknod.mode;

		if (!S_ISREG(m) && !S_ISFIFO(m)) { /* no devices, no sockets */
			fs_reply_err(r, EPERM);
			fs_node_put(s, d);
			return;
		}
		rc = mknodat(d->fd, q->name, (m & S_IFMT) | (m & FS_MODE_MASK), 0);
	}
	if (rc < 0) {
		fs_reply_err(r, errno);
	} else {
		fs_new_owner(s, d->fd, q->name);
		reply_entry(s, d, q->name, r);
	}
	fs_node_put(s, d);
}

/**
 * fs_op_symlink() - SYMLINK: create a link; its target is stored, never followed.
 */
void fs_op_symlink(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *d = dir_get(s, q->h.nodeid, r);

	if (!d)
		return;
	if (symlinkat(q->name2, d->fd, q->name) < 0) {
		fs_reply_err(r, errno);
	} else {
		fs_new_owner(s, d->fd, q->name);
		reply_entry(s, d, q->name, r);
	}
	fs_node_put(s, d);
}

/**
 * fs_op_link() - LINK: hard link to a node of this share only (never a directory).
 */
void fs_op_link(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *d = dir_get(s, q->h.nodeid, r), *old;
	char path[40];
	int rc;

	if (!d)
		return;
	old = fs_node_get(s, q->in.link.oldnodeid); /* only a node of this share */
	if (!old) {
		fs_reply_err(r, ESTALE);
		goto out;
	}
	if (old->type == S_IFDIR) {
		fs_reply_err(r, EPERM);
		goto out;
	}
	rc = linkat(old->fd, "", d->fd, q->name, AT_EMPTY_PATH);
	if (rc < 0 && (errno == ENOENT || errno == EPERM) && old->type != S_IFLNK &&
	    fs_proc_path(s, old, path, sizeof(path)) == 0)
		rc = linkat(AT_FDCWD, path, d->fd, q->name, AT_SYMLINK_FOLLOW);
	if (rc < 0)
		fs_reply_err(r, errno);
	else
		reply_entry(s, d, q->name, r);
out:
	fs_node_put(s, old);
	fs_node_put(s, d);
}

/**
 * fs_op_unlink() - UNLINK/RMDIR: remove one entry.
 */
void fs_op_unlink(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *d = dir_get(s, q->h.nodeid, r);
	int flags = q->h.opcode == FUSE_RMDIR ? AT_REMOVEDIR : 0;

	if (!d)
		return;
	fs_reply_err(r, unlinkat(d->fd, q->name, flags) < 0 ? errno : 0);
	fs_node_put(s, d);
}

/**
 * fs_op_rename() - RENAME/RENAME2: within this share; NOREPLACE and EXCHANGE only.
 */
void fs_op_rename(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	uint64_t newdir = q->h.opcode == FUSE_RENAME ? q->in.rename.newdir : q->in.rename2.newdir;
	uint32_t flags = q->h.opcode == FUSE_RENAME ? 0 : q->in.rename2.flags;
	struct fs_node *d = dir_get(s, q->h.nodeid, r), *nd;

	if (!d)
		return;
	nd = dir_get(s, newdir, r); /* a directory of this share: never out of it */
	if (!nd) {
		fs_node_put(s, d);
		return;
	}
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
		fs_reply_err(r, EINVAL); /* RENAME_WHITEOUT included */
	else
		fs_reply_err(r, renameat2(d->fd, q->name, nd->fd, q->name2, flags) < 0 ? errno : 0);
	fs_node_put(s, nd);
	fs_node_put(s, d);
}

/**
 * fs_op_statfs() - STATFS: the host file system of the share.
 */
void fs_op_statfs(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *n = fs_node_get(s, q->h.nodeid ? q->h.nodeid : FUSE_ROOT_ID);
	struct fuse_statfs_out o = {0};
	struct statfs sf;

	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (fstatfs(n->fd, &sf) < 0) {
		fs_reply_err(r, errno);
	} else {
		o.st.blocks = sf.f_blocks;
		o.st.bfree = sf.f_bfree;
		o.st.bavail = sf.f_bavail;
		o.st.files = sf.f_files;
		o.st.ffree = sf.f_ffree;
		o.st.bsize = (uint32_t)sf.f_bsize;
		o.st.namelen = (uint32_t)sf.f_namelen;
		o.st.frsize = (uint32_t)sf.f_frsize;
		fs_reply_ok(r, &o, sizeof(o));
	}
	fs_node_put(s, n);
}

/**
 * fs_op_access() - ACCESS: check with the server's own credentials (W_OK on readonly: EROFS).
 */
void fs_op_access(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *n = fs_node_get(s, q->h.nodeid);
	uint32_t mask = q->in.access.mask & (R_OK | W_OK | X_OK);
	char path[40];
	int rc = 0;

	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (s->readonly && (mask & W_OK))
		rc = -EROFS;
	else if (mask && fs_proc_path(s, n, path, sizeof(path)) == 0 &&
		 faccessat(AT_FDCWD, path, (int)mask, AT_EACCESS) < 0)
		rc = -errno;
	fs_reply_err(r, -rc);
	fs_node_put(s, n);
}
