/* virtio-fs internals shared by the FUSE server's files: the server state, node and handle
 * tables, the parsed request and the reply helpers. Never included outside src/virtio/fs and its
 * tests; never holds a path string for a node (nodes are O_PATH fds, names are single components).
 */
#ifndef SBX_VIRTIO_FS_FS_INT_H
#define SBX_VIRTIO_FS_FS_INT_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "virtio/fs/fs.h"
#include "virtio/fs/fuse_req.h"
#include "virtio/queue.h"

#define FS_GUEST_UID 1000 /* the guest's `agent` */
#define FS_GUEST_GID 1000
#define FS_NOBODY    65534
/* A request's data pages must fit one chain (VQ_MAX_SEGS segments each way, the guest uses one
 * per page plus up to 4 for headers): 256 pages = 1 MiB with the queue's 260. */
#define FS_MAX_PAGES	(VQ_MAX_SEGS - 4)
#define FS_MAX_WRITE	((uint32_t)FS_MAX_PAGES * 4096u) /* max_write and largest read */
#define FS_TIMEOUT_S	1				 /* entry and attr timeout */
#define FS_DIRBUF_MAX	(128u << 10)
#define FS_NODES_MAX	(1u << 20)
#define FS_HANDLES_MAX	(1u << 16)
#define FS_LOCK_WAIT_MS 5000 /* SETLKW gives up with EAGAIN after this */

/* A node the guest knows by nodeid: an O_PATH fd on the inode, never a path. When the process
 * runs short of fds, the fds of idle nodes are closed and reopened from their file handle (taken
 * when the node was made) on next use, so open fds do not grow with the guest's inode cache. */
#define FS_MOUNTS_MAX 32 /* filesystems under one share whose nodes can be reopened by handle */
struct fs_node {
	int fd; /* O_PATH|O_NOFOLLOW; -1 while evicted (only when refs == 0) */
	dev_t dev;
	ino_t ino;
	mode_t type;  /* S_IFMT bits; never changes for an inode */
	uint32_t gen; /* slot generation, the high half of the nodeid */
	uint32_t slot;
	uint64_t nlookup;      /* guest's lookup count (FORGET subtracts) */
	uint32_t refs;	       /* requests using it now */
	struct fs_node *hnext; /* (dev, ino) hash chain */
	bool hot;	       /* used since the eviction clock last passed */
	bool pinned;	       /* never evicted: no usable handle, or the inode is unlinked */
	int8_t mount;	       /* index into fs_srv.mounts of the handle's filesystem */
	int fh_type;	       /* the file handle: type and bytes (name_to_handle_at) */
	uint8_t fh_len;
	unsigned char fh[]; /* fh_len bytes */
};

/* A guest lock owner's own host open file description on one node, carrying its OFD locks. */
#define FS_LOCK_OWNERS_MAX 256
struct fs_lock_owner {
	int fd; /* -1: free slot */
	uint64_t owner;
	uint64_t nodeid;
	uint32_t pid; /* guest pid that last locked through it */
};

/* An open file or directory handle: fh = gen << 32 | slot. */
struct fs_handle {
	int fd;
	bool dir;
	bool strip_priv; /* file had setuid/setgid when opened: strip on first write */
	uint32_t gen;
	uint32_t slot;
	uint32_t refs;
	bool released;
	pthread_mutex_t lock; /* directory position */
};

struct fs_srv {
	int root_fd; /* O_PATH|O_DIRECTORY */
	int proc_fd; /* /proc/self/fd, to reopen O_PATH fds of non-symlinks */
	bool readonly;
	char *only_name; /* single-file share: the one root entry shown, else NULL */
	uid_t owner_uid, my_uid;
	gid_t owner_gid, my_gid;
	bool chown_new; /* running as root for another owner: fchown what we create */
	bool inited;
	uint32_t proto_minor;

	pthread_mutex_t nodes_lock;
	struct fs_node **nodes; /* by slot; slot 0 unused, slot 1 = root */
	uint32_t *node_gen;
	uint32_t nodes_cap, nodes_used;
	uint32_t nodes_hw; /* slots below were used at least once */
	uint32_t *free_slots, nfree;
	struct fs_node **hash;
	uint32_t hash_size;
	bool can_evict;		 /* open_by_handle_at works here (CAP_DAC_READ_SEARCH) */
	uint32_t clock;		 /* eviction clock hand (a slot) */
	uint32_t nfds;		 /* node fds open now (root excluded) */
	uint64_t evicted;	 /* node fds closed to stay within the budget, ever */
	uint32_t evict_retry_at; /* a sweep found too little: wait until this many fds */
	struct {
		int id; /* mount id from name_to_handle_at */
		int fd; /* an O_PATH fd on that mount */
	} mounts[FS_MOUNTS_MAX];
	int nmounts;

