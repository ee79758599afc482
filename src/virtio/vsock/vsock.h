/* The virtio-vsock device (id 19) with Firecracker-style "hybrid" host side on unix sockets.
 * Public entry points: create it on an event loop, hand its struct virtio_dev to a transport.
 * Never depends on a transport (no vhost-user or MMIO code); never blocks the loop. */
#ifndef SBX_VIRTIO_VSOCK_VSOCK_H
#define SBX_VIRTIO_VSOCK_VSOCK_H

#include <stdint.h>

#include "common/evloop.h"
#include "virtio/device.h"

#define VIRTIO_ID_VSOCK	  19
#define VSOCK_DEFAULT_CID 3
#define VSOCK_QUEUE_RX	  0
#define VSOCK_QUEUE_TX	  1
#define VSOCK_QUEUE_EVENT 2
#define VSOCK_NUM_QUEUES  3
#define VSOCK_QUEUE_MAX	  1024

struct vsock_dev;

struct vsock_dev_config {
	uint64_t guest_cid;   /* default VSOCK_DEFAULT_CID when 0 */
	const char *uds_path; /* host peers connect here; guest->host port P goes to "<path>_P" */
	struct evloop *loop;
};

/**
 * vsock_dev_new() - create the device; does not listen yet.
 * Return: the device, or NULL (out of memory, or a bad CID / path). Caller sets
 * virtio_dev->mem, ->vqs (VSOCK_NUM_QUEUES) and ->notify before queues run.
 */
struct vsock_dev *vsock_dev_new(const struct vsock_dev_config *cfg);

/**
 * vsock_dev_listen() - create and listen on cfg.uds_path (a stale socket file is replaced).
 * Return: 0, or -1 with errno set. Syscalls: socket, bind, listen, connect, unlink.
 */
int vsock_dev_listen(struct vsock_dev *d);

/**
 * vsock_dev_virtio() - the device's transport-facing interface.
 */
struct virtio_dev *vsock_dev_virtio(struct vsock_dev *d);

/**
 * vsock_dev_conn_count() - streams in use (handshaking, connecting or open).
 */
unsigned vsock_dev_conn_count(const struct vsock_dev *d);

/**
 * vsock_dev_free() - close every stream and the listener, unlink the listening socket
 * if we created it, and free the device.
 */
void vsock_dev_free(struct vsock_dev *d);

#endif
