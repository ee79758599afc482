/* The FUSE server core: share set-up, INIT/DESTROY/FORGET, the opcode dispatch and the reply
 * helpers. Owns which opcodes exist, the readonly gate and the negotiated flags (cache mode: see
 * fs.h). Never reads request bytes itself (fuse_req.c does) and never knows about threads or
 * queues. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/err.h"
#include "virtio/fs/fs_int.h"

/**
 * fs_reply_ok2() - reply success with two body parts (EIO if the guest gave too little room).
 */
void fs_reply_ok2(struct fs_reply *r, const void *a, size_t alen, const void *b, size_t blen)
{
	struct fuse_out_header oh = {.len = (uint32_t)(sizeof(oh) + alen + blen),
				     .unique = r->unique};

	if (r->c->wr_len < sizeof(oh) + alen + blen) {
		fs_reply_err(r, EIO); /* the guest gave too little room */
		return;
	}
	vq_chain_write(r->c, 0, &oh, sizeof(oh));
	if (alen)
		vq_chain_write(r->c, sizeof(oh), a, alen);
	if (blen)
		vq_chain_write(r->c, sizeof(oh) + alen, b, blen);
	r->len = oh.len;
}

/**
 * fs_reply_ok() - reply success with @len bytes of @body.
 */
void fs_reply_ok(struct fs_reply *r, const void *body, size_t len)
{
	fs_reply_ok2(r, body, len, NULL, 0);
}

/**
 * fs_reply_err() - reply the positive errno @err (0 means success with no body).
 */
void fs_reply_err(struct fs_reply *r, int err)
{
	struct fuse_out_header oh = {.len = sizeof(oh), .error = -err, .unique = r->unique};

	if (r->c->wr_len < sizeof(oh)) {
		r->len = 0;
		return;
	}
	vq_chain_write(r->c, 0, &oh, sizeof(oh));
	r->len = sizeof(oh);
}

/* Cache mode: entry and attr timeouts of 1 s, no writeback cache, never FOPEN_KEEP_CACHE, and
 * AUTO_INVAL_DATA: a host-side edit is seen by the guest within a second (its attr refresh drops
 * stale pages), guest writes go straight to the host file. Correctness over speed. */
#define FS_INIT_FLAGS                                                                              \
	(FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |              \
	 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_AUTO_INVAL_DATA | FUSE_MAX_PAGES |     \
	 FUSE_PARALLEL_DIROPS)

static void op_init(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r)
{
	struct fuse_init_out o = {.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION};
	size_t len = sizeof(o);

	if (q->in.init.major < 7) {
		fs_reply_err(r, EPROTO);
		return;
	}
	if (q->in.init.major > 7) { /* the kernel retries with our version */
		fs_reply_ok(r, &o, FUSE_COMPAT_INIT_OUT_SIZE);
		return;
	}
	o.minor = q->in.init.minor < FUSE_KERNEL_MINOR_VERSION ? q->in.init.minor
							       : FUSE_KERNEL_MINOR_VERSION;
	o.flags = q->in.init.flags & FS_INIT_FLAGS;
	o.max_readahead = q->in.init.max_readahead;
	o.max_background = 64;
	o.congestion_threshold = 48;
	o.max_write = FS_MAX_WRITE;
	o.time_gran = 1;
	o.max_pages = FS_MAX_PAGES;
	if (q->in.init.minor < 23)
		len = FUSE_COMPAT_22_INIT_OUT_SIZE;
	s->proto_minor = o.minor;
	s->inited = true;
	fs_reply_ok(r, &o, len);
}

/**
 * fs_srv_reset() - drop every lock, forget every guest lookup and release every handle (no
 * request may run).
 */
void fs_srv_reset(struct fs_srv *s)
{
	fs_locks_drop_all(s);
	fs_nodes_forget_all(s);
	fs_handles_release_all(s);
	s->inited = false;
}

static bool modifies(uint32_t op)
{
	switch (op) {
	case FUSE_SETATTR:
	case FUSE_SYMLINK:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_LINK:
	case FUSE_WRITE:
	case FUSE_CREATE:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
	case FUSE_FALLOCATE:
		return true;
	default:
		return false;
	}
}

