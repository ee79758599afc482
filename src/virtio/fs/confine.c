/* Confinement: the only ways a name becomes a host file (one component, openat2 beneath the
 * parent's O_PATH fd, never following a symlink) and an O_PATH node becomes an open file
 * (/proc/self/fd reopen of regular files and directories only), plus the uid/gid view the
 * guest gets. Never follows a symlink on the host, never builds a path from guest names. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

/**
 * fs_open_child() - open entry @name (validated single component) of directory @dirfd as an
 * O_PATH fd without following a symlink, and stat it.
 * Return: the fd, or -errno. Syscalls: openat2 (or openat with O_NOFOLLOW), fstatat.
 */
int fs_open_child(struct fs_srv *s, int dirfd, const char *name, struct stat *st)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	int fd;

	(void)s;
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") || !*name)
		return -EPERM; /* never reached with parsed names; a second guard */
	fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/**
 * fs_reopen() - open node @n (regular file or directory only) with @flags.
 * Return: the fd, or -errno (ELOOP for a symlink, ENXIO for fifos, sockets and devices:
 * the guest kernel serves those itself). Syscalls: openat on /proc/self/fd.
 */
int fs_reopen(struct fs_srv *s, const struct fs_node *n, int flags)
{
	char name[16];
	int fd;

	if (n->type == S_IFLNK)
		return -ELOOP;
	if (n->type != S_IFREG && n->type != S_IFDIR)
		return -ENXIO;
	snprintf(name, sizeof(name), "%d", n->fd);
	flags &= O_ACCMODE | O_APPEND | O_TRUNC | O_DIRECTORY | O_SYNC | O_DSYNC | O_NOATIME;
	fd = openat(s->proc_fd, name, flags | O_CLOEXEC);
	if (fd < 0 && errno == EPERM && (flags & O_NOATIME))
		fd = openat(s->proc_fd, name, (flags & ~O_NOATIME) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/**
 * fs_proc_path() - "/proc/self/fd/N" for node @n into @buf, for the calls that take no fd.
 * Return: 0, or -ELOOP for a symlink (a path call would follow it).
 */
int fs_proc_path(struct fs_srv *s, const struct fs_node *n, char *buf, size_t len)
{
	(void)s;
	if (n->type == S_IFLNK)
		return -ELOOP;
	snprintf(buf, len, "/proc/self/fd/%d", n->fd);
	return 0;
}

static uint32_t map_id(uint32_t id, uint32_t owner, uint32_t guest)
{
	if (id == owner)
		return guest;
	return id == 0 ? 0 : FS_NOBODY;
}

/**
 * fs_fill_attr() - the guest's view of @st: the owner's uid/gid shown as 1000, root as 0,
 * every other id as 65534.
 */
void fs_fill_attr(const struct fs_srv *s, const struct stat *st, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = map_id(st->st_uid, s->owner_uid, FS_GUEST_UID);
	a->gid = map_id(st->st_gid, s->owner_gid, FS_GUEST_GID);
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
}

/**
 * fs_map_chown() - decide a guest chown: to uid/gid 1000 (the owner) or 0 succeeds without
 * changing anything on the host; anything else is refused.
 * Return: 0 or -EPERM.
 */
int fs_map_chown(const struct fs_srv *s, uint32_t valid, uint32_t uid, uint32_t gid)
{
	(void)s;
	if ((valid & FATTR_UID) && uid != FS_GUEST_UID && uid != 0)
		return -EPERM;
	if ((valid & FATTR_GID) && gid != FS_GUEST_GID && gid != 0)
		return -EPERM;
	return 0;
}

/**
 * fs_new_owner() - when serving as root for another owner, give what we just created
 * (entry @name of @dirfd) to the owner. Syscalls: fchownat.
 */
void fs_new_owner(const struct fs_srv *s, int dirfd, const char *name)
{
	if (s->chown_new &&
	    fchownat(dirfd, name, s->owner_uid, s->owner_gid, AT_SYMLINK_NOFOLLOW) < 0)
		(void)0; /* best effort: the file exists either way */
}

/**
 * fs_name_hidden() - true if @name must not exist for the guest: in a single-file share,
 * every entry of the root (@in_root) but the shared one.
 */
bool fs_name_hidden(const struct fs_srv *s, bool in_root, const char *name)
{
	return s->only_name && in_root && strcmp(name, s->only_name) != 0;
}

/**
 * fs_entry() - look up @name in @dirfd and fill @e (counting one guest lookup). In a
 * single-file share anything but a regular file is ENOENT (the file replaced by a directory or
 * a symlink on the host never opens the parent to the guest).
 * Return: 0 or -errno.
 */
int fs_entry(struct fs_srv *s, int dirfd, const char *name, struct fuse_entry_out *e)
{
	struct stat st;
	uint64_t id;
	int fd, rc;

	memset(e, 0, sizeof(*e));
	fd = fs_open_child(s, dirfd, name, &st);
	if (fd < 0)
		return fd;
	if (s->only_name && !S_ISREG(st.st_mode)) {
		close(fd); /* single-file share: only the root and regular files exist */
		return -ENOENT;
	}
	rc = fs_node_lookup(s, fd, &st, &id);
	if (rc < 0)
		return rc;
	e->nodeid = id;
	e->generation = 0;
	e->entry_valid = e->attr_valid = FS_TIMEOUT_S;
	fs_fill_attr(s, &st, &e->attr);
	return 0;
}
