/* virtio-rng (VIRTIO 1.2 §5.4, device id 4): one request queue whose writable buffers the device
 * fills from the host's getrandom(2). Owns nothing but a byte counter; knows no transport.
 * Never blocks a kick for long: each chain gets at most RNG_CHAIN_MAX bytes. */
#ifndef SBX_VIRTIO_RNG_H
#define SBX_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio/device.h"

#define VIRTIO_ID_RNG 4
#define RNG_QUEUE_MAX 64   /* queue size offered */
#define RNG_CHAIN_MAX 4096 /* bytes filled per chain: a kick fills <= 256 KiB */

/**
 * struct virtio_rng - one virtio-rng device.
 * @dev: the transport-facing device (give &rng->dev to a transport).
 * @bytes: random bytes handed to the guest so far.
 */
struct virtio_rng {
	struct virtio_dev dev;
	uint64_t bytes;
};

/**
 * rng_init() - make @r a fresh virtio-rng device (no allocation, no fds).
 * @r: the device.
 */
void rng_init(struct virtio_rng *r);

#endif
