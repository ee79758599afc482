/* virtio-mmio register decoding (see mmio.h): status/feature handshake, queue configuration,
 * notifications and the interrupt status. Owns the state checks on every register write.
 * Never crashes on a guest value: bad ones are dropped (counted) or end in DEVICE_NEEDS_RESET. */
#include "virtio/mmio.h"

#include <string.h>

static const char *const qnames[MMIO_MAX_QUEUES] = {"mmio-q0", "mmio-q1", "mmio-q2", "mmio-q3",
						    "mmio-q4", "mmio-q5", "mmio-q6", "mmio-q7"};

static void raise_irq(struct virtio_mmio *m, uint32_t bit)
{
	__atomic_fetch_or(&m->isr, bit, __ATOMIC_SEQ_CST);
	if (m->irq)
		m->irq(m, m->irq_opaque);
}

/* The device's used-buffer notification (virtio_dev_notify() after the ring asked for it). */
static void dev_notify(struct virtio_dev *dev, unsigned q, void *opaque)
{
	raise_irq(opaque, MMIO_INT_VRING);
}

static uint64_t offered(const struct virtio_mmio *m)
{
	return m->dev->ops->features(m->dev) | 1ull << VIRTIO_F_VERSION_1;
}

static uint16_t queue_num_max(const struct virtio_mmio *m)
{
	uint16_t max = m->dev->ops->queue_max;

	return max > VQ_MAX_SIZE ? VQ_MAX_SIZE : max;
}

