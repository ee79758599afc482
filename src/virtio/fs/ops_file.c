/* File operations: open, create, read, write, flush, release, fsync, lseek, fallocate (posix
 * locks are in locks.c). Moves data straight between host fds and the guest's segments
 * (preadv/pwritev), no bounce copy. Never opens a symlink, never leaves setuid/setgid after a
 * write. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

/* O_DIRECT is the guest's page-cache business: our reads land at unaligned offsets in its
 * buffers, so it never reaches the host file. */
#define OPEN_FLAGS_OK (O_ACCMODE | O_APPEND | O_TRUNC | O_EXCL | O_SYNC | O_DSYNC | O_NOATIME)

static bool wants_write(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Register @fd as a file handle and fill @o; remembers setuid/setgid to strip on write. */
static int file_handle(struct fs_srv *s, int fd, struct fuse_open_out *o)
{
	struct stat st;
	uint64_t fh;
	int rc;
	bool priv = fstat(fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID));

	rc = fs_handle_new(s, fd, false, &fh);
	if (rc < 0)
		return rc;
	if (priv) {
		struct fs_handle *h = fs_handle_get(s, fh, false);
		if (h)
			h->strip_priv = true;
		fs_handle_put(s, h);
	}
	memset(o, 0, sizeof(*o));
	o->fh = fh;
	o->open_flags = 0; /* never FOPEN_KEEP_CACHE: see the cache mode in srv.c */
	return 0;
}

/**
 * fs_op_open() - OPEN: reopen a regular file node with the guest's flags (no symlinks, no fifos).
 */
void fs_op_open(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *n = fs_node_get(s, q->h.nodeid);
	struct fuse_open_out o;
	int fd, rc;

	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (s->readonly && wants_write(q->in.open.flags)) {
		rc = -EROFS;
	} else if (n->type == S_IFDIR) {
		rc = -EISDIR;
	} else if ((fd = fs_reopen(s, n, (int)(q->in.open.flags & OPEN_FLAGS_OK & ~O_EXCL))) < 0) {
		rc = fd;
	} else {
		rc = file_handle(s, fd, &o);
	}
	if (rc < 0)
		fs_reply_err(r, -rc);
	else
		fs_reply_ok(r, &o, sizeof(o));
	fs_node_put(s, n);
}

/**
 * fs_op_create() - CREATE: create (or open) a regular file beneath the parent, never following a
 * symlink.
 */
