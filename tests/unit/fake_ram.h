/* The fake guest RAM the virtio unit tests drive devices over: MEM_SIZE bytes at guest-physical
 * BASE, a split queue's rings at fixed addresses, g() from guest-physical to the test's
 * pointer, and (with FAKE_RAM_MMIO defined first) a virtio-mmio instance m with 32-bit
 * register accessors rd()/wr(). One layout for virtq_test, virtio_mmio_test and
 * virtio_blk_test. */
#ifndef SBX_TESTS_UNIT_FAKE_RAM_H
#define SBX_TESTS_UNIT_FAKE_RAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/guest_mem.h"

#define MEM_SIZE (1 << 20)
#define BASE	 0x100000ull
#define QSZ	 16
#define DESC	 (BASE + 0x0000)
#define AVAIL	 (BASE + 0x1000)
#define USED	 (BASE + 0x2000)

static uint8_t *mem;
static struct guest_mem gm;

static inline void *g(uint64_t gpa)
{
	return mem + (gpa - BASE);
}

/* Zeroed RAM mapped at BASE (frontend address @uva, 0 for none). */
static inline void fake_ram_reset(uint64_t uva)
{
	if (!mem)
		mem = aligned_alloc(4096, MEM_SIZE);
	memset(mem, 0, MEM_SIZE);
	memset(&gm, 0, sizeof(gm));
	gm_add(&gm, BASE, MEM_SIZE, uva, mem);
}

#ifdef FAKE_RAM_MMIO
#include "virtio/mmio.h"

static struct virtio_mmio m;

static inline uint32_t rd(uint64_t off)
{
	uint32_t v;

	mmio_read(&m, off, &v, 4);
	return v;
}

static inline void wr(uint64_t off, uint32_t v)
{
	mmio_write(&m, off, &v, 4);
}
#endif

#endif
