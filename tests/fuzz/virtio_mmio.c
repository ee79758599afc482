/* libFuzzer target for the virtio-mmio transport carrying virtio-rng: the input is a sequence of
 * 7-byte operations (register/config reads and writes of any width and offset, and pokes into a
 * small fake guest RAM), so handshakes, ring setup at any address and hostile descriptor chains
 * (loops, outside RAM, overflowing lengths) are all reachable. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/guest_mem.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GBASE 0x10000u
#define GMEM  0x4000u

static void on_irq(struct virtio_mmio *m, void *opaque)
{
	(*(unsigned *)opaque)++;
}

/* op[0]: bits 0-1 kind (0 write, 1 read, 2 RAM poke, 3 RAM fill), bits 2-4 width selector;
 * op[1..2]: offset (little-endian); op[3..6]: value. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[8] = {4, 4, 4, 4, 1, 2, 8, 3};
	static uint8_t *mem;
	struct guest_mem gm = {0};
	struct virtio_rng rng;
	struct virtio_mmio m;
	unsigned irqs = 0;
	size_t i;

	if (!mem)
		mem = aligned_alloc(4096, GMEM);
	memset(mem, 0, GMEM);
	gm_add(&gm, GBASE, GMEM, 0, mem);
	rng_init(&rng);
	if (mmio_init(&m, &rng.dev, &gm, on_irq, &irqs) < 0)
		abort();
	for (i = 0; i + 7 <= size; i += 7) {
		const uint8_t *op = data + i;
		uint32_t len = widths[op[0] >> 2 & 7];
		uint32_t off = (uint32_t)op[1] | (uint32_t)op[2] << 8;
		uint8_t buf[8] = {0};

		memcpy(buf, op + 3, 4);
		switch (op[0] & 3) {
		case 0:
			mmio_write(&m, off % (MMIO_WINDOW + 0x40), buf, len);
			break;
		case 1:
			mmio_read(&m, off % (MMIO_WINDOW + 0x40), buf, len);
			break;
		case 2:
			memcpy(mem + off % (GMEM - 3), op + 3, 4);
			break;
		default: /* fill a 64-byte stretch with one byte: cheap large rings */
			memset(mem + off % (GMEM - 63), op[3], 64);
			break;
		}
	}
	return 0;
}