void fs_op_create(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *d = fs_node_get(s, q->h.nodeid);
	struct open_how how = {
	    /* O_NONBLOCK|O_NOCTTY: an existing fifo or device under this name must not block */
	    .flags = (q->in.create.flags & OPEN_FLAGS_OK) | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
		     O_NONBLOCK | O_NOCTTY,
	    .mode = q->in.create.mode & 01777 & ~(uint32_t)S_ISVTX,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	struct fuse_entry_out e = {0};
	struct fuse_open_out o;
	struct stat st;
	char name[16];
	int fd, pfd, rc;

	if (!d) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (d->type != S_IFDIR) {
		fs_reply_err(r, ENOTDIR);
		goto out;
	}
	if ((q->in.create.mode & S_IFMT) && !S_ISREG(q->in.create.mode)) {
		fs_reply_err(r, EPERM);
		goto out;
	}
	fd = (int)syscall(SYS_openat2, d->fd, q->name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(d->fd, q->name, (int)how.flags, (mode_t)how.mode);
	if (fd < 0) {
		fs_reply_err(r, errno);
		goto out;
	}
	if ((rc = fstat(fd, &st)) < 0 || !S_ISREG(st.st_mode)) {
		rc = rc < 0 ? errno : EINVAL;
		close(fd);
		fs_reply_err(r, rc);
		goto out;
	}
	if (!(q->in.create.flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (s->chown_new && st.st_uid == 0 && fchown(fd, s->owner_uid, s->owner_gid) == 0)
		fstat(fd, &st);
	snprintf(name, sizeof(name), "%d", fd);
	pfd = openat(s->proc_fd, name, O_PATH | O_CLOEXEC); /* the same inode, no name walk */
	if (pfd < 0 || (rc = fs_node_lookup(s, pfd, &st, &e.nodeid)) < 0) {
		rc = pfd < 0 ? errno : -rc;
		close(fd);
		fs_reply_err(r, rc);
		goto out;
	}
	e.entry_valid = e.attr_valid = FS_TIMEOUT_S;
	fs_fill_attr(s, &st, &e.attr);
	if ((rc = file_handle(s, fd, &o)) < 0) {
		fs_node_forget(s, e.nodeid, 1);
		fs_reply_err(r, -rc);
		goto out;
	}
	fs_reply_ok2(r, &e, sizeof(e), &o, sizeof(o));
out:
	fs_node_put(s, d);
}

/**
 * fs_op_read() - READ: preadv from the handle straight into the guest's writable segments.
 */
void fs_op_read(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, q->in.read.fh, false);
	struct fuse_out_header oh = {.unique = r->unique};
	struct iovec iov[VQ_MAX_SEGS];
	size_t size = q->in.read.size;
	ssize_t n;
	int niov;

	if (!h) {
		fs_reply_err(r, EBADF);
		return;
	}
	if (r->c->wr_len < sizeof(oh)) {
		fs_handle_put(s, h);
		return;
	}
	if (size > FS_MAX_WRITE)
		size = FS_MAX_WRITE;
	if (size > r->c->wr_len - sizeof(oh))
		size = r->c->wr_len - sizeof(oh);
	if (q->in.read.offset > (uint64_t)INT64_MAX) {
		fs_reply_err(r, EINVAL);
		fs_handle_put(s, h);
		return;
	}
	niov = vq_chain_iov(r->c, true, sizeof(oh), size, iov, VQ_MAX_SEGS);
	n = niov ? preadv(h->fd, iov, niov, (off_t)q->in.read.offset) : 0;
	if (n < 0) {
		fs_reply_err(r, errno);
	} else {
		oh.len = (uint32_t)(sizeof(oh) + (size_t)n);
		vq_chain_write(r->c, 0, &oh, sizeof(oh));
		r->len = oh.len;
	}
	fs_handle_put(s, h);
}

/**
 * fs_op_write() - WRITE: pwritev from the guest's readable segments; strips setuid/setgid first.
 */
void fs_op_write(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, q->in.write.fh, false);
	struct fuse_write_out o = {0};
	struct iovec iov[VQ_MAX_SEGS];
	size_t done = 0;
	int rc = 0;

	if (!h) {
		fs_reply_err(r, EBADF);
		return;
	}
	if (q->in.write.offset > (uint64_t)INT64_MAX) {
		rc = EINVAL;
		goto out;
	}
	if (h->strip_priv || (q->in.write.write_flags & FUSE_WRITE_KILL_SUIDGID)) {
		struct stat st;
		if (fstat(h->fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
			fchmod(h->fd, st.st_mode & 0777 & ~(mode_t)(S_ISUID | S_ISGID));
		h->strip_priv = false;
	}
	while (done < q->data_len) {
		int niov = vq_chain_iov(q->c, false, q->data_off + done, q->data_len - done, iov,
					VQ_MAX_SEGS);
		ssize_t n;

		if (niov <= 0)
			break;
		n = pwritev(h->fd, iov, niov, (off_t)(q->in.write.offset + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!done)
				rc = errno;
			break;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
out:
	if (rc) {
		fs_reply_err(r, rc);
	} else {
		o.size = (uint32_t)done;
		fs_reply_ok(r, &o, sizeof(o));
	}
	fs_handle_put(s, h);
}

/**
 * fs_op_flush() - FLUSH: drop the closing owner's locks (data is already in the host file).
 */
void fs_op_flush(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, q->in.flush.fh, false);

	/* POSIX: closing any fd of a file drops the closing process's locks on it */
	fs_locks_drop_owner(s, q->h.nodeid, q->in.flush.lock_owner);
	fs_reply_err(r, h ? 0 : EBADF); /* data is already in the host file */
	fs_handle_put(s, h);
}

/**
 * fs_op_release() - RELEASE/RELEASEDIR: forget a handle.
 */
void fs_op_release(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	bool dir = q->h.opcode == FUSE_RELEASEDIR;

	if (!dir)
		fs_locks_drop_owner(s, q->h.nodeid, q->in.release.lock_owner);
	fs_reply_err(r, -fs_handle_release(s, q->in.release.fh, dir));
}

/**
 * fs_op_fsync() - FSYNC/FSYNCDIR: fsync or fdatasync the handle.
 */
void fs_op_fsync(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	bool dir = q->h.opcode == FUSE_FSYNCDIR;
	struct fs_handle *h = fs_handle_get(s, q->in.fsync.fh, dir);
	int rc;

	if (!h) {
		fs_reply_err(r, EBADF);
		return;
	}
	rc = (q->in.fsync.fsync_flags & 1) ? fdatasync(h->fd) : fsync(h->fd);
	fs_reply_err(r, rc < 0 ? errno : 0);
	fs_handle_put(s, h);
}

/**
 * fs_op_lseek() - LSEEK: SEEK_DATA/SEEK_HOLE (and SET/CUR/END) on the handle.
 */
void fs_op_lseek(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, q->in.lseek.fh, false);
	struct fuse_lseek_out o;
	off_t off;

	if (!h) {
		fs_reply_err(r, EBADF);
		return;
	}
	if (q->in.lseek.whence != SEEK_DATA && q->in.lseek.whence != SEEK_HOLE &&
	    q->in.lseek.whence != SEEK_SET && q->in.lseek.whence != SEEK_END &&
	    q->in.lseek.whence != SEEK_CUR) {
		fs_reply_err(r, EINVAL);
	} else if ((off = lseek(h->fd, (off_t)q->in.lseek.offset, (int)q->in.lseek.whence)) < 0) {
		fs_reply_err(r, errno);
	} else {
		o.offset = (uint64_t)off;
		fs_reply_ok(r, &o, sizeof(o));
	}
	fs_handle_put(s, h);
}

/**
 * fs_op_fallocate() - FALLOCATE: keep-size, punch-hole and zero-range modes only.
 */
void fs_op_fallocate(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, q->in.fallocate.fh, false);
	const uint32_t ok = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;

	if (!h) {
		fs_reply_err(r, EBADF);
		return;
	}
	if ((q->in.fallocate.mode & ~ok) || q->in.fallocate.offset > (uint64_t)INT64_MAX ||
	    q->in.fallocate.length > (uint64_t)INT64_MAX)
		fs_reply_err(r, EOPNOTSUPP);
	else
		fs_reply_err(r, fallocate(h->fd, (int)q->in.fallocate.mode,
					  (off_t)q->in.fallocate.offset,
					  (off_t)q->in.fallocate.length) < 0
				    ? errno
				    : 0);
	fs_handle_put(s, h);
}