/* The device cannot go on until the driver resets it (VIRTIO 1.2 §2.1.2). */
static void needs_reset(struct virtio_mmio *m)
{
	m->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (m->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(m, MMIO_INT_CONFIG);
}

static void device_reset(struct virtio_mmio *m)
{
	unsigned i;

	if (m->dev->ops->reset)
		m->dev->ops->reset(m->dev);
	for (i = 0; i < m->nq; i++)
		vq_reset(&m->vqs[i]);
	memset(m->q, 0, sizeof(m->q));
	m->status = 0;
	m->dev_feat_sel = m->drv_feat_sel = m->queue_sel = 0;
	m->drv_features = 0;
	m->dev->acked_features = 0;
	__atomic_store_n(&m->isr, 0, __ATOMIC_SEQ_CST);
}

int mmio_init(struct virtio_mmio *m, struct virtio_dev *dev, struct guest_mem *mem, mmio_irq_fn irq,
	      void *opaque)
{
	unsigned i, nq = dev->ops->queue_count(dev);

	if (nq == 0 || nq > MMIO_MAX_QUEUES)
		return -1;
	memset(m, 0, sizeof(*m));
	m->dev = dev;
	m->nq = nq;
	m->irq = irq;
	m->irq_opaque = opaque;
	for (i = 0; i < MMIO_MAX_QUEUES; i++) {
		m->vqs[i].mem = mem;
		m->vqs[i].name = qnames[i];
	}
	dev->mem = mem;
	dev->vqs = m->vqs;
	dev->notify = dev_notify;
	dev->notify_opaque = m;
	dev->acked_features = 0;
	return 0;
}

static void kick(struct virtio_mmio *m, unsigned q)
{
	m->dev->ops->queue_kick(m->dev, q);
	if (m->vqs[q].broken && !(m->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		needs_reset(m);
}

void mmio_queue_notify(struct virtio_mmio *m, uint32_t v)
{
	/* VIRTIO_F_NOTIFICATION_DATA is not offered: the value is the queue index */
	if (v < m->nq && m->vqs[v].ready && m->status & VIRTIO_STATUS_DRIVER_OK &&
	    !(m->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		kick(m, v);
	else
		m->ignored++;
}

/* FEATURES_OK: only what we offered, and VERSION_1 always (no legacy). */
static bool features_ok(struct virtio_mmio *m)
{
	unsigned i;

	if (m->drv_features & ~offered(m) || !(m->drv_features >> VIRTIO_F_VERSION_1 & 1))
		return false;
	m->dev->acked_features = m->drv_features;
	m->dev->ops->set_features(m->dev, m->drv_features);
	for (i = 0; i < m->nq; i++)
		m->vqs[i].event_idx = m->drv_features >> VIRTIO_F_RING_EVENT_IDX & 1;
	return true;
}

static void write_status(struct virtio_mmio *m, uint32_t v)
{
	const uint32_t own = VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint32_t old = m->status & ~own, added;
	unsigned i;

	if (v == 0) {
		device_reset(m);
		return;
	}
	v &= 0xff & ~own;
	if ((v & old) != old) { /* the driver never clears a bit except by reset */
		m->ignored++;
		return;
	}
	added = v & ~old;
	if (added & VIRTIO_STATUS_FEATURES_OK && !features_ok(m))
		v &=
		    ~VIRTIO_STATUS_FEATURES_OK; /* refused: the driver reads it back and gives up */
	if (added & VIRTIO_STATUS_DRIVER_OK && !(v & VIRTIO_STATUS_FEATURES_OK)) {
		v &= ~VIRTIO_STATUS_DRIVER_OK;
		m->ignored++;
	}
	m->status = v | (m->status & own);
	if (v & added & VIRTIO_STATUS_DRIVER_OK && !(m->status & own))
		for (i = 0; i < m->nq; i++) /* buffers may already wait */
			if (m->vqs[i].ready)
				kick(m, i);
}

/* May the driver configure queue registers now? (after FEATURES_OK, before any reset need) */
static struct mmio_queue *cfg_queue(struct virtio_mmio *m)
{
	if (m->queue_sel >= m->nq || !(m->status & VIRTIO_STATUS_FEATURES_OK) ||
	    m->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET || m->vqs[m->queue_sel].ready)
		return NULL;
	return &m->q[m->queue_sel];
}

static void set_lo(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffull) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffull) | (uint64_t)v << 32;
}

static void write_queue_ready(struct virtio_mmio *m, uint32_t v)
{
	unsigned q = m->queue_sel;
	struct mmio_queue *p;

	if (v == 0) { /* the driver takes the queue down (Linux does on del_vq) */
		if (q < m->nq)
			vq_reset(&m->vqs[q]);
		return;
	}
	p = cfg_queue(m);
	if (!p || v != 1) {
		m->ignored++;
		return;
	}
	if (vq_setup(&m->vqs[q], p->num, p->desc, p->driver, p->device, 0) < 0) {
		needs_reset(m);
		return;
	}
	m->vqs[q].event_idx = m->dev->acked_features >> VIRTIO_F_RING_EVENT_IDX & 1;
	if (m->status & VIRTIO_STATUS_DRIVER_OK)
		kick(m, q);
}

static void write_queue_reg(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct mmio_queue *p = cfg_queue(m);

	if (!p) {
		m->ignored++;
		return;
	}
	switch (off) {
	case MMIO_QUEUE_NUM:
		/* split rings: a power of two up to QueueNumMax; anything else refused */
		if (v == 0 || v > queue_num_max(m) || (v & (v - 1))) {
			p->num =
			    0; /* QueueReady will fail: the driver learns through NEEDS_RESET */
			m->ignored++;
		} else {
			p->num = (uint16_t)v;
		}
		break;
	case MMIO_QUEUE_DESC_LOW:
		set_lo(&p->desc, v);
		break;
	case MMIO_QUEUE_DESC_HIGH:
		set_hi(&p->desc, v);
		break;
	case MMIO_QUEUE_DRIVER_LOW:
		set_lo(&p->driver, v);
		break;
	case MMIO_QUEUE_DRIVER_HIGH:
		set_hi(&p->driver, v);
		break;
	case MMIO_QUEUE_DEVICE_LOW:
		set_lo(&p->device, v);
		break;
	case MMIO_QUEUE_DEVICE_HIGH:
		set_hi(&p->device, v);
		break;
	}
}

static void write_reg(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	switch (off) {
	case MMIO_DEVICE_FEATURES_SEL:
		m->dev_feat_sel = v;
		break;
	case MMIO_DRIVER_FEATURES:
		if (m->drv_feat_sel > 1 || m->status & VIRTIO_STATUS_FEATURES_OK) {
			m->ignored++;
			break;
		}
		if (m->drv_feat_sel)
			set_hi(&m->drv_features, v);
		else
			set_lo(&m->drv_features, v);
		break;
	case MMIO_DRIVER_FEATURES_SEL:
		m->drv_feat_sel = v;
		break;
	case MMIO_QUEUE_SEL:
		m->queue_sel = v;
		break;
	case MMIO_QUEUE_NUM:
	case MMIO_QUEUE_DESC_LOW:
	case MMIO_QUEUE_DESC_HIGH:
	case MMIO_QUEUE_DRIVER_LOW:
	case MMIO_QUEUE_DRIVER_HIGH:
	case MMIO_QUEUE_DEVICE_LOW:
	case MMIO_QUEUE_DEVICE_HIGH:
		write_queue_reg(m, off, v);
		break;
	case MMIO_QUEUE_READY:
		write_queue_ready(m, v);
		break;
	case MMIO_QUEUE_NOTIFY:
		mmio_queue_notify(m, v);
		break;
	case MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&m->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case MMIO_STATUS:
		write_status(m, v);
		break;
	case MMIO_SHM_SEL:
		break; /* no shared memory regions: every selection reads as absent */
	default:
		m->ignored++; /* read-only or reserved */
	}
}

static uint32_t read_reg(struct virtio_mmio *m, uint64_t off)
{
	switch (off) {
	case MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case MMIO_VERSION_REG:
		return MMIO_VERSION;
	case MMIO_DEVICE_ID:
		return m->dev->ops->device_id;
	case MMIO_VENDOR_ID_REG:
		return MMIO_VENDOR_ID;
	case MMIO_DEVICE_FEATURES:
		return m->dev_feat_sel > 1 ? 0 : (uint32_t)(offered(m) >> (32 * m->dev_feat_sel));
	case MMIO_QUEUE_NUM_MAX:
		return m->queue_sel < m->nq ? queue_num_max(m) : 0;
	case MMIO_QUEUE_READY:
		return m->queue_sel < m->nq && m->vqs[m->queue_sel].ready;
	case MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&m->isr, __ATOMIC_SEQ_CST);
	case MMIO_STATUS:
		return m->status;
	case MMIO_SHM_LEN_LOW:
	case MMIO_SHM_LEN_HIGH:
	case MMIO_SHM_BASE_LOW:
	case MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* "no such region" (VIRTIO 1.2 §4.2.2) */
	case MMIO_CONFIG_GENERATION:
		return __atomic_load_n(&m->config_gen, __ATOMIC_SEQ_CST);
	default:
		m->ignored++; /* write-only or reserved */
		return 0;
	}
}

static bool config_access(uint64_t off, uint32_t len)
{
	return off >= MMIO_CONFIG && off < MMIO_WINDOW && (len == 1 || len == 2 || len == 4) &&
	       off % len == 0 && off + len <= MMIO_WINDOW;
}

static bool reg_access(uint64_t off, uint32_t len)
{
	return off < MMIO_CONFIG && len == 4 && off % 4 == 0;
}

void mmio_read(struct virtio_mmio *m, uint64_t off, void *buf, uint32_t len)
{
	uint32_t v;

	memset(buf, 0, len);
	if (reg_access(off, len)) {
		v = read_reg(m, off);
		memcpy(buf, &v, 4);
	} else if (config_access(off, len)) {
		if (m->dev->ops->config_read(m->dev, (uint32_t)(off - MMIO_CONFIG), buf, len) < 0) {
			memset(buf, 0, len);
			m->ignored++;
		}
	} else {
		m->ignored++;
	}
}

void mmio_write(struct virtio_mmio *m, uint64_t off, const void *buf, uint32_t len)
{
	uint32_t v;

	if (reg_access(off, len)) {
		memcpy(&v, buf, 4);
		write_reg(m, off, v);
	} else if (config_access(off, len) && m->dev->ops->config_write &&
		   m->status & VIRTIO_STATUS_DRIVER) {
		if (m->dev->ops->config_write(m->dev, (uint32_t)(off - MMIO_CONFIG), buf, len) < 0)
			m->ignored++;
	} else {
		m->ignored++;
	}
}

void mmio_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	if (write)
		mmio_write(opaque, off, data, len);
	else
		mmio_read(opaque, off, data, len);
}

void mmio_config_changed(struct virtio_mmio *m)
{
	__atomic_fetch_add(&m->config_gen, 1, __ATOMIC_SEQ_CST);
	if (m->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(m, MMIO_INT_CONFIG);
}
