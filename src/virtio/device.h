/* The transport-independent virtio device interface (kvmtool's struct virtio_ops spirit).
 * A device implements struct virtio_dev_ops; a transport (vhost-user now, MMIO in sbx-vmm later)
 * owns the queues' configuration and calls these entries. A device never includes or knows any
 * transport header; it interrupts the guest only through virtio_dev_notify(). */
#ifndef SBX_VIRTIO_DEVICE_H
#define SBX_VIRTIO_DEVICE_H

#include <stdint.h>

#include "virtio/guest_mem.h"
#include "virtio/queue.h"

struct virtio_dev;

struct virtio_dev_ops {
	uint32_t device_id; /* VIRTIO device id (19 = vsock) */
	uint16_t queue_max; /* largest queue size the device accepts */
	unsigned (*queue_count)(struct virtio_dev *dev);
	uint64_t (*features)(struct virtio_dev *dev); /* offered device features */
	void (*set_features)(struct virtio_dev *dev, uint64_t acked);
	/* copy @len bytes of config space at @off into @buf; return 0 or -1 if out of range */
	int (*config_read)(struct virtio_dev *dev, uint32_t off, void *buf, uint32_t len);
	/* optional; return 0 or -1 if refused */
	int (*config_write)(struct virtio_dev *dev, uint32_t off, const void *buf, uint32_t len);
	/* the guest made buffers available on queue @q (or the queue just started) */
	void (*queue_kick)(struct virtio_dev *dev, unsigned q);
	/* forget all device state (guest reset or transport stop) */
	void (*reset)(struct virtio_dev *dev);
};

/* Set by the transport: raise the guest interrupt for queue @q. */
typedef void (*virtio_notify_fn)(struct virtio_dev *dev, unsigned q, void *opaque);

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct guest_mem *mem; /* owned by the transport */
	struct virtq *vqs;     /* ops->queue_count() queues, configured by the transport */
	uint64_t acked_features;
	virtio_notify_fn notify;
	void *notify_opaque;
};

/**
 * virtio_dev_notify() - interrupt the guest for queue @q if the ring asks for it.
 * @dev: device; @q: queue index. Called by devices after vq_push() batches.
 */
static inline void virtio_dev_notify(struct virtio_dev *dev, unsigned q)
{
	if (vq_notify_needed(&dev->vqs[q]) && dev->notify)
		dev->notify(dev, q, dev->notify_opaque);
}

#endif
