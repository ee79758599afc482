/* The virtio-fs device (id 26): a FUSE server over one host directory (a "share"), confined to
 * it on the host side. Public entry points only: create it for a share, hand its struct
 * virtio_dev to a transport (vhost-user now, MMIO in sbx-vmm later). Never depends on a
 * transport; requests run on a worker pool so one slow fsync does not stall other requests. */
#ifndef SBX_VIRTIO_FS_FS_H
#define SBX_VIRTIO_FS_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/evloop.h"
#include "virtio/device.h"

#define VIRTIO_ID_FS	 26
#define FS_QUEUE_HIPRIO	 0
#define FS_QUEUE_REQUEST 1 /* first request queue */
#define FS_NUM_QUEUES	 2 /* hiprio + one request queue (QEMU: num-request-queues=1) */
#define FS_QUEUE_MAX	 1024
#define FS_TAG_MAX	 36 /* virtio-fs config tag, not NUL-terminated when full */

struct fs_dev;

struct fs_share_config {
	const char *root; /* absolute host directory to serve */
	const char *tag;  /* mount tag the guest uses (<= FS_TAG_MAX bytes) */
	bool readonly;	  /* every modifying request -> EROFS */
	/* Single-file share: NULL, or the one entry of @root (a regular file, one component)
	 * the guest may see. LOOKUP of any other name in the root is ENOENT, a listing of the
	 * root shows only it, nothing but the root and regular files is ever handed out, and
	 * the share is forced read-only. */
	const char *only_name;
	uid_t owner_uid;  /* host user the sandbox belongs to: shown to the guest as uid 1000 */
	gid_t owner_gid;  /* likewise as gid 1000 */
	unsigned threads; /* worker threads; 0 -> default (4) */
	/* called first on each worker thread (sbx-vmm: its seccomp filter; it ends the process
	 * itself if that fails), or NULL */
	void (*thread_init)(void);
	struct evloop *loop;
};

/* Cache mode (issue 3, point 4): entry and attr timeouts 1 s, no writeback cache, never
 * FOPEN_KEEP_CACHE, FUSE_AUTO_INVAL_DATA: an edit on either side is seen by the other within
 * a second; guest writes reach the host file before the WRITE reply. max_write and the largest
 * read are (VQ_MAX_SEGS - 4) pages so every request fits one chain.
 *
 * Transport contract: after fs_dev_new(), set on fs_dev_virtio(d): ->mem (guest memory),
 * ->vqs (FS_NUM_QUEUES queues, each with .mem set) and ->notify/->notify_opaque, then call
 * ops->queue_kick() from the event-loop thread when the guest kicks (or a queue starts);
 * ops->reset() before queues or memory go away (it waits for in-flight requests). Replies are
 * pushed and notified from worker threads, so ->notify must be thread-safe (an eventfd write). */

/**
 * fs_dev_new() - open @cfg->root (O_PATH|O_DIRECTORY) and create the device.
 * Return: the device, or NULL with one error line printed (sbx_err) naming the share and why.
 */
struct fs_dev *fs_dev_new(const struct fs_share_config *cfg);

/**
 * fs_dev_virtio() - the device's transport-facing interface.
 */
struct virtio_dev *fs_dev_virtio(struct fs_dev *d);

/**
 * fs_raise_nofile() - open files, locks and (where nodes cannot be reopened by handle) every
 * inode the guest holds take an fd: lift the open-file limit to 1 Mi where allowed
 * (CAP_SYS_RESOURCE), else the soft limit to the hard one; once per process (fs_dev_new()
 * calls it; a caller about to drop its capabilities calls it first). Syscalls: getrlimit,
 * setrlimit.
 */
void fs_raise_nofile(void);

/**
 * fs_dev_free() - stop the workers, close every open handle and the root, free the device.
 */
void fs_dev_free(struct fs_dev *d);

#endif
