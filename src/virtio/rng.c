/* virtio-rng device (see rng.h): pops each available chain, fills its writable part from
 * getrandom(2) (syscalls: getrandom) and pushes it back. Never reads the guest's readable
 * segments and never fills more than RNG_CHAIN_MAX bytes of one chain. */
#include "virtio/rng.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

static struct virtio_rng *rng_of(struct virtio_dev *dev)
{
	return (struct virtio_rng *)((char *)dev - offsetof(struct virtio_rng, dev));
}

static unsigned rng_queue_count(struct virtio_dev *dev)
{
	return 1;
}

static uint64_t rng_features(struct virtio_dev *dev)
{
	return 0;
}

static void rng_set_features(struct virtio_dev *dev, uint64_t acked)
{
}

/* virtio-rng has no config space. */
static int rng_config_read(struct virtio_dev *dev, uint32_t off, void *buf, uint32_t len)
{
	return -1;
}

/* Fill up to @max bytes of the chain's writable part; return bytes written. */
static uint32_t fill(const struct vq_chain *c, uint32_t max)
{
	uint32_t done = 0;
	uint16_t i;

	for (i = 0; i < c->nr_wr && done < max; i++) {
		uint32_t want = c->wr[i].len < max - done ? c->wr[i].len : max - done, got = 0;
		while (got < want) {
			ssize_t n = getrandom(c->wr[i].ptr + got, want - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done + got;
			got += (uint32_t)n;
		}
		done += got;
	}
	return done;
}

static void rng_kick(struct virtio_dev *dev, unsigned q)
{
	struct virtio_rng *r = rng_of(dev);
	struct virtq *vq = &dev->vqs[q];
	struct vq_chain c;
	unsigned n;

	if (q != 0)
		return;
	for (n = 0; n < vq->size && vq_pop(vq, &c); n++) {
		uint32_t len = fill(&c, RNG_CHAIN_MAX);
		vq_push(vq, c.head, len);
		r->bytes += len;
	}
	virtio_dev_notify(dev, q);
}

static void rng_reset(struct virtio_dev *dev)
{
}

static const struct virtio_dev_ops rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .queue_max = RNG_QUEUE_MAX,
    .queue_count = rng_queue_count,
    .features = rng_features,
    .set_features = rng_set_features,
    .config_read = rng_config_read,
    .queue_kick = rng_kick,
    .reset = rng_reset,
};

void rng_init(struct virtio_rng *r)
{
	memset(r, 0, sizeof(*r));
	r->dev.ops = &rng_ops;
}
