/* The node table: nodeid -> O_PATH fd + (dev, ino) + lookup count, and (dev, ino) -> node so a
 * repeated lookup returns the same nodeid. Owns node lifetime (guest lookups and FORGET, plus
 * in-flight references) and the process-wide budget of node fds: idle nodes' fds are closed
 * (clock order) and reopened from the file handle taken at creation. Never resolves a name and
 * never hands out a node the guest did not get from a lookup; a nodeid is gen << 32 | slot so a
 * stale or forged id never aliases a live node. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/err.h"
#include "virtio/fs/fs_int.h"

/* Node fds open in this process (every share), and how many may be before eviction starts:
 * half the open-file limit by default, leaving the rest for open files, locks and sockets. */
static atomic_uint node_fds;
static atomic_uint fd_budget;

/**
 * fs_nodes_set_fd_budget() - cap node fds in this process at @budget (0: half the fd limit).
 */
void fs_nodes_set_fd_budget(uint32_t budget)
{
	atomic_store(&fd_budget, budget);
}

/**
 * fs_nodes_fd_budget() - the cap in force (computed from RLIMIT_NOFILE on first use).
 */
uint32_t fs_nodes_fd_budget(void)
{
	uint32_t b = atomic_load(&fd_budget);
	struct rlimit rl;

	if (b)
		return b;
	b = 4096;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		b = rl.rlim_cur / 2 > 64 ? (uint32_t)(rl.rlim_cur / 2) : 64;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		b = 1u << 20;
	atomic_store(&fd_budget, b);
	return b;
}

static void node_fd_close(struct fs_srv *s, struct fs_node *n)
{
	if (n->fd < 0)
		return;
	close(n->fd);
	n->fd = -1;
	if (n->slot != FUSE_ROOT_ID) {
		s->nfds--;
		atomic_fetch_sub(&node_fds, 1);
	}
}

static void node_fd_set(struct fs_srv *s, struct fs_node *n, int fd)
{
	n->fd = fd;
	s->nfds++;
	atomic_fetch_add(&node_fds, 1);
}

/* The file handle of @fd into @fh (room for MAX_HANDLE_SZ) and its mount's index in s->mounts.
 * A mount is added when first seen through a directory (open_by_handle_at wants a real open fd
 * on the filesystem, not O_PATH: the directory is opened read-only for that). Return 0, or -1
 * when the node cannot be reopened by handle. */
