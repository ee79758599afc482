/* Split virtqueue walk and used-ring writes (see queue.h).
 * Owns ring memory access and ordering (barriers); reads each descriptor once into a local copy.
 * Never trusts an index, address or length from the guest without checking it. */
#include "virtio/queue.h"

#include <string.h>

#include "common/err.h"

/* Ring layouts (little-endian host assumed: x86_64, aarch64). */
struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

_Static_assert(sizeof(struct virtq_desc) == 16, "descriptor layout");

static uint64_t avail_bytes(uint16_t size)
{
	return 4 + 2ull * size + 2;
}

static uint64_t used_bytes(uint16_t size)
{
	return 4 + 8ull * size + 2;
}

static void vq_break(struct virtq *vq, const char *why)
{
	if (!vq->broken)
		sbx_log("virtqueue %s: %s; queue stopped until device reset",
			vq->name ? vq->name : "?", why);
	vq->broken = true;
}

int vq_setup(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
	     uint16_t last_avail)
{
	vq->ready = false;
	vq->broken = false;
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)))
		return -1;
	if (desc % 16 || avail % 2 || used % 4)
		return -1;
	if (!gm_ptr(vq->mem, desc, 16ull * size) || !gm_ptr(vq->mem, avail, avail_bytes(size)) ||
	    !gm_ptr(vq->mem, used, used_bytes(size)))
		return -1;
	vq->size = size;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	vq->last_avail = last_avail;
	vq->used_idx = last_avail;
	vq->signalled_used = last_avail;
	vq->need_signal = false;
	vq->ready = true;
	return 0;
}

void vq_reset(struct virtq *vq)
{
	vq->ready = false;
	vq->broken = false;
	vq->size = 0;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->need_signal = false;
}

/* Resolve the rings now: memory may have been remapped since vq_setup(). */
static bool vq_rings(struct virtq *vq, struct virtq_desc **d, struct vring_avail **a,
		     struct vring_used **u)
{
	if (!vq->ready || vq->broken)
		return false;
	*d = gm_ptr(vq->mem, vq->desc_gpa, 16ull * vq->size);
	*a = gm_ptr(vq->mem, vq->avail_gpa, avail_bytes(vq->size));
	*u = gm_ptr(vq->mem, vq->used_gpa, used_bytes(vq->size));
	if (!*d || !*a || !*u) {
		vq_break(vq, "rings outside guest memory");
		return false;
	}
	return true;
}

static uint16_t load16_acq(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static int add_seg(struct virtq *vq, struct vq_chain *c, const struct virtq_desc *d)
{
	uint8_t *p;

	if (d->len == 0) {
		if (!(d->flags & VIRTQ_DESC_F_WRITE) && c->nr_wr) {
			vq_break(vq, "readable descriptor after writable one");
			return -1;
		}
		return 0;
	}
	p = gm_ptr(vq->mem, d->addr, d->len);
	if (!p) {
		vq_break(vq, "descriptor outside guest memory");
		return -1;
	}
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		if (c->nr_wr >= VQ_MAX_SEGS || (uint64_t)c->wr_len + d->len > UINT32_MAX) {
			vq_break(vq, "chain too long");
			return -1;
		}
		c->wr[c->nr_wr++] = (struct vq_seg){p, d->len};
		c->wr_len += d->len;
	} else {
		if (c->nr_wr) {
			vq_break(vq, "readable descriptor after writable one");
			return -1;
		}
		if (c->nr_rd >= VQ_MAX_SEGS || (uint64_t)c->rd_len + d->len > UINT32_MAX) {
			vq_break(vq, "chain too long");
			return -1;
		}
		c->rd[c->nr_rd++] = (struct vq_seg){p, d->len};
		c->rd_len += d->len;
	}
	return 0;
}

