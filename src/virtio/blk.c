/* virtio-blk device (see blk.h): pops each request chain, checks its shape and every length and
 * sector against the image, moves data between the image and the chain's segments with
 * preadv/pwritev (syscalls: preadv, pwritev, fdatasync, fallocate) and writes the status byte.
 * Never trusts a length or sector from the guest, never writes a read-only image. */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR_LEN ((uint32_t)sizeof(struct virtio_blk_req_hdr))
#define DWZ_LEN ((uint32_t)sizeof(struct virtio_blk_dwz))

_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "request header layout");
_Static_assert(sizeof(struct virtio_blk_dwz) == 16, "discard segment layout");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, writeback) == 32, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap) == 56, "config layout");
_Static_assert(sizeof(struct virtio_blk_config) == 72, "config layout");

static struct virtio_blk *blk_of(struct virtio_dev *dev)
{
	return (struct virtio_blk *)((char *)dev - offsetof(struct virtio_blk, dev));
}

static unsigned blk_queue_count(struct virtio_dev *dev)
{
	return 1;
}

static uint64_t blk_features(struct virtio_dev *dev)
{
	uint64_t f = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_INDIRECT_DESC |
		     1ull << VIRTIO_F_RING_EVENT_IDX | 1ull << VIRTIO_BLK_F_SEG_MAX |
		     1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH;

	if (blk_of(dev)->readonly)
		f |= 1ull << VIRTIO_BLK_F_RO;
	else
		f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

static void blk_set_features(struct virtio_dev *dev, uint64_t acked)
{
	dev->acked_features = acked;
}

static int blk_config_read(struct virtio_dev *dev, uint32_t off, void *buf, uint32_t len)
{
	const struct virtio_blk *b = blk_of(dev);

	if (off > sizeof(b->cfg) || len > sizeof(b->cfg) - off)
		return -1;
	memcpy(buf, (const uint8_t *)&b->cfg + off, len);
	return 0;
}

/* Is [@sector, @sector + @n) inside the image? (overflow-safe) */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t n)
{
	return sector <= b->capacity && n <= b->capacity - sector;
}

/* Move @len bytes between the image at @foff and the chain (its writable part at @coff when
 * @in, else its readable part); *@moved gets the bytes moved. A short read at EOF, a failed
 * call or a chain shorter than @len is an error. Return: 0 or -1. */