	pthread_mutex_t locks_lock;
	struct fs_lock_owner lock_owners[FS_LOCK_OWNERS_MAX];

	pthread_mutex_t handles_lock;
	struct fs_handle **handles;
	uint32_t *handle_gen;
	uint32_t *handle_free, nhfree, handles_hw;
};

/* Per worker scratch: the private copy of a request and a directory listing buffer. */
struct fs_scratch {
	uint8_t req[FUSE_REQ_COPY_MAX];
	uint8_t dir[FS_DIRBUF_MAX];
	uint8_t dents[32768]; /* getdents64 output */
};

/* The reply being built into a chain's device-writable part. */
struct fs_reply {
	const struct vq_chain *c;
	uint64_t unique;
	uint32_t len; /* bytes written (0: no reply) */
};

/* server (srv.c) */
struct fs_srv *fs_srv_new(const struct fs_share_config *cfg);
void fs_srv_free(struct fs_srv *s);
uint32_t fs_srv_handle(struct fs_srv *s, const struct vq_chain *c, struct fs_scratch *sc);
void fs_srv_reset(struct fs_srv *s);

/* replies (srv.c) */
void fs_reply_err(struct fs_reply *r, int err);
void fs_reply_ok(struct fs_reply *r, const void *body, size_t len);
void fs_reply_ok2(struct fs_reply *r, const void *a, size_t alen, const void *b, size_t blen);

/* nodes (inode.c) */
int fs_nodes_init(struct fs_srv *s, int root_fd);
void fs_nodes_free(struct fs_srv *s);
void fs_nodes_forget_all(struct fs_srv *s);
struct fs_node *fs_node_get(struct fs_srv *s, uint64_t nodeid);
void fs_node_put(struct fs_srv *s, struct fs_node *n);
uint64_t fs_node_id(const struct fs_node *n);
int fs_node_lookup(struct fs_srv *s, int fd, const struct stat *st, uint64_t *nodeid);
void fs_node_forget(struct fs_srv *s, uint64_t nodeid, uint64_t n);
void fs_nodes_set_fd_budget(uint32_t budget);
uint32_t fs_nodes_fd_budget(void);

/* handles (handle.c) */
int fs_handles_init(struct fs_srv *s);
void fs_handles_free(struct fs_srv *s);
int fs_handle_new(struct fs_srv *s, int fd, bool dir, uint64_t *fh);
struct fs_handle *fs_handle_get(struct fs_srv *s, uint64_t fh, bool dir);
void fs_handle_put(struct fs_srv *s, struct fs_handle *h);
int fs_handle_release(struct fs_srv *s, uint64_t fh, bool dir);
void fs_handles_release_all(struct fs_srv *s);

/* confinement and attributes (confine.c) */
int fs_open_child(struct fs_srv *s, int dirfd, const char *name, struct stat *st);
int fs_reopen(struct fs_srv *s, const struct fs_node *n, int flags);
int fs_proc_path(struct fs_srv *s, const struct fs_node *n, char *buf, size_t len);
void fs_fill_attr(const struct fs_srv *s, const struct stat *st, struct fuse_attr *a);
int fs_map_chown(const struct fs_srv *s, uint32_t valid, uint32_t uid, uint32_t gid);
void fs_new_owner(const struct fs_srv *s, int dirfd, const char *name);
int fs_entry(struct fs_srv *s, int dirfd, const char *name, struct fuse_entry_out *e);
bool fs_name_hidden(const struct fs_srv *s, bool in_root, const char *name);

/* operations (ops_*.c): each writes its reply (or none) into @r */
void fs_op_lookup(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_getattr(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_setattr(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_readlink(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_mknod(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_symlink(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_link(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_unlink(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_rename(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_statfs(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_access(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_open(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_create(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_read(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_write(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_release(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
int fs_locks_init(struct fs_srv *s);
void fs_locks_drop_owner(struct fs_srv *s, uint64_t nodeid, uint64_t owner);
void fs_locks_drop_all(struct fs_srv *s);
void fs_op_flush(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_fsync(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_lseek(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_fallocate(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_lock(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_opendir(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r);
void fs_op_readdir(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r,
		   struct fs_scratch *sc);
void fs_op_xattr(struct fs_srv *s, const struct fuse_req *q, struct fs_reply *r,
		 struct fs_scratch *sc);

#endif
