/* The node table: nodeid -> O_PATH fd + (dev, ino) + lookup count, and (dev, ino) -> node so a
 * repeated lookup returns the same nodeid. Owns node lifetime (guest lookups and FORGET, plus
 * in-flight references). Never resolves a name and never hands out a node the guest did not get
 * from a lookup; a nodeid is gen << 32 | slot so a stale or forged id never aliases a live node. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

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
	close(n->fd);
	free(n);
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
			close(s->nodes[i]->fd);
			free(s->nodes[i]);
		}
	free(s->nodes);
	free(s->node_gen);
	free(s->free_slots);
	free(s->hash);
	s->nodes = NULL;
	pthread_mutex_destroy(&s->nodes_lock);
}

/**
 * fs_node_get() - the live node @nodeid with a reference held, or NULL for an unknown id.
 */
struct fs_node *fs_node_get(struct fs_srv *s, uint64_t nodeid)
{
	uint32_t slot = (uint32_t)nodeid, gen = (uint32_t)(nodeid >> 32);
	struct fs_node *n = NULL;

	pthread_mutex_lock(&s->nodes_lock);
	if (slot < s->nodes_cap && s->nodes[slot] && s->nodes[slot]->gen == gen) {
		n = s->nodes[slot];
		n->refs++;
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
	struct fs_node *n;
	uint32_t slot;
	int rc;

	pthread_mutex_lock(&s->nodes_lock);
	for (n = s->hash[hash_of(s, st->st_dev, st->st_ino)]; n; n = n->hnext)
		if (n->dev == st->st_dev && n->ino == st->st_ino)
			break;
	if (n) {
		n->nlookup++;
		*nodeid = fs_node_id(n);
		pthread_mutex_unlock(&s->nodes_lock);
		close(fd);
		return 0;
	}
	n = calloc(1, sizeof(*n));
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
	*n = (struct fs_node){.fd = fd,
			      .dev = st->st_dev,
			      .ino = st->st_ino,
			      .type = st->st_mode & S_IFMT,
			      .gen = s->node_gen[slot],
			      .slot = slot,
			      .nlookup = 1};
	s->nodes[slot] = n;
	s->nodes_used++;
	n->hnext = s->hash[hash_of(s, n->dev, n->ino)];
	s->hash[hash_of(s, n->dev, n->ino)] = n;
	*nodeid = fs_node_id(n);
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
