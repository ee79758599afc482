/* Split virtqueues (VIRTIO 1.x): walk avail descriptor chains into segments, write the used ring.
 * Owns every access to ring and descriptor memory, all through gm_ptr(); refuses loops, bad
 * indexes, overflowing lengths and misordered chains by marking the queue broken. Never crashes
 * on guest data and never knows which transport (MMIO, vhost-user) carries it. */
#ifndef SBX_VIRTIO_QUEUE_H
#define SBX_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/guest_mem.h"

#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	   1

#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

#define VQ_MAX_SIZE 32768
#define VQ_MAX_SEGS 260 /* per direction in one chain: 1 MiB of pages + headers */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_seg {
	uint8_t *ptr;
	uint32_t len;
};

/* One popped chain: device-readable segments, then device-writable ones. */
struct vq_chain {
	uint16_t head;
	uint16_t nr_rd, nr_wr;
	uint32_t rd_len, wr_len;
	struct vq_seg rd[VQ_MAX_SEGS];
	struct vq_seg wr[VQ_MAX_SEGS];
};

struct virtq {
	const struct guest_mem *mem;
	const char *name; /* for the one log line when broken */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	bool broken;
	bool event_idx;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool need_signal;
};

/**
 * vq_setup() - configure a queue's size and ring addresses (guest-physical) and mark it ready.
 * @vq: queue (its mem and name must be set); @size: power of two <= VQ_MAX_SIZE.
 * @desc, @avail, @used: ring addresses; @last_avail: where to resume (also used index).
 * Return: 0, or -1 if the size or any ring lies outside guest memory (queue left not ready).
 */
int vq_setup(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
	     uint16_t last_avail);

/**
 * vq_reset() - forget rings and indexes; the queue is not ready and not broken afterwards.
 */
void vq_reset(struct virtq *vq);

/**
 * vq_pop() - take the next available chain.
 * @vq: queue; @c: filled with the chain's segments.
 * Return: 1 if a chain was taken, 0 if none is available (or the queue is not ready/broken).
 * A malformed chain marks the queue broken (logged once) and returns 0.
 */
int vq_pop(struct virtq *vq, struct vq_chain *c);

/**
 * vq_unpop() - give back the chain just popped (it will be returned again by vq_pop()).
 */
void vq_unpop(struct virtq *vq);

/**
 * vq_has_avail() - whether vq_pop() would find a chain (no side effects on the rings).
 */
bool vq_has_avail(struct virtq *vq);

/**
 * vq_push() - publish a used chain.
 * @vq: queue; @head: the chain's head index; @len: bytes the device wrote into it.
 */
void vq_push(struct virtq *vq, uint16_t head, uint32_t len);

/**
 * vq_notify_needed() - whether the guest wants an interrupt for what was pushed since the
 * last call (VRING_AVAIL_F_NO_INTERRUPT, or used_event with VIRTIO_F_RING_EVENT_IDX).
 */
bool vq_notify_needed(struct virtq *vq);

/**
 * vq_chain_read() - copy up to @len bytes from the chain's readable part at offset @off.
 * Return: bytes copied.
 */
size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst, size_t len);

/**
 * vq_chain_write() - copy up to @len bytes into the chain's writable part at offset @off.
 * Return: bytes copied.
 */
size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src, size_t len);

/**
 * vq_chain_iov() - describe up to @max bytes of the readable (@writable false) or writable part,
 * starting at @off, as iovecs.
 * Return: number of iovecs filled (<= @niov).
 */
int vq_chain_iov(const struct vq_chain *c, bool writable, size_t off, size_t max, struct iovec *iov,
		 int niov);

#endif
