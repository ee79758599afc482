/* virtio-vsock device: the rx/tx queues, packet dispatch, rx scheduling and credit updates.
 * Owns what goes onto the rings; the one place guest packets are interpreted (headers through
 * pkt.c). Never touches vhost-user or MMIO, never blocks, never buffers beyond VSOCK_BUF_ALLOC. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"
#include "virtio/vsock/vsock_int.h"

static struct vsock_dev *to_dev(struct virtio_dev *v)
{
	return (struct vsock_dev *)((char *)v - offsetof(struct vsock_dev, vdev));
}

void vsock_rx_enqueue(struct vsock_dev *d, struct vsock_conn *c)
{
	int i = vconn_index(&d->t, c);

	if (c->queued)
		return;
	c->queued = true;
	c->qnext = VSOCK_NO_CONN;
	c->qprev = d->q_tail;
	if (d->q_tail != VSOCK_NO_CONN)
		d->t.c[d->q_tail].qnext = i;
	else
		d->q_head = i;
	d->q_tail = i;
}

static void rx_unlink(struct vsock_dev *d, struct vsock_conn *c)
{
	if (!c->queued)
		return;
	if (c->qprev != VSOCK_NO_CONN)
		d->t.c[c->qprev].qnext = c->qnext;
	else
		d->q_head = c->qnext;
	if (c->qnext != VSOCK_NO_CONN)
		d->t.c[c->qnext].qprev = c->qprev;
	else
		d->q_tail = c->qprev;
	c->queued = false;
	c->qprev = c->qnext = VSOCK_NO_CONN;
}

void vsock_ctrl_rst(struct vsock_dev *d, uint32_t local_port, uint32_t peer_port)
{
	struct vsock_hdr *h;

	if (d->ctrl_len >= VSOCK_CTRL_MAX) {
		sbx_log("vsock: reset queue full, dropping RST to guest port %u", peer_port);
		return;
	}
	h = &d->ctrl[(d->ctrl_head + d->ctrl_len++) % VSOCK_CTRL_MAX];
	*h = (struct vsock_hdr){.src_cid = VSOCK_HOST_CID,
				.dst_cid = d->guest_cid,
				.src_port = local_port,
				.dst_port = peer_port,
				.type = VSOCK_TYPE_STREAM,
				.op = VSOCK_OP_RST};
}

void vsock_conn_kill(struct vsock_dev *d, struct vsock_conn *c, bool rst)
{
	if (c->state == VCONN_FREE)
		return;
	if (rst && c->state != VCONN_HANDSHAKE)
		vsock_ctrl_rst(d, c->local_port, c->peer_port);
	vsock_conn_close_fd(d, c);
	rx_unlink(d, c);
	vconn_release(&d->t, c);
}

static void fill_hdr(struct vsock_dev *d, struct vsock_conn *c, uint16_t op, struct vsock_hdr *h)
{
	*h = (struct vsock_hdr){.src_cid = VSOCK_HOST_CID,
				.dst_cid = d->guest_cid,
				.src_port = c->local_port,
				.dst_port = c->peer_port,
				.type = VSOCK_TYPE_STREAM,
				.op = op,
				.buf_alloc = VSOCK_BUF_ALLOC,
				.fwd_cnt = c->fwd_cnt};
	c->last_fwd_adv = c->fwd_cnt;
}

/* Put one header-only packet on the rx queue. Return false when no buffer is available. */
static bool rx_send_hdr(struct vsock_dev *d, const struct vsock_hdr *h)
{
	struct virtq *vq = &d->vdev.vqs[VSOCK_QUEUE_RX];
	uint8_t raw[VSOCK_HDR_LEN];
	struct vq_chain ch;

	if (!vq_pop(vq, &ch))
		return false;
	vsock_hdr_encode(h, raw);
	if (vq_chain_write(&ch, 0, raw, sizeof(raw)) < sizeof(raw)) {
		vq_push(vq, ch.head, 0); /* guest gave a buffer too small for a header */
		d->rx_pushed++;
		return true;
	}
	vq_push(vq, ch.head, VSOCK_HDR_LEN);
	d->rx_pushed++;
	return true;
}

static bool can_read(const struct vsock_conn *c)
{
	return c->state == VCONN_ESTABLISHED && !c->eof && !(c->peer_shut & VSOCK_SHUTDOWN_RCV) &&
	       vconn_peer_credit(c) > 0;
}

