/* libFuzzer target for the virtio-blk device: the input becomes a small fake guest RAM holding
 * the descriptor table, the avail ring and the buffers, over a 64 KiB image (a memfd), and the
 * queue is kicked. So any chain shape, header, sector, length and discard segment reaches the
 * device, read-only or writable. Must never crash, leak, or touch memory outside the RAM. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/guest_mem.h"
#include "virtio/queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GBASE 0x10000u
#define GMEM  0x4000u
#define QSZ   16
#define DESC  (GBASE + 0x000) /* 16 descriptors: 256 bytes */
#define AVAIL (GBASE + 0x100)
#define USED  (GBASE + 0x200)
#define IMG   (64 * 1024)

/* data[0]: bit 0 read-only, bit 1 event index; data[1..]: the first bytes of guest RAM. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	static char path[64];
	struct guest_mem gm = {0};
	struct virtio_blk b;
	struct virtq vq = {0};
	char err[256];

	if (size < 1)
		return 0;
	if (!mem) {
		int fd = memfd_create("sbx-blk-fuzz", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, IMG) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd); /* kept open for the run */
		mem = aligned_alloc(4096, GMEM);
	}
	memset(mem, 0, GMEM);
	memcpy(mem, data + 1, size - 1 < GMEM ? size - 1 : GMEM);
	gm_add(&gm, GBASE, GMEM, 0, mem);
	if (blk_open(&b, path, data[0] & 1, err, sizeof(err)) < 0)
		abort();
	vq.mem = &gm;
	vq.name = "blk-fuzz";
	if (vq_setup(&vq, QSZ, DESC, AVAIL, USED, 0) < 0)
		abort();
	vq.event_idx = data[0] >> 1 & 1;
	b.dev.mem = &gm;
	b.dev.vqs = &vq;
	b.dev.ops->queue_kick(&b.dev, 0);
	b.dev.ops->queue_kick(&b.dev, 0); /* again: nothing new, or the broken queue */
	blk_close(&b);
	return 0;
}
