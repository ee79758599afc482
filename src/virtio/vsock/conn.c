/* Fixed-size vsock connection table with a port-pair hash (see conn.h).
 * Owns slot lifetime and credit arithmetic; never touches fds or guest memory. */
#include "virtio/vsock/conn.h"

#include <stdlib.h>
#include <string.h>

static unsigned hkey(uint32_t local, uint32_t peer)
{
	uint32_t h = local * 0x9e3779b1u ^ (peer + 0x7f4a7c15u) * 0x85ebca6bu;
	return (h ^ (h >> 15)) % VSOCK_HASH_SIZE;
}

void vconn_table_init(struct vsock_conn_table *t, bool reinit)
{
	int i;

	for (i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (reinit)
			free(t->c[i].buf);
		memset(&t->c[i], 0, sizeof(t->c[i]));
		t->c[i].fd = -1;
		t->c[i].fnext = i + 1 < VSOCK_MAX_CONNS ? i + 1 : VSOCK_NO_CONN;
		t->c[i].hnext = t->c[i].qprev = t->c[i].qnext = VSOCK_NO_CONN;
	}
	for (i = 0; i < VSOCK_HASH_SIZE; i++)
		t->hash[i] = VSOCK_NO_CONN;
	t->free_head = 0;
	t->used = 0;
}

int vconn_index(const struct vsock_conn_table *t, const struct vsock_conn *c)
{
	return (int)(c - t->c);
}

struct vsock_conn *vconn_alloc(struct vsock_conn_table *t)
{
	struct vsock_conn *c;
	int i = t->free_head;

	if (i == VSOCK_NO_CONN)
		return NULL;
	c = &t->c[i];
	t->free_head = c->fnext;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->hnext = c->qprev = c->qnext = c->fnext = VSOCK_NO_CONN;
	c->ev_mask = ~0u;
	t->used++;
	return c;
}

static bool hashed(struct vsock_conn_table *t, struct vsock_conn *c)
{
	int i = t->hash[hkey(c->local_port, c->peer_port)];

	for (; i != VSOCK_NO_CONN; i = t->c[i].hnext)
		if (&t->c[i] == c)
			return true;
	return false;
}

static void hash_del(struct vsock_conn_table *t, struct vsock_conn *c)
{
	int *p = &t->hash[hkey(c->local_port, c->peer_port)];
	int me = vconn_index(t, c);

	while (*p != VSOCK_NO_CONN) {
		if (*p == me) {
			*p = c->hnext;
			return;
		}
		p = &t->c[*p].hnext;
	}
}

void vconn_release(struct vsock_conn_table *t, struct vsock_conn *c)
{
	if (c->state == VCONN_FREE)
		return;
	if (hashed(t, c))
		hash_del(t, c);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->state = VCONN_FREE;
	c->fd = -1;
	c->hnext = c->qprev = c->qnext = VSOCK_NO_CONN;
	c->fnext = t->free_head;
	t->free_head = vconn_index(t, c);
	t->used--;
}

int vconn_hash_add(struct vsock_conn_table *t, struct vsock_conn *c)
{
	unsigned k = hkey(c->local_port, c->peer_port);

	if (vconn_lookup(t, c->local_port, c->peer_port))
		return -1;
	c->hnext = t->hash[k];
	t->hash[k] = vconn_index(t, c);
	return 0;
}

struct vsock_conn *vconn_lookup(struct vsock_conn_table *t, uint32_t local_port, uint32_t peer_port)
{
	int i = t->hash[hkey(local_port, peer_port)];

	for (; i != VSOCK_NO_CONN; i = t->c[i].hnext) {
		struct vsock_conn *c = &t->c[i];
		if (c->local_port == local_port && c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

uint32_t vconn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

uint32_t vconn_our_space(const struct vsock_conn *c)
{
	uint32_t used = c->rx_cnt - c->fwd_cnt;

	return used >= VSOCK_BUF_ALLOC ? 0 : VSOCK_BUF_ALLOC - used;
}