void vsock_conn_check_done(struct vsock_dev *d, struct vsock_conn *c)
{
	bool guest_done, host_done;

	if (c->state != VCONN_ESTABLISHED)
		return;
	guest_done = (c->peer_shut & VSOCK_SHUTDOWN_SEND) && c->buf_len == 0;
	host_done = c->eof;
	if ((guest_done && host_done) ||
	    (c->peer_shut == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND) && c->buf_len == 0))
		vsock_conn_kill(d, c, true);
}

static void on_eof(struct vsock_dev *d, struct vsock_conn *c)
{
	c->readable = false;
	c->eof = true;
	c->shut_send |= VSOCK_SHUTDOWN_SEND | (c->hup ? VSOCK_SHUTDOWN_RCV : 0);
	c->pending |= VPEND_SHUTDOWN;
	vsock_conn_update_events(d, c);
	vsock_conn_check_done(d, c);
}

/* Read host bytes straight into one rx buffer. Return 1 sent, 0 nothing to send now,
 * -1 no rx buffer, -2 the connection was freed. */
static int rx_data(struct vsock_dev *d, struct vsock_conn *c)
{
	struct virtq *vq = &d->vdev.vqs[VSOCK_QUEUE_RX];
	uint8_t raw[VSOCK_HDR_LEN];
	struct iovec iov[VQ_MAX_SEGS];
	struct vsock_hdr h;
	struct vq_chain ch;
	size_t cap;
	ssize_t n;
	int niov;

	if (!vq_pop(vq, &ch))
		return -1;
	if (ch.wr_len <= VSOCK_HDR_LEN) {
		vq_push(vq, ch.head, 0);
		d->rx_pushed++;
		return 1;
	}
	cap = ch.wr_len - VSOCK_HDR_LEN;
	if (cap > vconn_peer_credit(c))
		cap = vconn_peer_credit(c);
	if (cap > VSOCK_MAX_PKT_PAYLOAD)
		cap = VSOCK_MAX_PKT_PAYLOAD;
	niov = vq_chain_iov(&ch, true, VSOCK_HDR_LEN, cap, iov, VQ_MAX_SEGS);
	n = readv(c->fd, iov, niov);
	if (n > 0) {
		fill_hdr(d, c, VSOCK_OP_RW, &h);
		h.len = (uint32_t)n;
		vsock_hdr_encode(&h, raw);
		vq_chain_write(&ch, 0, raw, sizeof(raw));
		vq_push(vq, ch.head, VSOCK_HDR_LEN + (uint32_t)n);
		d->rx_pushed++;
		c->tx_cnt += (uint32_t)n;
		c->pending &= ~VPEND_CREDIT; /* the header carried our counters */
		return 1;
	}
	vq_unpop(vq);
	if (n == 0) {
		on_eof(d, c);
		return c->state == VCONN_FREE ? -2 : 0;
	}
	if (errno == EAGAIN || errno == EINTR) {
		c->readable = false;
		vsock_conn_update_events(d, c);
		return 0;
	}
	vsock_conn_kill(d, c, true);
	return -2;
}

static int rx_ctl(struct vsock_dev *d, struct vsock_conn *c, uint32_t bit, uint16_t op)
{
	struct vsock_hdr h;

	fill_hdr(d, c, op, &h);
	if (op == VSOCK_OP_SHUTDOWN)
		h.flags = c->shut_send;
	if (!rx_send_hdr(d, &h))
		return -1;
	c->pending &= ~bit;
	return 1;
}

/* Send the next thing @c owes the guest. Same return values as rx_data(). */
static int rx_conn_step(struct vsock_dev *d, struct vsock_conn *c)
{
	int r;

	if (c->pending & VPEND_REQUEST)
		return rx_ctl(d, c, VPEND_REQUEST, VSOCK_OP_REQUEST);
	if (c->pending & VPEND_RESPONSE)
		return rx_ctl(d, c, VPEND_RESPONSE, VSOCK_OP_RESPONSE);
	if (c->readable && can_read(c)) {
		r = rx_data(d, c);
		if (r != 0)
			return r;
	}
	if (c->pending & VPEND_CREDIT)
		return rx_ctl(d, c, VPEND_CREDIT, VSOCK_OP_CREDIT_UPDATE);
	if ((c->pending & VPEND_SHUTDOWN) && !(c->readable && can_read(c))) {
		r = rx_ctl(d, c, VPEND_SHUTDOWN, VSOCK_OP_SHUTDOWN);
		if (r == 1 && c->shut_send == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
			c->state = VCONN_CLOSING;
			c->deadline = vsock_now_ms() + VSOCK_CLOSE_MS;
		}
		return r;
	}
	return 0;
}