static void dispatch(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r,
		     struct fs_scratch *sc)
{
	uint32_t i;

	switch (q->h.opcode) {
	case FUSE_INIT:
		op_init(s, q, r);
		return;
	case FUSE_DESTROY:
		fs_srv_reset(s);
		fs_reply_err(r, 0);
		return;
	case FUSE_FORGET:
		fs_node_forget(s, q->h.nodeid, q->in.forget.nlookup);
		return; /* no reply */
	case FUSE_BATCH_FORGET:
		for (i = 0; i < q->nforgets; i++) {
			struct fuse_forget_one f;
			memcpy(&f, &q->forgets[i], sizeof(f));
			fs_node_forget(s, f.nodeid, f.nlookup);
		}
		return;
	case FUSE_INTERRUPT:
		return; /* requests finish on their own; no reply */
	}
	if (!s->inited) {
		fs_reply_err(r, EIO);
		return;
	}
	if (s->readonly && modifies(q->h.opcode)) {
		fs_reply_err(r, EROFS);
		return;
	}
	switch (q->h.opcode) {
	case FUSE_LOOKUP:
		fs_op_lookup(s, q, r);
		return;
	case FUSE_GETATTR:
		fs_op_getattr(s, q, r);
		return;
	case FUSE_SETATTR:
		fs_op_setattr(s, q, r);
		return;
	case FUSE_READLINK:
		fs_op_readlink(s, q, r);
		return;
	case FUSE_MKNOD:
	case FUSE_MKDIR:
		fs_op_mknod(s, q, r);
		return;
	case FUSE_SYMLINK:
		fs_op_symlink(s, q, r);
		return;
	case FUSE_LINK:
		fs_op_link(s, q, r);
		return;
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		fs_op_unlink(s, q, r);
		return;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		fs_op_rename(s, q, r);
		return;
	case FUSE_STATFS:
		fs_op_statfs(s, q, r);
		return;
	case FUSE_ACCESS:
		fs_op_access(s, q, r);
		return;
	case FUSE_OPEN:
		fs_op_open(s, q, r);
		return;
	case FUSE_CREATE:
		fs_op_create(s, q, r);
		return;
	case FUSE_READ:
		fs_op_read(s, q, r);
		return;
	case FUSE_WRITE:
		fs_op_write(s, q, r);
		return;
	case FUSE_FLUSH:
		fs_op_flush(s, q, r);
		return;
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
		fs_op_release(s, q, r);
		return;
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
		fs_op_fsync(s, q, r);
		return;
	case FUSE_LSEEK:
		fs_op_lseek(s, q, r);
		return;
	case FUSE_FALLOCATE:
		fs_op_fallocate(s, q, r);
		return;
	case FUSE_GETLK:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		fs_op_lock(s, q, r);
		return;
	case FUSE_OPENDIR:
		fs_op_opendir(s, q, r);
		return;
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		fs_op_readdir(s, q, r, sc);
		return;
	case FUSE_GETXATTR:
	case FUSE_SETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_REMOVEXATTR:
		fs_op_xattr(s, q, r, sc);
		return;
	default:
		fs_reply_err(r, ENOSYS);
		return;
	}
}

/**
 * fs_srv_handle() - parse and run the request in chain @c, writing the reply into it.
 * @sc: the calling thread's scratch buffers.
 * Return: bytes written into the chain's writable part (0 for requests without a reply).
 */
uint32_t fs_srv_handle(struct fs_srv *s, const struct vq_chain *c, struct fs_scratch *sc)
{
	struct fuse_req q;
	struct fs_reply r = {.c = c};
	int rc = fuse_req_parse(c, sc->req, sizeof(sc->req), &q);

	if (rc == -EPROTO)
		return 0;
	r.unique = q.h.unique;
	if (rc < 0) {
		if (q.h.opcode != FUSE_FORGET && q.h.opcode != FUSE_BATCH_FORGET &&
		    q.h.opcode != FUSE_INTERRUPT)
			fs_reply_err(&r, -rc);
		return r.len;
	}
	dispatch(s, &q, &r, sc);
	return r.len;
}

