/* virtio-blk (VIRTIO 1.2 §5.2, device id 2) over a raw image (regular file or block device):
 * one request queue; IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES, served synchronously on
 * the thread that kicks the queue (no I/O thread yet). Owns the image fd and its counters; knows
 * no transport. Never touches guest memory except through the queue's chain helpers, and never
 * lets a write reach the file of a read-only device. */
#ifndef SBX_VIRTIO_BLK_H
#define SBX_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/device.h"

#define VIRTIO_ID_BLOCK		2
#define BLK_QUEUE_MAX		256 /* queue size offered */
#define BLK_SECTOR		512
#define BLK_SEG_MAX		(VQ_MAX_SEGS - 2) /* data segments per request: + header + status */
#define BLK_ID_BYTES		20		  /* VIRTIO_BLK_ID_BYTES: GET_ID's answer */
#define BLK_DISCARD_SECTORS_MAX 0x400000u	  /* 2 GiB per discard / write-zeroes segment */
#define BLK_DISCARD_SEG_MAX	32		  /* segments per discard / write-zeroes request */
#define BLK_DISCARD_ALIGN	8		  /* sectors: 4 KiB, the host filesystem's block */

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (§5.2.6). */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2

#define VIRTIO_BLK_WZ_F_UNMAP 1u /* write-zeroes flag: the device may deallocate */

/**
 * struct virtio_blk_req_hdr - the 16-byte request header (device-readable, first in a chain).
 * @type: VIRTIO_BLK_T_*; @reserved: ignored; @sector: first 512-byte sector.
 */
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/**
 * struct virtio_blk_dwz - one DISCARD / WRITE_ZEROES segment (16 bytes, after the header).
 * @sector: first sector; @num_sectors: count; @flags: VIRTIO_BLK_WZ_F_UNMAP or 0.
 */
struct virtio_blk_dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/**
 * struct virtio_blk_config - the device's config space (§5.2.4), up to the secure-erase
 * fields (zoned ones are not offered); little-endian host assumed like queue.c. Fields not offered
 * read as zero.
 */
struct virtio_blk_config {
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
	uint32_t max_secure_erase_sectors;
	uint32_t max_secure_erase_seg;
	uint32_t secure_erase_sector_alignment;
};

/**
 * struct blk_stats - what the device has done since blk_open().
 * @reads, @writes, @flushes, @discards, @write_zeroes, @get_ids: requests completed OK.
 * @bytes_read, @bytes_written: data bytes moved between the image and guest buffers.
 * @errors: requests answered IOERR; @unsupported: answered UNSUPP;
 * @malformed: chains with no status byte (pushed with length 0, nothing done).
 */
struct blk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t bytes_read, bytes_written;
	uint64_t errors, unsupported, malformed;
};

/**
 * struct virtio_blk - one virtio-blk device (all its state: snapshots later).
 * @dev: the transport-facing device (give &b->dev to mmio_init() or a vhost-user server).
 * @fd: the image, opened O_CLOEXEC (read-only if @readonly); -1 when closed.
 * @readonly: writes, discards and write-zeroes are refused (VIRTIO_BLK_F_RO offered).
 * @capacity: image size in 512-byte sectors.
 * @serial: GET_ID's answer, NUL-padded, not NUL-terminated when all 20 bytes are used;
 * "sbx-<basename>" from blk_open(), may be overwritten before the guest starts.
 * @cfg: the config space served to the guest (filled by blk_open()).
 * @stats: counters.
 */
struct virtio_blk {
	struct virtio_dev dev;
	int fd;
	bool readonly;
	uint64_t capacity;
	char serial[BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	struct blk_stats stats;
};

/**
 * blk_open() - open a raw image and make @b a fresh virtio-blk device over it.
 * @b: the device (fully initialised here); @path: regular file or block device;
 * @readonly: open O_RDONLY and offer VIRTIO_BLK_F_RO; @err, @errlen: one error line on failure.
 * Syscalls: open, fstat, ioctl(BLKGETSIZE64), close.
 * Return: 0, or -1 with @err set (cannot open, not a file or block device, empty, or a size
 * that is not a multiple of 512 bytes); @b->fd is -1 then.
 */
int blk_open(struct virtio_blk *b, const char *path, bool readonly, char *err, size_t errlen);

/**
 * blk_close() - close the image (safe to call twice, or after a blk_open() that failed).
 * @b: the device.
 */
void blk_close(struct virtio_blk *b);

#endif