static int walk(struct virtq *vq, struct virtq_desc *ring, uint16_t head, struct vq_chain *c)
{
	const struct virtq_desc *table = ring;
	uint32_t tsize = vq->size, idx = head, count = 0, limit = vq->size;
	bool indirect = false;
	struct virtq_desc d;

	for (;;) {
		if (idx >= tsize) {
			vq_break(vq, "descriptor index out of range");
			return -1;
		}
		if (++count > limit) {
			vq_break(vq, "descriptor chain loops or exceeds queue size");
			return -1;
		}
		memcpy(&d, &table[idx], sizeof(d)); /* read once: guest may change it */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect || (d.flags & VIRTQ_DESC_F_NEXT)) {
				vq_break(vq, "bad indirect descriptor");
				return -1;
			}
			if (d.len == 0 || d.len % 16 || d.len / 16 > VQ_MAX_SIZE) {
				vq_break(vq, "bad indirect table length");
				return -1;
			}
			table = gm_ptr(vq->mem, d.addr, d.len);
			if (!table || ((uintptr_t)table % _Alignof(struct virtq_desc))) {
				vq_break(vq, "indirect table outside guest memory");
				return -1;
			}
			tsize = d.len / 16;
			limit = tsize;
			count = 0;
			idx = 0;
			indirect = true;
			continue;
		}
		if (add_seg(vq, c, &d) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

static void set_avail_event(struct virtq *vq, struct vring_used *u)
{
	if (vq->event_idx) {
		uint16_t *ev = (uint16_t *)&u->ring[vq->size];
		__atomic_store_n(ev, vq->last_avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
}

bool vq_has_avail(struct virtq *vq)
{
	struct virtq_desc *d;
	struct vring_avail *a;
	struct vring_used *u;

	if (!vq_rings(vq, &d, &a, &u))
		return false;
	return load16_acq(&a->idx) != vq->last_avail;
}

int vq_pop(struct virtq *vq, struct vq_chain *c)
{
	struct virtq_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	uint16_t avail_idx, head;

	if (!vq_rings(vq, &d, &a, &u))
		return 0;
	avail_idx = load16_acq(&a->idx);
	if (avail_idx == vq->last_avail) {
		set_avail_event(vq, u);
		avail_idx = load16_acq(&a->idx);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq_break(vq, "avail index moved more than the queue size");
		return 0;
	}
	head = __atomic_load_n(&a->ring[vq->last_avail % vq->size], __ATOMIC_RELAXED);
	c->head = head;
	c->nr_rd = c->nr_wr = 0;
	c->rd_len = c->wr_len = 0;
	if (walk(vq, d, head, c) < 0)
		return 0;
	vq->last_avail++;
	return 1;
}

void vq_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void vq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct virtq_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	struct vring_used_elem *e;

	if (!vq_rings(vq, &d, &a, &u))
		return;
	e = &u->ring[vq->used_idx % vq->size];
	e->id = head;
	e->len = len;
	vq->used_idx++;
	__atomic_store_n(&u->idx, vq->used_idx, __ATOMIC_RELEASE);
	vq->need_signal = true;
}

bool vq_notify_needed(struct virtq *vq)
{
	struct virtq_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	uint16_t old, event;
	bool need;

	if (!vq->need_signal || !vq_rings(vq, &d, &a, &u))
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	old = vq->signalled_used;
	vq->signalled_used = vq->used_idx;
	vq->need_signal = false;
	if (vq->event_idx) {
		event = __atomic_load_n(&a->ring[vq->size], __ATOMIC_RELAXED);
		need = (uint16_t)(vq->used_idx - event - 1) < (uint16_t)(vq->used_idx - old);
	} else {
		need = !(__atomic_load_n(&a->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	return need;
}

size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst, size_t len)
{
	size_t done = 0;
	uint16_t i;

	for (i = 0; i < c->nr_rd && done < len; i++) {
		size_t n;
		if (off >= c->rd[i].len) {
			off -= c->rd[i].len;
			continue;
		}
		n = c->rd[i].len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, c->rd[i].ptr + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src, size_t len)
{
	size_t done = 0;
	uint16_t i;

	for (i = 0; i < c->nr_wr && done < len; i++) {
		size_t n;
		if (off >= c->wr[i].len) {
			off -= c->wr[i].len;
			continue;
		}
		n = c->wr[i].len - off;
		if (n > len - done)
			n = len - done;
		memcpy(c->wr[i].ptr + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}

int vq_chain_iov(const struct vq_chain *c, bool writable, size_t off, size_t max, struct iovec *iov,
		 int niov)
{
	const struct vq_seg *s = writable ? c->wr : c->rd;
	uint16_t n = writable ? c->nr_wr : c->nr_rd, i;
	int k = 0;

	for (i = 0; i < n && k < niov && max; i++) {
		size_t l;
		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		l = s[i].len - off;
		if (l > max)
			l = max;
		iov[k].iov_base = s[i].ptr + off;
		iov[k].iov_len = l;
		k++;
		max -= l;
		off = 0;
	}
	return k;
}