void fs_raise_nofile(void)
{
	static bool done;
	struct rlimit rl;

	if (done || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	done = true;
	if (rl.rlim_max < (1u << 20)) { /* root (CAP_SYS_RESOURCE) may go beyond the hard limit */
		struct rlimit big = {1u << 20, 1u << 20};
		if (setrlimit(RLIMIT_NOFILE, &big) == 0)
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A single-file share's entry: one component naming a regular file (not a symlink) in the
 * root @dirfd. Return 0, or -1 with one error line printed. Syscalls: fstatat. */
static int check_only_name(const struct fs_share_config *cfg, int dirfd)
{
	const char *nm = cfg->only_name;
	struct stat st;

	if (!*nm || strchr(nm, '/') || !strcmp(nm, ".") || !strcmp(nm, "..") ||
	    strlen(nm) > NAME_MAX) {
		sbx_err("virtio-fs share %s: bad file name '%s' (give one entry of the directory)",
			cfg->root, nm);
		return -1;
	}
	if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		sbx_err("virtio-fs share %s/%s: %s (check that the file exists)", cfg->root, nm,
			strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		sbx_err("virtio-fs share %s/%s: not a regular file (share a regular file or its "
			"directory)",
			cfg->root, nm);
		return -1;
	}
	return 0;
}

/**
 * fs_srv_new() - open the share root and the /proc fd, set up the tables. With
 * @cfg->only_name the root is the file's directory and the share is read-only.
 * Return: the server, or NULL with one error line printed.
 */
struct fs_srv *fs_srv_new(const struct fs_share_config *cfg)
{
	struct fs_srv *s;
	int fd, rc;

	if (!cfg || !cfg->root || cfg->root[0] != '/') {
		sbx_err("virtio-fs share: root must be an absolute path (fix the share)");
		return NULL;
	}
	fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		sbx_err("virtio-fs share %s: %s (check that the directory exists)", cfg->root,
			strerror(errno));
		return NULL;
	}
	if (cfg->only_name && check_only_name(cfg, fd) < 0) {
		close(fd);
		return NULL;
	}
	fs_raise_nofile();
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		sbx_err("virtio-fs share %s: out of memory (free memory and retry)", cfg->root);
		return NULL;
	}
	s->root_fd = fd;
	s->readonly = cfg->readonly || cfg->only_name;
	s->only_name = cfg->only_name ? strdup(cfg->only_name) : NULL;
	s->owner_uid = cfg->owner_uid;
	s->owner_gid = cfg->owner_gid;
	s->my_uid = geteuid();
	s->my_gid = getegid();
	s->chown_new = s->my_uid == 0 && cfg->owner_uid != 0;
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfg->only_name && !s->only_name) {
		sbx_err("virtio-fs share %s: out of memory (free memory and retry)", cfg->root);
		if (s->proc_fd >= 0)
			close(s->proc_fd);
		close(fd);
		free(s);
		return NULL;
	}
	if (s->proc_fd < 0) {
		sbx_err("virtio-fs share %s: cannot open /proc/self/fd: %s (mount /proc)",
			cfg->root, strerror(errno));
		close(fd);
		free(s->only_name);
		free(s);
		return NULL;
	}
	fs_locks_init(s);
	if ((rc = fs_nodes_init(s, fd)) < 0 || (rc = fs_handles_init(s)) < 0) {
		sbx_err("virtio-fs share %s: %s (free memory and retry)", cfg->root, strerror(-rc));
		fs_srv_free(s);
		return NULL;
	}
	if (!s->can_evict) {
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
			sbx_log(
			    "virtio-fs share %s: every inode the guest looks up holds an fd here "
			    "(no open_by_handle_at) and the open-file limit is %llu; large "
			    "trees may fail with EMFILE in the guest (raise ulimit -n)",
			    cfg->root, (unsigned long long)rl.rlim_cur);
	}
	return s;
}

/**
 * fs_srv_free() - close every handle and node (the root fd included) and free @s.
 */
void fs_srv_free(struct fs_srv *s)
{
	if (!s)
		return;
	fs_locks_drop_all(s);
	fs_handles_free(s);
	if (s->nodes)
		fs_nodes_free(s);
	else
		close(s->root_fd);
	close(s->proc_fd);
	free(s->only_name);
	free(s);
}
