/* POSIX record locks for the virtio-fs server, with POSIX's owner semantics: the guest names a
 * lock owner (its files_struct) per request; each (owner, node) gets its own host open file
 * description carrying OFD locks, so locks of one guest process never conflict with each other
 * and all of them go when that process closes any fd of the file (FLUSH/RELEASE name the owner).
 * Never blocks a worker for longer than FS_LOCK_WAIT_MS; never follows a path. */
#include "virtio/fs/fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Find the entry for (@owner, @nodeid). Caller holds locks_lock. */
static struct fs_lock_owner *owner_find(struct fs_srv *s, uint64_t owner, uint64_t nodeid)
{
	for (unsigned i = 0; i < FS_LOCK_OWNERS_MAX; i++)
		if (s->lock_owners[i].fd >= 0 && s->lock_owners[i].owner == owner &&
		    s->lock_owners[i].nodeid == nodeid)
			return &s->lock_owners[i];
	return NULL;
}

/* A dup of the owner's lock fd for @n, opened on first use. Return fd or -errno. */
static int owner_fd(struct fs_srv *s, struct fs_node *n, uint64_t nodeid, uint64_t owner,
		    uint32_t pid, int type, bool create)
{
	struct fs_lock_owner *o;
	int fd = -ENOENT;

	pthread_mutex_lock(&s->locks_lock);
	o = owner_find(s, owner, nodeid);
	if (!o && create) {
		for (unsigned i = 0; i < FS_LOCK_OWNERS_MAX && !o; i++)
			if (s->lock_owners[i].fd < 0)
				o = &s->lock_owners[i];
		if (!o) {
			fd = -ENOLCK;
			goto out;
		}
		/* read locks need a readable, write locks a writable description */
		fd = fs_reopen(s, n, O_RDWR);
		if (fd == -EACCES || fd == -EROFS || fd == -EISDIR)
			fd = fs_reopen(s, n, type == F_WRLCK ? O_WRONLY : O_RDONLY);
		if (fd < 0) {
			o = NULL;
			goto out;
		}
		o->fd = fd;
		o->owner = owner;
		o->nodeid = nodeid;
	}
	if (o) {
		if (pid)
			o->pid = pid;
		fd = dup(o->fd);
		if (fd < 0)
			fd = -errno;
	}
out:
	pthread_mutex_unlock(&s->locks_lock);
	return fd;
}

/* The guest pid of some other owner holding locks on @nodeid (F_GETLK's l_pid). */
static uint32_t holder_pid(struct fs_srv *s, uint64_t nodeid, uint64_t not_owner)
{
	uint32_t pid = 0;

	pthread_mutex_lock(&s->locks_lock);
	for (unsigned i = 0; i < FS_LOCK_OWNERS_MAX; i++)
		if (s->lock_owners[i].fd >= 0 && s->lock_owners[i].nodeid == nodeid &&
		    s->lock_owners[i].owner != not_owner)
			pid = s->lock_owners[i].pid;
	pthread_mutex_unlock(&s->locks_lock);
	return pid;
}

/**
 * fs_locks_init() - empty owner table. Return 0.
 */
int fs_locks_init(struct fs_srv *s)
{
	pthread_mutex_init(&s->locks_lock, NULL);
	for (unsigned i = 0; i < FS_LOCK_OWNERS_MAX; i++)
		s->lock_owners[i].fd = -1;
	return 0;
}

/**
 * fs_locks_drop_owner() - @owner closed a file of @nodeid (FLUSH/RELEASE): drop its locks there.
 * Syscalls: close.
 */
void fs_locks_drop_owner(struct fs_srv *s, uint64_t nodeid, uint64_t owner)
{
	pthread_mutex_lock(&s->locks_lock);
	struct fs_lock_owner *o = owner_find(s, owner, nodeid);
	if (o) {
		close(o->fd);
		o->fd = -1;
	}
	pthread_mutex_unlock(&s->locks_lock);
}

/**
 * fs_locks_drop_all() - guest reset, DESTROY or teardown: every lock goes.
 */
void fs_locks_drop_all(struct fs_srv *s)
{
	pthread_mutex_lock(&s->locks_lock);
	for (unsigned i = 0; i < FS_LOCK_OWNERS_MAX; i++)
		if (s->lock_owners[i].fd >= 0) {
			close(s->lock_owners[i].fd);
			s->lock_owners[i].fd = -1;
		}
	pthread_mutex_unlock(&s->locks_lock);
}

static int lk_to_flock(const struct fuse_file_lock *l, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	if (l->type != F_RDLCK && l->type != F_WRLCK && l->type != F_UNLCK)
		return -EINVAL;
	if (l->start > (uint64_t)INT64_MAX || l->end < l->start)
		return -EINVAL;
	fl->l_type = (short)l->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)l->start;
	fl->l_len = l->end >= (uint64_t)INT64_MAX ? 0 : (off_t)(l->end - l->start + 1);
	return 0;
}

/**
 * fs_op_lock() - GETLK/SETLK/SETLKW on the owner's own open file description; SETLKW waits at
 * most FS_LOCK_WAIT_MS, then answers EAGAIN. flock() requests: ENOSYS (the guest emulates).
 */
void fs_op_lock(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	const struct fuse_lk_in *in = &q->in.lk;
	struct fs_node *n = NULL;
	struct fuse_lk_out o = {0};
	struct flock fl;
	int fd = -1, rc, waited = 0;

	if (in->lk_flags & FUSE_LK_FLOCK) {
		fs_reply_err(r, ENOSYS);
		return;
	}
	if (lk_to_flock(&in->lk, &fl) < 0) {
		fs_reply_err(r, EINVAL);
		return;
	}
	n = fs_node_get(s, q->h.nodeid);
	if (!n) {
		fs_reply_err(r, ESTALE);
		return;
	}
	if (q->h.opcode == FUSE_GETLK) {
		/* our own description (own locks never conflict), else a fresh one without locks */
		fd = owner_fd(s, n, q->h.nodeid, in->owner, 0, fl.l_type, false);
		if (fd == -ENOENT)
			fd = fs_reopen(s, n, O_RDONLY);
		if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl) < 0) {
			fs_reply_err(r, fd < 0 ? -fd : errno);
			goto out;
		}
		o.lk.type = (uint32_t)fl.l_type;
		o.lk.start = (uint64_t)fl.l_start;
		o.lk.end =
		    fl.l_len == 0 ? (uint64_t)INT64_MAX : (uint64_t)(fl.l_start + fl.l_len - 1);
		if (fl.l_type != F_UNLCK)
			o.lk.pid = holder_pid(s, q->h.nodeid, in->owner);
		fs_reply_ok(r, &o, sizeof(o));
		goto out;
	}
	fd = owner_fd(s, n, q->h.nodeid, in->owner, in->lk.pid, fl.l_type, fl.l_type != F_UNLCK);
	if (fd == -ENOENT) { /* unlocking what was never locked */
		fs_reply_err(r, 0);
		goto out;
	}
	if (fd < 0) {
		fs_reply_err(r, -fd);
		goto out;
	}
	while ((rc = fcntl(fd, F_OFD_SETLK, &fl)) < 0 && (errno == EAGAIN || errno == EACCES) &&
	       q->h.opcode == FUSE_SETLKW && waited < FS_LOCK_WAIT_MS) {
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
		waited += 10;
	}
	fs_reply_err(r, rc < 0 ? (errno == EACCES ? EAGAIN : errno) : 0);
out:
	if (fd >= 0)
		close(fd);
	fs_node_put(s, n);
}