void vsock_rx_run(struct vsock_dev *d)
{
	int r;

	if (!d->vdev.vqs || !d->vdev.vqs[VSOCK_QUEUE_RX].ready)
		return;
	for (;;) {
		if (d->ctrl_len) {
			if (!rx_send_hdr(d, &d->ctrl[d->ctrl_head]))
				break;
			d->ctrl_head = (d->ctrl_head + 1) % VSOCK_CTRL_MAX;
			d->ctrl_len--;
			continue;
		}
		if (d->q_head == VSOCK_NO_CONN)
			break;
		struct vsock_conn *c = &d->t.c[d->q_head];
		r = rx_conn_step(d, c);
		if (r == -1)
			break;
		if (r == -2)
			continue;
		rx_unlink(d, c);
		if (r == 1)
			vsock_rx_enqueue(d, c); /* round robin: one packet per stream per turn */
	}
	if (d->rx_pushed) {
		d->rx_pushed = 0;
		virtio_dev_notify(&d->vdev, VSOCK_QUEUE_RX);
	}
}

static void guest_connect(struct vsock_dev *d, const struct vsock_hdr *h)
{
	struct vsock_conn *c = vconn_alloc(&d->t);

	if (!c) {
		sbx_log("vsock: %d streams open, refusing guest connection to port %u",
			VSOCK_MAX_CONNS, h->dst_port);
		vsock_ctrl_rst(d, h->dst_port, h->src_port);
		return;
	}
	c->owner = d;
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->state = VCONN_ESTABLISHED;
	if (vconn_hash_add(&d->t, c) < 0 || vsock_conn_connect_host(d, c) < 0) {
		vconn_release(&d->t, c);
		vsock_ctrl_rst(d, h->dst_port, h->src_port);
		return;
	}
	c->pending |= VPEND_RESPONSE;
	vsock_conn_update_events(d, c);
	vsock_rx_enqueue(d, c);
}

static void guest_shutdown(struct vsock_dev *d, struct vsock_conn *c, uint32_t flags)
{
	c->peer_shut |= flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	vsock_conn_flush(d, c); /* shuts our write side once drained; may free @c */
}

static void tx_pkt(struct vsock_dev *d, const struct vq_chain *ch)
{
	uint8_t raw[VSOCK_HDR_LEN];
	struct iovec iov[VQ_MAX_SEGS];
	struct vsock_hdr h;
	struct vsock_conn *c;
	int r, niov;

	if (vq_chain_read(ch, 0, raw, sizeof(raw)) < sizeof(raw))
		return;
	vsock_hdr_parse(raw, sizeof(raw), &h);
	r = vsock_hdr_check(&h, d->guest_cid, ch->rd_len - VSOCK_HDR_LEN);
	if (r == -1)
		return;
	if (r < 0) {
		if (h.op != VSOCK_OP_RST)
			vsock_ctrl_rst(d, h.dst_port, h.src_port);
		return;
	}
	c = vconn_lookup(&d->t, h.dst_port, h.src_port);
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_connect(d, &h);
		else if (h.op != VSOCK_OP_RST)
			vsock_ctrl_rst(d, h.dst_port, h.src_port);
		return;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	if (c->state == VCONN_CONNECTING) {
		if (h.op == VSOCK_OP_RESPONSE)
			vsock_conn_established(d, c);
		else
			vsock_conn_kill(d, c, h.op != VSOCK_OP_RST);
		return;
	}
	if (c->state == VCONN_CLOSING) {
		if (h.op == VSOCK_OP_RST || h.op == VSOCK_OP_SHUTDOWN)
			vsock_conn_kill(d, c, h.op != VSOCK_OP_RST);
		return;
	}
	if (c->state != VCONN_ESTABLISHED)
		return;
	switch (h.op) {
	case VSOCK_OP_RW:
		if (c->peer_shut & VSOCK_SHUTDOWN_SEND) {
			vsock_conn_kill(d, c, true);
			return;
		}
		if (h.len > vconn_our_space(c)) {
			sbx_log("vsock: guest port %u overran its credit (%u > %u); reset",
				c->peer_port, h.len, vconn_our_space(c));
			vsock_conn_kill(d, c, true);
			return;
		}
		niov = vq_chain_iov(ch, false, VSOCK_HDR_LEN, h.len, iov, VQ_MAX_SEGS);
		if (vsock_conn_write_guest_data(d, c, iov, niov, h.len) < 0)
			return;
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VPEND_CREDIT;
		vsock_rx_enqueue(d, c);
		break;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(d, c, h.flags);
		if (c->state == VCONN_FREE)
			return;
		break;
	case VSOCK_OP_RST:
		vsock_conn_kill(d, c, false);
		return;
	default: /* REQUEST or RESPONSE on an open stream */
		vsock_conn_kill(d, c, true);
		return;
	}
	if (c->readable && can_read(c))
		vsock_rx_enqueue(d, c);
	vsock_conn_update_events(d, c);
}

