/* vhost-user backend transport: serves one virtio device to one frontend (QEMU) at a time over
 * a listening unix socket. Owns the frontend connection, guest memory mappings (memfd regions),
 * ring configuration and kick/call eventfds. Never interprets device queues' contents. */
#ifndef SBX_VIRTIO_VHOST_USER_H
#define SBX_VIRTIO_VHOST_USER_H

#include <stdbool.h>

#include "common/evloop.h"
#include "virtio/device.h"

struct vhost_user;

/* Called once when a frontend that had connected goes away. */
typedef void (*vhost_user_gone_fn)(void *opaque);

/**
 * vhost_user_new() - create the backend for @dev and listen on @path (replacing a stale socket).
 * @loop: event loop; @dev: device (its vqs/mem/notify are set by this transport);
 * @gone, @opaque: frontend-disconnect callback (may be NULL).
 * Return: the backend, or NULL with errno set. Syscalls: socket, bind, listen, unlink.
 */
struct vhost_user *vhost_user_new(struct evloop *loop, struct virtio_dev *dev, const char *path,
				  vhost_user_gone_fn gone, void *opaque);

/**
 * vhost_user_free() - disconnect the frontend, unmap guest memory, close and unlink the socket.
 */
void vhost_user_free(struct vhost_user *vu);

/**
 * vhost_user_connected() - whether a frontend is connected now.
 */
bool vhost_user_connected(const struct vhost_user *vu);

#endif
