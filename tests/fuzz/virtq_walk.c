/* libFuzzer target for the split-virtqueue walk: the input becomes guest memory holding the
 * descriptor table, avail ring and buffers; vq_pop/vq_push/vq_notify_needed run over it.
 * Must never crash, loop forever or touch memory outside the fake guest RAM. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/guest_mem.h"
#include "virtio/queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GMEM 0x4000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	struct guest_mem gm = {0};
	struct virtq vq = {0};
	struct vq_chain c;
	uint8_t scratch[256];
	uint16_t qsz;
	int i;

	if (size < 2)
		return 0;
	if (!mem)
		mem = aligned_alloc(4096, GMEM);
	qsz = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
	memset(mem, 0, GMEM);
	memcpy(mem, data + 2, size - 2 < GMEM ? size - 2 : GMEM);
	gm_add(&gm, 0x10000, GMEM, 0, mem);
	vq.mem = &gm;
	vq.name = "fuzz";
	vq.event_idx = data[1] & 1;
	/* desc at 0, avail at 0x1000, used at 0x2000 (the used ring is ours to write) */
	if (vq_setup(&vq, qsz, 0x10000, 0x11000, 0x12000, data[1] >> 1) < 0)
		return 0;
	for (i = 0; i < 64 && vq_pop(&vq, &c); i++) {
		if (c.rd_len)
			vq_chain_read(&c, data[1], scratch, sizeof(scratch));
		if (c.wr_len)
			vq_chain_write(&c, data[1], scratch, sizeof(scratch));
		if (i & 1)
			vq_unpop(&vq), vq_pop(&vq, &c);
		vq_push(&vq, c.head, c.wr_len);
	}
	(void)vq_notify_needed(&vq);
	return 0;
}