static int handle_of(struct fs_srv *s, int fd, bool dir, struct file_handle *fh, int *mount)
{
	int mid, i, mfd;

	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", fh, &mid, AT_EMPTY_PATH) < 0 || fh->handle_bytes > 255)
		return -1;
	for (i = 0; i < s->nmounts; i++)
		if (s->mounts[i].id == mid) {
			*mount = i;
			return 0;
		}
	if (!dir || s->nmounts == FS_MOUNTS_MAX ||
	    (mfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	s->mounts[s->nmounts].id = mid;
	s->mounts[s->nmounts].fd = mfd;
	*mount = s->nmounts++;
	return 0;
}

/* Close idle nodes' fds, clock order with a second chance for recently used ones, until this
 * process is an eighth below the budget or a full sweep found nothing more. Unlinked inodes
 * are pinned instead (their handle would be stale). Caller holds nodes_lock. */
static void evict_idle(struct fs_srv *s)
{
	uint32_t budget = fs_nodes_fd_budget(), target = budget - budget / 8, scanned;
	struct stat st;

	if (!s->can_evict || atomic_load(&node_fds) <= budget ||
	    atomic_load(&node_fds) < s->evict_retry_at)
		return;
	if (!s->evicted)
		sbx_log("virtio-fs: the guest holds more than %u inodes: idle ones are closed and "
			"reopened by handle from now on",
			budget);
	for (scanned = 0; scanned < 2 * s->nodes_hw && atomic_load(&node_fds) > target; scanned++) {
		struct fs_node *n;

		if (s->clock <= FUSE_ROOT_ID || s->clock >= s->nodes_hw)
			s->clock = FUSE_ROOT_ID + 1;
		n = s->nodes[s->clock++];
		if (!n || n->fd < 0 || n->refs || n->pinned)
			continue;
		if (n->hot) {
			n->hot = false;
			continue;
		}
		if (fstat(n->fd, &st) < 0 || (st.st_nlink == 0 && !S_ISDIR(st.st_mode))) {
			n->pinned = true;
			continue;
		}
		node_fd_close(s, n);
		s->evicted++;
	}
	/* nothing more to take here (all busy or pinned): don't sweep again on every call */
	s->evict_retry_at =
	    atomic_load(&node_fds) > target ? atomic_load(&node_fds) + budget / 8 : 0;
}

/* Give evicted node @n its fd back. Caller holds nodes_lock. Return 0 or -errno (ESTALE: the
 * inode is gone). Syscalls: open_by_handle_at. */
static int node_reopen(struct fs_srv *s, struct fs_node *n)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int fd;

	h.fh.handle_bytes = n->fh_len;
	h.fh.handle_type = n->fh_type;
	memcpy(h.fh.f_handle, n->fh, n->fh_len);
	fd = open_by_handle_at(s->mounts[n->mount].fd, &h.fh, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	node_fd_set(s, n, fd);
	return 0;
}

static uint32_t hash_of(const struct fs_srv *s, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	return (uint32_t)(h >> 32) & (s->hash_size - 1);
}

uint64_t fs_node_id(const struct fs_node *n)
{
	return (uint64_t)n->gen << 32 | n->slot;
}

static void hash_del(struct fs_srv *s, struct fs_node *n)
{
	struct fs_node **pp = &s->hash[hash_of(s, n->dev, n->ino)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			return;
		}
}

/* Free a node nobody knows any more. Caller holds nodes_lock. */
static void node_drop(struct fs_srv *s, struct fs_node *n)
{
	if (n->slot == FUSE_ROOT_ID || n->nlookup || n->refs)
		return;
	hash_del(s, n);
	s->nodes[n->slot] = NULL;
	s->node_gen[n->slot]++;
	s->free_slots[s->nfree++] = n->slot;
	s->nodes_used--;
	node_fd_close(s, n);
	free(n);
}

/* Can nodes be reopened by handle here (a filesystem with handles, and CAP_DAC_READ_SEARCH)?
 * Syscalls: name_to_handle_at, open_by_handle_at. */
static bool probe_handles(struct fs_srv *s, int root_fd)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int mount, fd;

	if (handle_of(s, root_fd, true, &h.fh, &mount) < 0)
		return false;
	fd = open_by_handle_at(s->mounts[mount].fd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/**
 * fs_nodes_init() - create the table with the root (nodeid FUSE_ROOT_ID) on @root_fd.
 * Return: 0 or -errno. Syscalls: fstat.
 */
int fs_nodes_init(struct fs_srv *s, int root_fd)
{
	struct fs_node *r;
	struct stat st;

	if (fstat(root_fd, &st) < 0)
		return -errno;
	pthread_mutex_init(&s->nodes_lock, NULL);
	s->hash_size = 4096;
	s->nodes_cap = 1024;
	s->hash = calloc(s->hash_size, sizeof(*s->hash));
	s->nodes = calloc(s->nodes_cap, sizeof(*s->nodes));
	s->node_gen = calloc(s->nodes_cap, sizeof(*s->node_gen));
	s->free_slots = calloc(s->nodes_cap, sizeof(*s->free_slots));
	r = calloc(1, sizeof(*r));
	if (!s->hash || !s->nodes || !s->node_gen || !s->free_slots || !r) {
		free(r);
		return -ENOMEM;
	}
	*r = (struct fs_node){.fd = root_fd,
			      .dev = st.st_dev,
			      .ino = st.st_ino,
			      .type = st.st_mode & S_IFMT,
			      .slot = FUSE_ROOT_ID,
			      .nlookup = 1};
	s->nodes[FUSE_ROOT_ID] = r;
	s->hash[hash_of(s, r->dev, r->ino)] = r;
	s->nodes_used = 2; /* slot 0 is never used */
	s->nodes_hw = 2;
	s->can_evict = probe_handles(s, root_fd);
	return 0;
}

/**
 * fs_nodes_forget_all() - drop every guest lookup (guest reset/DESTROY); the root stays.
 */
void fs_nodes_forget_all(struct fs_srv *s)
{
	uint32_t i;

	pthread_mutex_lock(&s->nodes_lock);
	for (i = FUSE_ROOT_ID + 1; i < s->nodes_cap; i++)
		if (s->nodes[i]) {
			s->nodes[i]->nlookup = 0;
			node_drop(s, s->nodes[i]);
		}
	pthread_mutex_unlock(&s->nodes_lock);
}

/**
 * fs_nodes_free() - free every node and the tables (root fd included).
 */
void fs_nodes_free(struct fs_srv *s)
{
	uint32_t i;

	if (!s->nodes)
		return;
	for (i = 0; i < s->nodes_cap; i++)
		if (s->nodes[i]) {
			node_fd_close(s, s->nodes[i]);
			free(s->nodes[i]);
		}
	for (i = 0; i < (uint32_t)s->nmounts; i++)
		close(s->mounts[i].fd);
	s->nmounts = 0;
	free(s->nodes);
	free(s->node_gen);
	free(s->free_slots);
	free(s->hash);
	s->nodes = NULL;
	pthread_mutex_destroy(&s->nodes_lock);
}

/**
 * fs_node_get() - the live node @nodeid with a reference held and its fd open, or NULL for an
 * unknown id or an evicted node whose inode is gone (callers answer ESTALE).
 */
struct fs_node *fs_node_get(struct fs_srv *s, uint64_t nodeid)
{
	uint32_t slot = (uint32_t)nodeid, gen = (uint32_t)(nodeid >> 32);
	struct fs_node *n = NULL;

	pthread_mutex_lock(&s->nodes_lock);
	if (slot < s->nodes_cap && s->nodes[slot] && s->nodes[slot]->gen == gen) {
		n = s->nodes[slot];
		if (n->fd < 0 && node_reopen(s, n) < 0) {
			n = NULL;
		} else {
			n->refs++; /* before eviction runs: this one is in use */
			n->hot = true;
			evict_idle(s);
		}
	}
	pthread_mutex_unlock(&s->nodes_lock);
	return n;
}

/**
 * fs_node_put() - release a reference from fs_node_get(); frees a forgotten node.
 */
void fs_node_put(struct fs_srv *s, struct fs_node *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&s->nodes_lock);
	n->refs--;
	node_drop(s, n);
	pthread_mutex_unlock(&s->nodes_lock);
}

static int grow(struct fs_srv *s)
{
	uint32_t ncap = s->nodes_cap * 2, i;
	struct fs_node **nn;
	uint32_t *ng;

	if (s->nodes_cap >= FS_NODES_MAX)
		return -ENFILE;
	nn = realloc(s->nodes, ncap * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	s->nodes = nn;
	ng = realloc(s->node_gen, ncap * sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	s->node_gen = ng;
	ng = realloc(s->free_slots, ncap * sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	s->free_slots = ng;
	for (i = s->nodes_cap; i < ncap; i++) {
		nn[i] = NULL;
		ng[i] = 0;
	}
	s->nodes_cap = ncap;
	return 0;
}

/**
 * fs_node_lookup() - count one guest lookup of the inode open as @fd (O_PATH) with stat @st.
 * Takes ownership of @fd (closed if an existing node is reused or on error).
 * Return: 0 with *@nodeid set, or -errno (ENFILE when the table is full).
 */
int fs_node_lookup(struct fs_srv *s, int fd, const struct stat *st, uint64_t *nodeid)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	bool have_handle = false;
	struct fs_node *n;
	uint32_t slot;
	int rc, mount = 0;

	pthread_mutex_lock(&s->nodes_lock);
	for (n = s->hash[hash_of(s, st->st_dev, st->st_ino)]; n; n = n->hnext)
		if (n->dev == st->st_dev && n->ino == st->st_ino)
			break;
	if (n && n->fd < 0) {
		/* evicted: the same inode (same handle) takes this fd back; a reused inode
		 * number means the old inode is gone, so that node leaves the hash */
		have_handle =
		    s->can_evict && handle_of(s, fd, S_ISDIR(st->st_mode), &h.fh, &mount) == 0;
		if (have_handle && mount == n->mount && h.fh.handle_bytes == n->fh_len &&
		    h.fh.handle_type == n->fh_type && !memcmp(h.fh.f_handle, n->fh, n->fh_len)) {
			node_fd_set(s, n, fd);
			fd = -1;
		} else {
			hash_del(s, n);
			n->hnext = NULL;
			n = NULL;
		}
	}
	if (n) {
		n->nlookup++;
		n->hot = true;
		*nodeid = fs_node_id(n);
		evict_idle(s);
		pthread_mutex_unlock(&s->nodes_lock);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!have_handle && s->can_evict)
		have_handle = handle_of(s, fd, S_ISDIR(st->st_mode), &h.fh, &mount) == 0;
	n = calloc(1, sizeof(*n) + (have_handle ? h.fh.handle_bytes : 0));
	if (!n) {
		rc = -ENOMEM;
		goto fail;
	}
	if (s->nfree) {
		slot = s->free_slots[--s->nfree];
	} else {
		if (s->nodes_hw >= s->nodes_cap && (rc = grow(s)) < 0)
			goto fail;
		slot = s->nodes_hw++;
	}
	*n = (struct fs_node){.fd = -1,
			      .dev = st->st_dev,
			      .ino = st->st_ino,
			      .type = st->st_mode & S_IFMT,
			      .gen = s->node_gen[slot],
			      .slot = slot,
			      .nlookup = 1,
			      .hot = true,
			      .pinned = !have_handle,
			      .mount = (int8_t)mount};
	if (have_handle) {
		n->fh_type = h.fh.handle_type;
		n->fh_len = (uint8_t)h.fh.handle_bytes;
		memcpy(n->fh, h.fh.f_handle, n->fh_len);
	}
	node_fd_set(s, n, fd);
	s->nodes[slot] = n;
	s->nodes_used++;
	n->hnext = s->hash[hash_of(s, n->dev, n->ino)];
	s->hash[hash_of(s, n->dev, n->ino)] = n;
	*nodeid = fs_node_id(n);
	evict_idle(s);
	pthread_mutex_unlock(&s->nodes_lock);
	return 0;
fail:
	pthread_mutex_unlock(&s->nodes_lock);
	free(n);
	close(fd);
	return rc;
}

/**
 * fs_node_forget() - subtract @n guest lookups from @nodeid (FORGET); unknown ids are ignored.
 */
void fs_node_forget(struct fs_srv *s, uint64_t nodeid, uint64_t n)
{
	uint32_t slot = (uint32_t)nodeid, gen = (uint32_t)(nodeid >> 32);
	struct fs_node *node;

	pthread_mutex_lock(&s->nodes_lock);
	if (slot < s->nodes_cap && (node = s->nodes[slot]) && node->gen == gen &&
	    slot != FUSE_ROOT_ID) {
		node->nlookup = n >= node->nlookup ? 0 : node->nlookup - n;
		node_drop(s, node);
	}
	pthread_mutex_unlock(&s->nodes_lock);
}