static void tx_run(struct vsock_dev *d)
{
	struct virtq *vq = &d->vdev.vqs[VSOCK_QUEUE_TX];
	struct vq_chain ch;
	bool pushed = false;

	while (vq_pop(vq, &ch)) {
		tx_pkt(d, &ch);
		vq_push(vq, ch.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(&d->vdev, VSOCK_QUEUE_TX);
}

static unsigned vs_queue_count(struct virtio_dev *v)
{
	return VSOCK_NUM_QUEUES;
}

static uint64_t vs_features(struct virtio_dev *v)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_INDIRECT_DESC |
	       1ull << VIRTIO_F_RING_EVENT_IDX;
}

static void vs_set_features(struct virtio_dev *v, uint64_t acked)
{
	v->acked_features = acked;
}

static int vs_config_read(struct virtio_dev *v, uint32_t off, void *buf, uint32_t len)
{
	struct vsock_dev *d = to_dev(v);
	uint8_t cfg[8];
	unsigned i;

	for (i = 0; i < 8; i++)
		cfg[i] = (uint8_t)(d->guest_cid >> (8 * i));
	if (off > sizeof(cfg) || len > sizeof(cfg) - off)
		return -1;
	memcpy(buf, cfg + off, len);
	return 0;
}

static void vs_kick(struct virtio_dev *v, unsigned q)
{
	struct vsock_dev *d = to_dev(v);

	if (!v->vqs)
		return;
	if (q == VSOCK_QUEUE_TX)
		tx_run(d);
	vsock_rx_run(d);
}

static void vs_reset(struct virtio_dev *v)
{
	struct vsock_dev *d = to_dev(v);
	int i;

	for (i = 0; i < VSOCK_MAX_CONNS; i++)
		vsock_conn_kill(d, &d->t.c[i], false);
	d->ctrl_head = d->ctrl_len = 0;
	d->rx_pushed = 0;
}

static const struct virtio_dev_ops vsock_ops = {
    .device_id = VIRTIO_ID_VSOCK,
    .queue_max = VSOCK_QUEUE_MAX,
    .queue_count = vs_queue_count,
    .features = vs_features,
    .set_features = vs_set_features,
    .config_read = vs_config_read,
    .queue_kick = vs_kick,
    .reset = vs_reset,
};

struct vsock_dev *vsock_dev_new(const struct vsock_dev_config *cfg)
{
	struct vsock_dev *d;
	uint64_t cid = cfg->guest_cid ? cfg->guest_cid : VSOCK_DEFAULT_CID;

	if (cid <= VSOCK_HOST_CID || cid >= 0xffffffffull || !cfg->uds_path || !cfg->loop) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->uds_path = strdup(cfg->uds_path);
	if (!d->uds_path) {
		free(d);
		return NULL;
	}
	d->guest_cid = cid;
	d->loop = cfg->loop;
	d->listen_fd = d->timer_fd = -1;
	d->next_port = 1u << 30;
	d->q_head = d->q_tail = VSOCK_NO_CONN;
	d->vdev.ops = &vsock_ops;
	vconn_table_init(&d->t, false);
	if (vsock_hybrid_start(d) < 0) {
		free(d->uds_path);
		free(d);
		return NULL;
	}
	return d;
}

struct virtio_dev *vsock_dev_virtio(struct vsock_dev *d)
{
	return &d->vdev;
}

unsigned vsock_dev_conn_count(const struct vsock_dev *d)
{
	return d->t.used;
}

void vsock_dev_free(struct vsock_dev *d)
{
	if (!d)
		return;
	vs_reset(&d->vdev);
	vsock_hybrid_stop(d);
	free(d->uds_path);
	free(d);
}
