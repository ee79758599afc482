/* Directory listing: opendir, readdir and readdirplus over getdents64 on the handle's fd, with
 * the kernel's d_off cookies as FUSE offsets. Owns the rule that readdirplus counts a lookup only
 * for entries really sent (never for "." and "..") and that a single-file share's root lists only
 * its file. Never follows an entry that is a symlink. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/**
 * fs_op_opendir() - OPENDIR: a directory handle on a directory node.
 */
void fs_op_opendir(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fs_node *n = fs_node_get(s, q->h.nodeid);
	struct fuse_open_out o = {0};
	int fd, rc;

	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (n->type != S_IFDIR) {
		fs_reply_err(r, ENOTDIR);
	} else if ((fd = fs_reopen(s, n, O_RDONLY | O_DIRECTORY)) < 0) {
		fs_reply_err(r, -fd);
	} else if ((rc = fs_handle_new(s, fd, true, &o.fh)) < 0) {
		fs_reply_err(r, -rc);
	} else {
		fs_reply_ok(r, &o, sizeof(o));
	}
	fs_node_put(s, n);
}

static bool dot_or_dotdot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* Append one entry to @buf at *@used (room @size). Return false if it does not fit. */
static bool put_entry(struct fs_srv *s, int dirfd, const struct linux_dirent64 *de, bool plus,
		      uint8_t *buf, size_t *used, size_t size)
{
	size_t namelen = strlen(de->d_name);
	size_t base = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t rec = FUSE_DIRENT_ALIGN(base + namelen);
	struct fuse_direntplus dp;
	struct fuse_dirent *d = &dp.dirent;

	if (*used + rec > size)
		return false;
	memset(&dp, 0, sizeof(dp));
	if (plus && !dot_or_dotdot(de->d_name) && fs_entry(s, dirfd, de->d_name, &dp.entry_out) < 0)
		memset(&dp.entry_out, 0, sizeof(dp.entry_out)); /* vanished: nodeid 0, no lookup */
	d->ino = de->d_ino;
	d->off = (uint64_t)de->d_off;
	d->namelen = (uint32_t)namelen;
	d->type = de->d_type;
	memset(buf + *used, 0, rec);
	if (plus) {
		memcpy(buf + *used, &dp, FUSE_NAME_OFFSET_DIRENTPLUS);
	} else {
		memcpy(buf + *used, d, FUSE_NAME_OFFSET);
	}
	memcpy(buf + *used + base, de->d_name, namelen);
	*used += rec;
	return true;
}

/* Single-file share: is root entry @name the shared regular file? Syscalls: fstatat. */
static bool root_entry_shown(const struct fs_srv *s, int dirfd, const char *name)
{
	struct stat st;

	return !fs_name_hidden(s, true, name) &&
	       fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/**
 * fs_op_readdir() - READDIR/READDIRPLUS: list from the handle's position cookie into one reply.
 */
void fs_op_readdir(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r,
		   struct fs_scratch *sc)
{
	bool plus = q->h.opcode == FUSE_READDIRPLUS;
	struct fs_handle *h = fs_handle_get(s, q->in.read.fh, true);
	size_t size = q->in.read.size, used = 0;
	bool in_root;
	int rc = 0;

	if (!h) {
		fs_reply_err(r, EBADF);
		return;
	}
	if (size > sizeof(sc->dir))
		size = sizeof(sc->dir);
	if (r->c->wr_len < sizeof(struct fuse_out_header)) {
		fs_handle_put(s, h);
		return;
	}
	if (size > r->c->wr_len - sizeof(struct fuse_out_header))
		size = r->c->wr_len - sizeof(struct fuse_out_header);
	/* a single-file share has no directory but its root (fs_entry hands out none) */
	in_root = s->only_name != NULL;
	pthread_mutex_lock(&h->lock);
	if (q->in.read.offset > (uint64_t)INT64_MAX ||
	    lseek(h->fd, (off_t)q->in.read.offset, SEEK_SET) < 0) {
		rc = q->in.read.offset > (uint64_t)INT64_MAX ? EINVAL : errno;
		goto out;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, h->fd, sc->dents, sizeof(sc->dents));
		long pos = 0;

		if (n < 0) {
			if (!used)
				rc = errno;
			goto out;
		}
		if (n == 0)
			goto out;
		while (pos < n) {
			const struct linux_dirent64 *de = (const void *)(sc->dents + pos);

			if (de->d_reclen == 0 || pos + de->d_reclen > n)
				goto out;
			if (in_root && !dot_or_dotdot(de->d_name) &&
			    !root_entry_shown(s, h->fd, de->d_name)) {
				pos += de->d_reclen; /* single-file share: not there */
				continue;
			}
			if (!put_entry(s, h->fd, de, plus, sc->dir, &used, size)) {
				goto out; /* the next call starts at this entry's cookie */
			}
			pos += de->d_reclen;
		}
	}
out:
	pthread_mutex_unlock(&h->lock);
	if (rc)
		fs_reply_err(r, rc);
	else
		fs_reply_ok(r, sc->dir, used);
	fs_handle_put(s, h);
}