static int blk_rw(struct virtio_blk *b, const struct vq_chain *c, bool in, size_t coff, size_t len,
		  uint64_t foff, uint32_t *moved)
{
	struct iovec iov[VQ_MAX_SEGS];
	size_t done = 0;

	while (done < len) {
		int n = vq_chain_iov(c, in, coff + done, len - done, iov, VQ_MAX_SEGS);
		ssize_t r;

		if (n <= 0)
			break;
		if (in)
			r = preadv(b->fd, iov, n, (off_t)(foff + done));
		else
			r = pwritev(b->fd, iov, n, (off_t)(foff + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	*moved = (uint32_t)done;
	return done == len ? 0 : -1;
}

static uint8_t do_in(struct virtio_blk *b, const struct vq_chain *c, uint64_t sector,
		     uint32_t *data_wr)
{
	uint32_t len = c->wr_len - 1;

	if (c->rd_len != HDR_LEN || len % BLK_SECTOR || !in_range(b, sector, len / BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (blk_rw(b, c, true, 0, len, sector * BLK_SECTOR, data_wr) < 0)
		return VIRTIO_BLK_S_IOERR;
	b->stats.reads++;
	b->stats.bytes_read += len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_out(struct virtio_blk *b, const struct vq_chain *c, uint64_t sector)
{
	uint32_t len = c->rd_len - HDR_LEN, moved;

	if (b->readonly || c->wr_len != 1 || len % BLK_SECTOR ||
	    !in_range(b, sector, len / BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (blk_rw(b, c, false, HDR_LEN, len, sector * BLK_SECTOR, &moved) < 0)
		return VIRTIO_BLK_S_IOERR;
	b->stats.writes++;
	b->stats.bytes_written += len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_flush(struct virtio_blk *b, const struct vq_chain *c)
{
	if (c->rd_len != HDR_LEN || c->wr_len != 1)
		return VIRTIO_BLK_S_IOERR;
	if (!b->readonly && fdatasync(b->fd) < 0)
		return VIRTIO_BLK_S_IOERR;
	b->stats.flushes++;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct virtio_blk *b, const struct vq_chain *c, uint32_t *data_wr)
{
	if (c->rd_len != HDR_LEN || c->wr_len - 1 < BLK_ID_BYTES)
		return VIRTIO_BLK_S_IOERR;
	*data_wr = (uint32_t)vq_chain_write(c, 0, b->serial, BLK_ID_BYTES);
	b->stats.get_ids++;
	return VIRTIO_BLK_S_OK;
}

/* Write zeros over [@off, @off + @len) by hand: the fallback where fallocate cannot. */
static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zero[65536];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		ssize_t r = pwrite(fd, zero, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static int falloc(int fd, int mode, uint64_t off, uint64_t len)
{
	int r;

	do
		r = fallocate(fd, mode, (off_t)off, (off_t)len);
	while (r < 0 && errno == EINTR);
	return r;
}

/* One DISCARD (@wz false) or WRITE_ZEROES segment, already checked. Return: 0 or -1. */
static int dwz_one(struct virtio_blk *b, bool wz, const struct virtio_blk_dwz *s)
{
	uint64_t off = s->sector * BLK_SECTOR, len = (uint64_t)s->num_sectors * BLK_SECTOR;
	const int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (len == 0)
		return 0;
	if (!wz) /* the blocks go back to the host; a filesystem that cannot: discard is a hint */
		return falloc(b->fd, punch, off, len) == 0 || errno == EOPNOTSUPP ? 0 : -1;
	if (s->flags & VIRTIO_BLK_WZ_F_UNMAP && falloc(b->fd, punch, off, len) == 0)
		return 0;
	if (falloc(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -1;
	return write_zeros(b->fd, off, len);
}

static uint8_t do_dwz(struct virtio_blk *b, const struct vq_chain *c, bool wz)
{
	struct virtio_blk_dwz s[BLK_DISCARD_SEG_MAX];
	uint32_t len = c->rd_len - HDR_LEN, n = len / DWZ_LEN, i;
	const uint32_t flags_ok = wz ? VIRTIO_BLK_WZ_F_UNMAP : 0u;

	if (b->readonly || c->wr_len != 1 || len == 0 || len % DWZ_LEN || n > BLK_DISCARD_SEG_MAX)
		return VIRTIO_BLK_S_IOERR;
	/* one copy (the guest may change its buffers meanwhile), every segment checked before
	 * the image is touched */
	vq_chain_read(c, HDR_LEN, s, len);
	for (i = 0; i < n; i++) {
		if (s[i].flags & ~flags_ok)
			return VIRTIO_BLK_S_UNSUPP;
		if (s[i].num_sectors > BLK_DISCARD_SECTORS_MAX ||
		    !in_range(b, s[i].sector, s[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	for (i = 0; i < n; i++)
		if (dwz_one(b, wz, &s[i]) < 0)
			return VIRTIO_BLK_S_IOERR;
	if (wz)
		b->stats.write_zeroes++;
	else
		b->stats.discards++;
	return VIRTIO_BLK_S_OK;
}

/* Serve one chain; return the used length (data bytes written into the chain + status byte). */
static uint32_t blk_request(struct virtio_blk *b, const struct vq_chain *c)
{
	struct virtio_blk_req_hdr h;
	uint32_t data_wr = 0;
	uint8_t st;

	if (c->wr_len == 0) { /* nowhere to put a status: do nothing */
		b->stats.malformed++;
		return 0;
	}
	if (c->rd_len < HDR_LEN) {
		st = VIRTIO_BLK_S_IOERR;
	} else {
		vq_chain_read(c, 0, &h, HDR_LEN);
		switch (h.type) {
		case VIRTIO_BLK_T_IN:
			st = do_in(b, c, h.sector, &data_wr);
			break;
		case VIRTIO_BLK_T_OUT:
			st = do_out(b, c, h.sector);
			break;
		case VIRTIO_BLK_T_FLUSH:
			st = do_flush(b, c);
			break;
		case VIRTIO_BLK_T_GET_ID:
			st = do_get_id(b, c, &data_wr);
			break;
		case VIRTIO_BLK_T_DISCARD:
			st = do_dwz(b, c, false);
			break;
		case VIRTIO_BLK_T_WRITE_ZEROES:
			st = do_dwz(b, c, true);
			break;
		default:
			st = VIRTIO_BLK_S_UNSUPP;
			break;
		}
	}
	if (st == VIRTIO_BLK_S_IOERR)
		b->stats.errors++;
	else if (st == VIRTIO_BLK_S_UNSUPP)
		b->stats.unsupported++;
	vq_chain_write(c, c->wr_len - 1, &st, 1);
	return data_wr + 1;
}

/* Serve until the ring is empty (vq_pop() re-arms avail_event then), notifying every
 * queue-size requests so the guest can refill while a long batch runs. */
static void blk_kick(struct virtio_dev *dev, unsigned q)
{
	struct virtio_blk *b = blk_of(dev);
	struct virtq *vq = &dev->vqs[q];
	struct vq_chain c;
	unsigned n = 0;

	if (q != 0 || b->fd < 0)
		return;
	while (vq_pop(vq, &c)) {
		vq_push(vq, c.head, blk_request(b, &c));
		if (++n % vq->size == 0)
			virtio_dev_notify(dev, q);
	}
	virtio_dev_notify(dev, q);
}

static void blk_reset(struct virtio_dev *dev)
{
}

static const struct virtio_dev_ops blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .queue_max = BLK_QUEUE_MAX,
    .queue_count = blk_queue_count,
    .features = blk_features,
    .set_features = blk_set_features,
    .config_read = blk_config_read,
    .queue_kick = blk_kick,
    .reset = blk_reset,
};

/* The image's size in bytes, or -1 with @err set. */
static int image_size(int fd, const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "disk image %s: %s (check the file)", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0) {
			snprintf(err, errlen, "disk image %s: cannot read the device size: %s",
				 path, strerror(errno));
			return -1;
		}
	} else {
		snprintf(err, errlen,
			 "disk image %s: not a regular file or block device (give a raw image)",
			 path);
		return -1;
	}
	if (*size == 0) {
		snprintf(err, errlen, "disk image %s: is empty (give it a size: truncate -s 1G %s)",
			 path, path);
		return -1;
	}
	if (*size % BLK_SECTOR) {
		snprintf(err, errlen,
			 "disk image %s: size %llu is not a multiple of 512 bytes (resize it: "
			 "truncate -s %llu %s)",
			 path, (unsigned long long)*size,
			 (unsigned long long)((*size / BLK_SECTOR + 1) * BLK_SECTOR), path);
		return -1;
	}
	return 0;
}

/* "sbx-<basename>", truncated and NUL-padded to BLK_ID_BYTES. */
static void set_serial(struct virtio_blk *b, const char *path)
{
	const char *base = strrchr(path, '/');
	char s[BLK_ID_BYTES + 1];

	snprintf(s, sizeof(s), "sbx-%s", base ? base + 1 : path);
	memset(b->serial, 0, sizeof(b->serial));
	memcpy(b->serial, s, strlen(s));
}

int blk_open(struct virtio_blk *b, const char *path, bool readonly, char *err, size_t errlen)
{
	uint64_t size = 0;

	memset(b, 0, sizeof(*b));
	b->dev.ops = &blk_ops;
	b->readonly = readonly;
	b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		snprintf(err, errlen, "disk image %s: %s (check the path%s)", path, strerror(errno),
			 readonly ? "" : ", or attach it read-only");
		return -1;
	}
	if (image_size(b->fd, path, &size, err, errlen) < 0) {
		blk_close(b);
		return -1;
	}
	b->capacity = size / BLK_SECTOR;
	set_serial(b, path);
	b->cfg.capacity = b->capacity;
	b->cfg.seg_max = BLK_SEG_MAX;
	b->cfg.blk_size = BLK_SECTOR;
	b->cfg.num_queues = 1;
	if (!readonly) {
		b->cfg.max_discard_sectors = BLK_DISCARD_SECTORS_MAX;
		b->cfg.max_discard_seg = BLK_DISCARD_SEG_MAX;
		b->cfg.discard_sector_alignment = BLK_DISCARD_ALIGN;
		b->cfg.max_write_zeroes_sectors = BLK_DISCARD_SECTORS_MAX;
		b->cfg.max_write_zeroes_seg = BLK_DISCARD_SEG_MAX;
		b->cfg.write_zeroes_may_unmap = 1;
	}
	return 0;
}

void blk_close(struct virtio_blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
